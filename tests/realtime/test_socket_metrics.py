"""desk_websockets_open (desk/metrics.py) follows the sockets a process holds open."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from chats import services
from chats.models import SupportChat
from tests.realtime.conftest import OpenSocket, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def open_sockets() -> float:
    return REGISTRY.get_sample_value("desk_websockets_open") or 0.0


async def test_an_open_socket_is_counted_until_it_closes(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    before = open_sockets()

    socket = await ws(chat_path(chat.id), user)
    assert open_sockets() == before + 1
    await socket.disconnect()

    assert open_sockets() == before


async def test_a_refused_socket_is_never_counted(
    ws: OpenSocket, layer: str, chat: SupportChat
) -> None:
    before = open_sockets()

    socket = await ws(chat_path(chat.id))

    assert await socket.close_code() == 4401
    assert open_sockets() == before


async def test_the_events_of_a_message_are_counted(
    layer: str, user: Any, chat: SupportChat
) -> None:
    def sent() -> float:
        return REGISTRY.get_sample_value("desk_events_sent_total") or 0.0

    before = sent()

    await database_sync_to_async(services.user_message_post)(user=user, content="Hello?")

    # new_message to the chat's sockets, new_user_message to the admins'.
    assert sent() == before + 2
