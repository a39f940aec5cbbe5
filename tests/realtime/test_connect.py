"""Who may open which socket, and the close code everyone else gets (docs/events.md)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chats.models import SupportChat
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


# --- /ws/support_chat/<chat_id>/ -----------------------------------------------------------------


async def test_the_chats_user_can_open_its_socket(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    assert await socket.receives_nothing()


async def test_any_admin_can_open_a_chats_socket(
    ws: OpenSocket, layer: str, other_admin: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), other_admin)
    assert await socket.receives_nothing()


async def test_anonymous_chat_socket_is_closed_with_4401(
    ws: OpenSocket, layer: str, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id))
    assert await socket.close_code() == 4401


async def test_another_users_chat_socket_is_closed_with_4404_like_an_unknown_chat(
    ws: OpenSocket, layer: str, other_user: Any, chat: SupportChat
) -> None:
    # The same answer as for a chat that does not exist: a user cannot probe which ids exist.
    socket = await ws(chat_path(chat.id), other_user)
    assert await socket.close_code() == 4404


async def test_unknown_chat_socket_is_closed_with_4404(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(uuid.uuid4()), user)
    assert await socket.close_code() == 4404


async def test_malformed_chat_id_is_closed_with_4404(
    ws: OpenSocket, layer: str, admin: Any
) -> None:
    socket = await ws(chat_path("not-a-uuid"), admin)
    assert await socket.close_code() == 4404


async def test_deactivated_users_socket_is_closed_with_4401(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    user.is_active = False
    await database_sync_to_async(user.save)()
    socket = await ws(chat_path(chat.id), user)
    assert await socket.close_code() == 4401


async def test_refused_socket_receives_no_events_of_the_chat(
    ws: OpenSocket, layer: str, user: Any, other_user: Any, chat: SupportChat
) -> None:
    intruder = await ws(chat_path(chat.id), other_user)
    assert await intruder.close_code() == 4404
    owner = await ws(chat_path(chat.id), user)
    await owner.send(action="send_message", content="private")
    assert (await owner.event())["type"] == "new_message"
    assert intruder.communicator.output_queue.empty()


# --- /ws/admin/notifications/ --------------------------------------------------------------------


async def test_an_admin_can_open_the_notifications_socket(
    ws: OpenSocket, layer: str, admin: Any
) -> None:
    socket = await ws(ADMIN_PATH, admin)
    assert await socket.receives_nothing()


async def test_anonymous_notifications_socket_is_closed_with_4401(
    ws: OpenSocket, layer: str
) -> None:
    socket = await ws(ADMIN_PATH)
    assert await socket.close_code() == 4401


async def test_a_users_notifications_socket_is_closed_with_4403(
    ws: OpenSocket, layer: str, user: Any
) -> None:
    socket = await ws(ADMIN_PATH, user)
    assert await socket.close_code() == 4403


# --- Before the handshake ------------------------------------------------------------------------


async def test_socket_from_a_foreign_origin_is_refused_at_the_handshake(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    # Another site's page opening a socket with the visitor's cookie: cross-site hijacking.
    await ws(chat_path(chat.id), user, origin="https://evil.example", accepted=False)


async def test_socket_without_an_origin_is_refused_at_the_handshake(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    await ws(chat_path(chat.id), user, origin=None, accepted=False)


async def test_unknown_websocket_path_is_refused_at_the_handshake(
    ws: OpenSocket, layer: str, admin: Any
) -> None:
    await ws("/ws/nothing/here/", admin, accepted=False)
