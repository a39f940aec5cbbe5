"""A user holds at most DESK_SOCKETS_PER_USER sockets, counted in Redis across processes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from django.conf import settings

from chats import access
from chats.models import SupportChat
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

CAP = 2


@pytest.fixture(autouse=True)
def small_cap(settings: Any) -> None:
    settings.DESK_SOCKETS_PER_USER = CAP


def slots(user: Any) -> dict[str, float]:
    """The user's socket slots in Redis: channel name -> when it last checked in."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        entries = client.zrange(access.slots_key(user.pk), 0, -1, withscores=True)
        return {name.decode(): score for name, score in entries}
    finally:
        client.close()


def leave_slots_of_a_dead_process(user: Any, count: int) -> None:
    """Entries a process that died left behind: last renewed longer than SLOT_TTL ago."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        seconds, _ = client.time()
        stale = seconds - access.SLOT_TTL - 1
        client.zadd(
            access.slots_key(user.pk),
            {f"specific.dead-process!{n}": stale for n in range(count)},
        )
    finally:
        client.close()


async def test_a_socket_over_the_users_cap_is_closed_with_4429(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    for _ in range(CAP):
        await ws(chat_path(chat.id), user)
    one_too_many = await ws(chat_path(chat.id), user)
    assert await one_too_many.close_code() == 4429


async def test_the_cap_counts_a_users_sockets_on_every_path(
    ws: OpenSocket, redis_layer: str, admin: Any, chat: SupportChat
) -> None:
    await ws(ADMIN_PATH, admin)
    await ws(chat_path(chat.id), admin)
    one_too_many = await ws(ADMIN_PATH, admin)
    assert await one_too_many.close_code() == 4429


async def test_one_users_cap_leaves_other_users_sockets_alone(
    ws: OpenSocket, redis_layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    for _ in range(CAP):
        await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    assert await console.receives_nothing()


async def test_closing_a_socket_frees_its_slot(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    first = await ws(chat_path(chat.id), user)
    await ws(chat_path(chat.id), user)
    await first.disconnect()
    replacement = await ws(chat_path(chat.id), user)
    await replacement.send(action="send_message", content="from the new tab")
    assert (await replacement.event())["message"]["content"] == "from the new tab"
    assert len(slots(user)) == CAP


async def test_a_refused_socket_holds_no_slot(
    ws: OpenSocket, redis_layer: str, user: Any, other_user: Any, chat: SupportChat
) -> None:
    intruder = await ws(chat_path(chat.id), other_user)
    assert await intruder.close_code() == 4404
    assert slots(other_user) == {}


async def test_slots_left_by_a_dead_process_stop_counting(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    leave_slots_of_a_dead_process(user, CAP)
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="send_message", content="the cap is free again")
    assert (await widget.event())["message"]["content"] == "the cap is free again"
    assert len(slots(user)) == 1, "the dead process's entries are gone, the new one is there"


async def test_the_keepalive_renews_an_open_sockets_slot(
    ws: OpenSocket,
    redis_layer: str,
    user: Any,
    chat: SupportChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(access, "SLOT_RENEW_EVERY", 0.2)
    await ws(chat_path(chat.id), user)
    [claimed] = slots(user).values()
    await asyncio.sleep(1.0)
    [renewed] = slots(user).values()
    assert renewed > claimed


async def test_an_open_socket_outlives_the_slot_ttl(
    ws: OpenSocket,
    redis_layer: str,
    user: Any,
    chat: SupportChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Renewed more often than the entry expires: the socket keeps counting however long it lives.
    monkeypatch.setattr(access, "SLOT_RENEW_EVERY", 0.2)
    monkeypatch.setattr(access, "SLOT_TTL", 1.0)
    for _ in range(CAP):
        await ws(chat_path(chat.id), user)
    await asyncio.sleep(2.0)
    one_too_many = await ws(chat_path(chat.id), user)
    assert await one_too_many.close_code() == 4429
