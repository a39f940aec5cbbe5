"""Presence through real sockets: a person's widget makes them online for the dashboards, a
staff member's dashboard makes support online for the people, and the REST answers agree."""

from __future__ import annotations

from typing import Any

import pytest

from chats.models import SupportChat
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, Rest, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_persons_widget_makes_them_online_on_the_dashboard(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    dashboard = await ws(ADMIN_PATH, admin)
    widget = await ws(chat_path(chat.id), user)
    online = await dashboard.presence_event()
    await widget.disconnect()
    offline = await dashboard.presence_event()

    assert online == {"type": "presence", "chat_id": str(chat.id), "online": True}
    assert offline == {"type": "presence", "chat_id": str(chat.id), "online": False}


async def test_an_admin_reading_a_chat_does_not_make_its_person_online(
    ws: OpenSocket, layer: str, user: Any, admin: Any, other_admin: Any, chat: SupportChat
) -> None:
    dashboard = await ws(ADMIN_PATH, admin)
    await ws(chat_path(chat.id), other_admin)

    assert await dashboard.communicator.receive_nothing(0.5)


async def test_a_dashboard_makes_support_online_for_every_persons_widget(
    ws: OpenSocket,
    layer: str,
    user: Any,
    other_user: Any,
    admin: Any,
    chat: SupportChat,
    rest: Rest,
) -> None:
    other_chat = (await rest(other_user, "get", "/support_chat")).json()["id"]
    widgets = [await ws(chat_path(chat.id), user), await ws(chat_path(other_chat), other_user)]
    dashboard = await ws(ADMIN_PATH, admin)
    online = [await widget.presence_event() for widget in widgets]
    await dashboard.disconnect()
    offline = [await widget.presence_event() for widget in widgets]

    assert online == [{"type": "support_presence", "online": True}] * 2
    assert offline == [{"type": "support_presence", "online": False}] * 2


async def test_the_chat_list_and_the_chat_say_whether_the_person_is_online(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat, rest: Rest
) -> None:
    before = (await rest(admin, "get", "/admin/chats")).json()["items"][0]["user_online"]
    await ws(chat_path(chat.id), user)
    listed = (await rest(admin, "get", "/admin/chats")).json()["items"][0]["user_online"]
    opened = (await rest(admin, "get", f"/admin/chats/{chat.id}")).json()["user_online"]

    assert (before, listed, opened) == (False, True, True)


async def test_the_widgets_chat_says_whether_support_is_online(
    ws: OpenSocket, layer: str, user: Any, admin: Any, rest: Rest
) -> None:
    before = (await rest(user, "get", "/support_chat")).json()["support_online"]
    await ws(ADMIN_PATH, admin)
    during = (await rest(user, "get", "/support_chat")).json()["support_online"]

    assert (before, during) == (False, True)
