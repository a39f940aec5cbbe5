"""An open socket keeps checking its session: logging out or losing access ends it.

Django's signals close a socket at once (test_access_revoked.py); these periodic checks catch what
bypasses them, such as the bulk updates used here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session

from chats import services
from chats.models import SupportChat
from chats.realtime import sockets
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

in_thread = database_sync_to_async


@pytest.fixture
def recheck_every_action(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sockets, "ACCESS_RECHECK_AFTER", 0.0)


async def log_everyone_out() -> None:
    await in_thread(lambda: Session.objects.all().delete())()


async def bulk_update(account: Any, **changes: Any) -> None:
    """Change the account with a queryset update, which sends no signal."""
    await in_thread(type(account).objects.filter(pk=account.pk).update)(**changes)


async def test_logged_out_users_socket_is_closed_with_4401_on_its_next_action(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, recheck_every_action: None
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await log_everyone_out()
    await widget.send(action="send_message", content="after logout")
    assert await widget.close_code() == 4401
    assert not await in_thread(chat.messages.exists)()


async def test_changing_the_password_ends_the_users_other_sockets(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, recheck_every_action: None
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await bulk_update(user, password=make_password("a-new-password"))
    await widget.send(action="mark_read")
    assert await widget.close_code() == 4401


async def test_admin_who_lost_staff_status_is_closed_with_4403_on_the_next_action(
    ws: OpenSocket, layer: str, admin: Any, chat: SupportChat, recheck_every_action: None
) -> None:
    console = await ws(chat_path(chat.id), admin)
    await bulk_update(admin, is_staff=False)
    await console.send(action="send_message", content="one last reply")
    assert await console.close_code() == 4403
    assert not await in_thread(chat.messages.exists)()


async def test_a_closed_socket_receives_no_more_events(
    ws: OpenSocket, layer: str, user: Any, say: Any, chat: SupportChat, recheck_every_action: None
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await log_everyone_out()
    await widget.send(action="typing", is_typing=True)
    assert await widget.close_code() == 4401
    await in_thread(say)("after the socket closed")
    assert widget.communicator.output_queue.empty()


async def test_recent_check_is_not_repeated_on_every_action(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    # Within ACCESS_RECHECK_AFTER of the last check, an action trusts it (no query per frame).
    widget = await ws(chat_path(chat.id), user)
    await log_everyone_out()
    await widget.send(action="send_message", content="within the minute")
    assert (await widget.event())["type"] == "new_message"


async def test_idle_socket_of_a_logged_out_user_is_closed_by_the_keepalive(
    ws: OpenSocket,
    layer: str,
    user: Any,
    chat: SupportChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sockets, "KEEPALIVE_INTERVAL", 0.1)
    widget = await ws(chat_path(chat.id), user)
    await log_everyone_out()
    assert await widget.close_code() == 4401


async def test_idle_dashboard_of_a_demoted_admin_is_closed_by_the_keepalive(
    ws: OpenSocket, layer: str, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sockets, "KEEPALIVE_INTERVAL", 0.1)
    dashboard = await ws(ADMIN_PATH, admin)
    await bulk_update(admin, is_staff=False)
    assert await dashboard.close_code() == 4403


async def test_socket_outlives_the_layers_group_expiry(
    ws: OpenSocket,
    redis_layer: str,
    settings: Any,
    user: Any,
    admin: Any,
    chat: SupportChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # channels-redis forgets a group member after group_expiry (a day by default) however long
    # its socket stays open; the keep-alive renews membership well before that.
    config = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**config, "CONFIG": {**config["CONFIG"], "group_expiry": 2}}
    }
    monkeypatch.setattr(sockets, "KEEPALIVE_INTERVAL", 0.3)
    widget = await ws(chat_path(chat.id), user)
    await asyncio.sleep(3.5)
    await in_thread(services.admin_reply_post)(admin=admin, chat_id=chat.id, content="still there?")
    assert (await widget.event())["message"]["content"] == "still there?"
