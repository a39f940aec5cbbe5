"""Who is there, on the dashboard's pages as the server renders them: whether each chat's person
has the chat open now, read as GET /api/admin/chats reads it (chats.presence), through the
person's real widget socket.

Live updates in a browser: tests/browser/test_dashboard_presence.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chats.models import SupportChat
from tests.realtime.conftest import OpenSocket, chat_path
from tests.realtime.conftest import own_redis_namespace as own_redis_namespace
from tests.realtime.conftest import ws as ws

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

LIST = "/desk/"


async def page(admin: Any, path: str) -> str:
    """The page as `admin`'s browser gets it."""

    def get() -> str:
        client = Client()
        client.force_login(admin)
        response = client.get(path)
        assert response.status_code == 200
        return str(response.content.decode())

    return await database_sync_to_async(get)()


def card_of(html: str, chat: SupportChat) -> str:
    match = re.search(rf'<li class="chat-card" data-chat-id="{chat.id}".*?</li>', html, re.S)
    assert match, "the chat's card"
    return match.group(0)


def presence_of(html: str) -> str:
    match = re.search(r"<span data-presence-label>([^<]*)</span>", html)
    assert match, "the person's presence"
    return match.group(1)


async def test_the_card_of_a_person_with_the_chat_open_shows_them_online(
    ws: OpenSocket, user: Any, admin: Any, chat: SupportChat
) -> None:
    await ws(chat_path(chat.id), user)

    card = card_of(await page(admin, LIST), chat)

    assert 'data-online="true"' in card
    assert '<span class="presence" data-field="presence">' in card
    assert '<span class="visually-hidden">Online</span>' in card


async def test_the_card_of_a_person_away_shows_no_dot(
    ws: OpenSocket, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await widget.disconnect()

    card = card_of(await page(admin, LIST), chat)

    assert 'data-online="false"' in card
    assert '<span class="presence" data-field="presence" hidden>' in card


async def test_an_admin_reading_the_chat_does_not_make_the_card_online(
    ws: OpenSocket, admin: Any, other_admin: Any, chat: SupportChat
) -> None:
    await ws(chat_path(chat.id), other_admin)

    assert 'data-online="false"' in card_of(await page(admin, LIST), chat)


async def test_the_chat_page_says_online_while_the_person_has_the_chat_open(
    ws: OpenSocket, user: Any, admin: Any, chat: SupportChat
) -> None:
    await ws(chat_path(chat.id), user)

    assert presence_of(await page(admin, f"/desk/chats/{chat.id}/")) == "Online"


async def test_the_chat_page_says_offline_when_the_person_is_away(
    ws: OpenSocket, admin: Any, chat: SupportChat
) -> None:
    assert presence_of(await page(admin, f"/desk/chats/{chat.id}/")) == "Offline"
