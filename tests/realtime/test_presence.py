"""chats.presence on the real Redis: who is online, the transitions announced once, and a dead
process's sockets swept offline. (Sockets end to end: test_presence_sockets.py; two real server
processes, one killed: tests/faults/test_presence_processes.py.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from chats import access, presence
from chats.realtime.protocol import ADMINS_GROUP, PEOPLE_GROUP
from desk.redis_client import sync_redis

pytestmark = pytest.mark.asyncio

CHAT = uuid.uuid4()
Listen = Callable[[str], Awaitable[str]]


@pytest_asyncio.fixture
async def listen(redis_layer: str, settings: Any) -> AsyncIterator[Listen]:
    """`await listen(group)`: a channel in that group, to read what is announced there."""
    settings.DESK_PRESENCE_TIMEOUT = 3
    layer = get_channel_layer()

    async def channel_in(group: str) -> str:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        return str(channel)

    yield channel_in
    await presence.stop()
    await access.close()


async def announced(channel: str, within: float = 3.0) -> dict[str, Any]:
    message = await asyncio.wait_for(get_channel_layer().receive(channel), within)
    return dict(message["event"])


async def silent(channel: str, within: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(get_channel_layer().receive(channel), within)
    except TimeoutError:
        return True
    return False


def kill_process() -> None:
    """This process (event loop) stops beating without closing anything, as if killed: its last
    beat is now older than the timeout."""
    client = sync_redis()
    key = f"{presence._prefix()}processes"
    for process, _ in client.zrange(key, 0, -1, withscores=True):
        client.zadd(key, {process: 0})


async def test_a_persons_first_socket_announces_them_online_to_the_dashboards(
    listen: Listen,
) -> None:
    dashboards = await listen(ADMINS_GROUP)
    await presence.join(presence.chat_presence(CHAT), "tab-1")

    assert await announced(dashboards) == {
        "type": "presence",
        "chat_id": str(CHAT),
        "online": True,
    }


async def test_a_second_socket_of_the_same_person_announces_nothing(listen: Listen) -> None:
    await presence.join(presence.chat_presence(CHAT), "tab-1")
    dashboards = await listen(ADMINS_GROUP)
    await presence.join(presence.chat_presence(CHAT), "tab-2")

    assert await silent(dashboards)


async def test_closing_one_of_two_sockets_keeps_the_person_online(listen: Listen) -> None:
    await presence.join(presence.chat_presence(CHAT), "tab-1")
    await presence.join(presence.chat_presence(CHAT), "tab-2")
    dashboards = await listen(ADMINS_GROUP)
    await presence.leave("tab-1")

    assert await silent(dashboards)
    assert await presence.chats_online([CHAT]) == {CHAT: True}


async def test_the_last_socket_closing_announces_the_person_offline(listen: Listen) -> None:
    await presence.join(presence.chat_presence(CHAT), "tab-1")
    dashboards = await listen(ADMINS_GROUP)
    await presence.leave("tab-1")

    assert (await announced(dashboards))["online"] is False
    assert await presence.chats_online([CHAT]) == {CHAT: False}


async def test_the_first_staff_socket_announces_support_online_to_every_person(
    listen: Listen,
) -> None:
    people = await listen(PEOPLE_GROUP)
    await presence.join(presence.STAFF, "dashboard-1")

    assert await announced(people) == {"type": "support_presence", "online": True}
    assert await presence.support_online() is True


async def test_the_last_staff_socket_leaving_announces_support_offline(listen: Listen) -> None:
    await presence.join(presence.STAFF, "dashboard-1")
    await presence.join(presence.STAFF, "dashboard-2")
    people = await listen(PEOPLE_GROUP)
    await presence.leave("dashboard-1")
    quiet_after_first = await silent(people)
    await presence.leave("dashboard-2")

    assert quiet_after_first
    assert await announced(people) == {"type": "support_presence", "online": False}


async def test_a_socket_that_never_joined_leaves_without_a_word(listen: Listen) -> None:
    dashboards = await listen(ADMINS_GROUP)
    await presence.leave("never-joined")

    assert await silent(dashboards)


async def test_each_chat_is_read_in_one_call(listen: Listen) -> None:
    other = uuid.uuid4()
    await presence.join(presence.chat_presence(CHAT), "tab-1")

    assert await presence.chats_online([CHAT, other]) == {CHAT: True, other: False}


async def test_a_dead_processes_sockets_go_offline_at_the_sweep(listen: Listen) -> None:
    await presence.join(presence.chat_presence(CHAT), "tab-1")
    await presence.join(presence.STAFF, "dashboard-1")
    dashboards, people = await listen(ADMINS_GROUP), await listen(PEOPLE_GROUP)
    await presence.stop()  # the process goes silent, closing nothing
    kill_process()
    changes = await sync_to_async(presence.presence_sweep)()

    assert sorted(changes) == sorted([(f"chat:{CHAT}", False), ("staff", False)])
    assert (await announced(dashboards))["online"] is False
    assert (await announced(people))["online"] is False
    assert await presence.chats_online([CHAT]) == {CHAT: False}


async def test_a_beating_process_is_not_swept(listen: Listen) -> None:
    await presence.join(presence.chat_presence(CHAT), "tab-1")

    assert await sync_to_async(presence.presence_sweep)() == []
    assert await presence.chats_online([CHAT]) == {CHAT: True}


async def test_a_process_swept_while_alive_joins_its_sockets_again_at_its_next_beat(
    listen: Listen,
) -> None:
    await presence.join(presence.chat_presence(CHAT), "tab-1")
    kill_process()
    await sync_to_async(presence.presence_sweep)()
    dashboards = await listen(ADMINS_GROUP)

    # It beats every third of the timeout (1 s here).
    assert (await announced(dashboards, within=3))["online"] is True
    assert await presence.chats_online([CHAT]) == {CHAT: True}


async def test_a_process_whose_last_socket_closed_stops_beating(listen: Listen) -> None:
    await presence.join(presence.chat_presence(CHAT), "tab-1")
    await presence.leave("tab-1")

    assert sync_redis().zcard(f"{presence._prefix()}processes") == 0
