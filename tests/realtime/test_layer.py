"""The channel layer: sized so that bursts are not lost, and never losing an event silently."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.test import override_settings

from chats import services
from chats.models import SupportChat
from chats.permissions import Role
from chats.realtime import protocol, transport
from desk.runtime.database import database_sync_to_async as socket_database
from desk.runtime.layers import RedisChannelLayer
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, Socket, chat_path
from tests.settings_env import FreshDesk

in_thread = database_sync_to_async


def with_capacity(settings: Any, capacity: int) -> None:
    config = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**config, "CONFIG": {**config["CONFIG"], "capacity": capacity}}
    }


# --- Losses are counted and logged ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_event_for_a_full_process_channel_is_counted_and_logged(
    redis_layer: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with_capacity(settings, 2)
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    # A socket of this process that reads nothing: its process's Redis queue fills up.
    await layer.group_add("chat.stalled", await layer.new_channel())
    for n in range(3):
        await layer.group_send("chat.stalled", {"type": "desk.event", "event": {"n": n}})
    assert layer.dropped == 1
    warning = next(r for r in caplog.records if r.name == "desk.runtime.layers")
    assert warning.levelno == logging.WARNING
    assert "chat.stalled" in warning.getMessage()


@pytest.mark.asyncio
async def test_an_event_for_a_socket_too_slow_to_read_is_counted(
    redis_layer: str, settings: Any
) -> None:
    with_capacity(settings, 2)
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    reader, sleeper = await layer.new_channel(), await layer.new_channel()
    for channel in (reader, sleeper):
        await layer.group_add("chat.mixed", channel)
    # Reading for one socket fills the other's in-process buffer (capacity 2) until it overflows.
    for n in range(3):
        await layer.group_send("chat.mixed", {"type": "desk.event", "event": {"n": n}})
        assert (await layer.receive(reader))["event"] == {"n": n}
    assert layer.dropped == 1
    assert (await layer.receive(sleeper))["event"] == {"n": 1}


@pytest.mark.asyncio
async def test_nothing_is_counted_while_every_event_is_delivered(redis_layer: str) -> None:
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    channel = await layer.new_channel()
    await layer.group_add("chat.fine", channel)
    for n in range(20):
        await layer.group_send("chat.fine", {"type": "desk.event", "event": {"n": n}})
    assert [(await layer.receive(channel))["event"]["n"] for _ in range(20)] == list(range(20))
    assert layer.dropped == 0


# --- Several groups in one send ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_one_send_to_several_groups_reaches_each_group_in_order(redis_layer: str) -> None:
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    in_chat, in_both = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("chat.one", in_chat)
    await layer.group_add("chat.one", in_both)
    await layer.group_add("admins.all", in_both)
    await layer.group_send_many(
        [
            ("chat.one", {"type": "desk.event", "event": {"n": 1}}),
            ("admins.all", {"type": "desk.event", "event": {"n": 2}}),
            ("nobody.here", {"type": "desk.event", "event": {"n": 3}}),
        ]
    )
    assert (await layer.receive(in_chat))["event"] == {"n": 1}
    assert [(await layer.receive(in_both))["event"]["n"] for _ in range(2)] == [1, 2]
    assert layer.dropped == 0


@pytest.mark.asyncio
async def test_a_send_after_redis_lost_its_scripts_is_delivered_once(redis_layer: str) -> None:
    # A Redis restart forgets the delivery script sent by hash: it is loaded again and sent once.
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    channel = await layer.new_channel()
    await layer.group_add("chat.flushed", channel)
    await layer.connection(0).script_flush()
    await layer.group_send("chat.flushed", {"type": "desk.event", "event": {"n": 1}})
    await layer.group_send("chat.flushed", {"type": "desk.event", "event": {"n": 2}})
    assert [(await layer.receive(channel))["event"]["n"] for _ in range(2)] == [1, 2]
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await layer.receive(channel)


# --- A burst while the process is busy -----------------------------------------------------------

BURST = 300
# How long the loop stays busy at most: beyond redis-py's 5 s read timeout the layer's pending read
# fails when the loop is back (300 posts take 5.4-5.6 s on the 2-core machine under a little load).
# The first few seconds of the burst overflow the library's default capacity many times over.
BUSY_AT_MOST = 4.0


def post_burst_while_blocking_the_loop(user: Any, count: int) -> threading.Thread:
    """Another writer starts posting `count` messages while this process's event loop is busy.

    The join blocks the loop on purpose, for up to BUSY_AT_MOST: this process's sockets read
    nothing meanwhile, as when a server stalls (a long GC pause, a CPU spike), so events queue in
    Redis. Returns the writer, which the caller waits for without blocking the loop.
    """

    def post() -> None:
        try:
            for n in range(count):
                services.user_message_post(user=user, content=f"burst {n}")
        finally:
            connection.close()

    writer = threading.Thread(target=post)
    writer.start()
    writer.join(timeout=BUSY_AT_MOST)
    return writer


END_OF_BURST = {"type": "end_of_burst"}


async def mark_the_end(chat: SupportChat) -> None:
    """Queue a marker behind the burst in both groups, resending it while the queue is full."""
    layer = get_channel_layer()
    for group in (protocol.chat_group(chat.id), protocol.ADMINS_GROUP):
        while True:
            dropped = layer.dropped
            await layer.group_send(group, {"type": protocol.LAYER_EVENT, "event": END_OF_BURST})
            if layer.dropped == dropped:
                break
            await asyncio.sleep(0.05)


async def drain(socket: Socket) -> list[dict[str, Any]]:
    """Every event up to the marker: exactly what reached the socket of the burst."""
    received = []
    while (event := await socket.event(within=30)) != END_OF_BURST:
        received.append(event)
    return received


async def burst_on_a_watched_chat(
    ws: OpenSocket, user: Any, admin: Any, chat: SupportChat
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]], int]:
    """What each chat socket and the dashboard received of the burst, and the drops counted."""
    watchers = [await ws(chat_path(chat.id), user), await ws(chat_path(chat.id), admin)]
    dashboard = await ws(ADMIN_PATH, admin)
    # Support's coming online is announced to the person before the burst, not into it.
    await watchers[0].presence_event()
    # Through the service, which takes every message from the user's allowance.
    with override_settings(DESK_MESSAGES_PER_MINUTE=BURST):
        writer = post_burst_while_blocking_the_loop(user, BURST)
        await asyncio.to_thread(writer.join)
    # Every broadcast of the burst has been sent (or counted as dropped) by now.
    dropped = get_channel_layer().dropped
    await mark_the_end(chat)
    return [await drain(socket) for socket in watchers], await drain(dashboard), dropped


def contents(events: list[dict[str, Any]]) -> list[str]:
    return [event["message"]["content"] for event in events]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_configured_capacity_absorbs_a_burst_while_the_process_is_busy(
    ws: OpenSocket, redis_layer: str, settings: Any, user: Any, admin: Any, chat: SupportChat
) -> None:
    assert settings.DESK_CHANNEL_CAPACITY >= 2 * BURST
    watched, dashboard, dropped = await burst_on_a_watched_chat(ws, user, admin, chat)
    expected = [f"burst {n}" for n in range(BURST)]
    for received in watched:
        assert contents(received) == expected
    assert contents(dashboard) == expected
    assert dropped == 0


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_with_the_librarys_default_capacity_the_same_burst_loses_events_all_counted(
    ws: OpenSocket, redis_layer: str, settings: Any, user: Any, admin: Any, chat: SupportChat
) -> None:
    with_capacity(settings, 100)
    watched, dashboard, dropped = await burst_on_a_watched_chat(ws, user, admin, chat)
    chat_received = len(watched[0])
    assert len(watched[1]) == chat_received
    # Each group event reaches the process once (for all its sockets) or is counted as dropped.
    lost = (BURST - chat_received) + (BURST - len(dashboard))
    assert lost > 0
    assert dropped == lost
    # What did arrive is in order, without duplicates (a gap where the full channel dropped).
    numbers = [int(content.removeprefix("burst ")) for content in contents(watched[0])]
    assert numbers == sorted(set(numbers))


# --- Delivery does not wait for the database -----------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_events_reach_sockets_while_the_database_thread_is_busy(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    # A process's socket database work runs on a few threads (one on SQLite); delivering an event
    # must not queue behind them (channels' default dispatch would, once per event per socket).
    widget = await ws(chat_path(chat.id), user)
    threads = settings.DESK_SOCKET_DATABASE_THREADS
    busy = asyncio.gather(
        *(socket_database(time.sleep)(2.0) for _ in range(threads)),
    )
    await asyncio.sleep(0.1)
    await transport.typing_send(chat.id, sender_type=Role.ADMIN, is_typing=True)
    assert (await widget.event(within=1.0))["type"] == "typing"
    await busy


# --- Settings ------------------------------------------------------------------------------------


# Outside DEBUG, as in production: the settings then demand a secret key.
PRODUCTION = {"SECRET_KEY": "desk-tests-only-not-a-secret"}


def test_channel_capacity_defaults_to_two_thousand_events(fresh_desk: FreshDesk) -> None:
    config = fresh_desk.settings(**PRODUCTION)["CHANNEL_LAYERS"]["default"]
    assert config["BACKEND"] == "desk.runtime.layers.RedisChannelLayer"
    assert config["CONFIG"]["capacity"] == 2000


def test_channel_capacity_comes_from_the_environment(fresh_desk: FreshDesk) -> None:
    loaded = fresh_desk.settings(**PRODUCTION, DESK_CHANNEL_CAPACITY="5000")
    assert loaded["CHANNEL_LAYERS"]["default"]["CONFIG"]["capacity"] == 5000


def test_channel_capacity_below_the_librarys_default_is_refused(fresh_desk: FreshDesk) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="DESK_CHANNEL_CAPACITY"):
        fresh_desk.settings(**PRODUCTION, DESK_CHANNEL_CAPACITY="10")


def test_message_limit_defaults_to_thirty_a_minute(fresh_desk: FreshDesk) -> None:
    assert fresh_desk.settings(**PRODUCTION)["DESK_MESSAGES_PER_MINUTE"] == 30


def test_message_limit_comes_from_the_environment(fresh_desk: FreshDesk) -> None:
    loaded = fresh_desk.settings(**PRODUCTION, DESK_MESSAGES_PER_MINUTE="5")
    assert loaded["DESK_MESSAGES_PER_MINUTE"] == 5


def test_message_limit_has_one_name(fresh_desk: FreshDesk) -> None:
    # DESK_SOCKET_MESSAGES_PER_MINUTE was never released: it is not read.
    loaded = fresh_desk.settings(**PRODUCTION, DESK_SOCKET_MESSAGES_PER_MINUTE="7")
    assert loaded["DESK_MESSAGES_PER_MINUTE"] == 30
