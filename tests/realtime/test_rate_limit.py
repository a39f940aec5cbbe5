"""Flooding: per user, across sockets and processes (shared through Redis), refused out loud."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from channels.db import database_sync_to_async

from chats import ratelimit
from chats.models import SupportChat, SupportMessage
from tests.realtime.conftest import OpenSocket, chat_path

in_thread = database_sync_to_async


# --- The limiter ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_burst_up_to_the_limit_is_allowed(limiter: None) -> None:
    limit = ratelimit.Limit("test-burst", 5, 60)
    waits = [await ratelimit.acquire(limit, "ann") for _ in range(5)]
    assert waits == [0.0] * 5


@pytest.mark.asyncio
async def test_the_action_beyond_the_limit_is_refused_with_the_wait(limiter: None) -> None:
    limit = ratelimit.Limit("test-over", 5, 60)
    for _ in range(5):
        await ratelimit.acquire(limit, "ann")
    wait = await ratelimit.acquire(limit, "ann")
    # One action frees up every 60/5 = 12 s.
    assert 10 < wait <= 12


@pytest.mark.asyncio
async def test_a_refused_action_does_not_use_up_allowance(limiter: None) -> None:
    limit = ratelimit.Limit("test-refused", 2, 60)
    await ratelimit.acquire(limit, "ann")
    await ratelimit.acquire(limit, "ann")
    first = await ratelimit.acquire(limit, "ann")
    second = await ratelimit.acquire(limit, "ann")
    assert first > 0
    assert second <= first


@pytest.mark.asyncio
async def test_allowance_comes_back_at_the_steady_rate(limiter: None) -> None:
    limit = ratelimit.Limit("test-refill", 2, 0.4)
    assert [await ratelimit.acquire(limit, "ann") for _ in range(3)][:2] == [0.0, 0.0]
    await asyncio.sleep(0.25)
    assert await ratelimit.acquire(limit, "ann") == 0.0


@pytest.mark.asyncio
async def test_each_user_has_an_allowance_of_their_own(limiter: None) -> None:
    limit = ratelimit.Limit("test-users", 1, 60)
    assert await ratelimit.acquire(limit, "ann") == 0.0
    assert await ratelimit.acquire(limit, "ben") == 0.0
    assert await ratelimit.acquire(limit, "ann") > 0


@pytest.mark.asyncio
async def test_the_allowance_lives_in_redis_for_every_process(settings: Any, limiter: None) -> None:
    limit = ratelimit.Limit("test-shared", 3, 60)
    await ratelimit.acquire(limit, "ann")
    # Another process sees the same key: here, a separate connection reads it.
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        assert client.pttl(ratelimit.key(limit, "ann")) > 0
        client.delete(ratelimit.key(limit, "ann"))
    finally:
        client.close()
    assert [await ratelimit.acquire(limit, "ann") for _ in range(3)] == [0.0] * 3


@pytest.mark.asyncio
async def test_without_redis_the_limiter_lets_actions_through_and_warns(
    settings: Any, limiter: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    assert await ratelimit.acquire(ratelimit.Limit("test-down", 1, 60), "ann") == 0.0
    assert "rate limiter unavailable" in caplog.text


# --- On the sockets ------------------------------------------------------------------------------


@pytest.fixture
def three_a_minute(settings: Any) -> int:
    settings.DESK_MESSAGES_PER_MINUTE = 3
    return 3


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_messages_beyond_the_limit_are_refused_with_rate_limited(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, three_a_minute: int
) -> None:
    socket = await ws(chat_path(chat.id), user)
    for n in range(4):
        await socket.send(action="send_message", content=f"spam {n}", request_id=f"r{n}")
    received = await socket.events(4)
    assert [event["type"] for event in received] == ["new_message"] * 3 + ["error"]
    refused = received[3]
    assert refused["code"] == "rate_limited"
    assert refused["request_id"] == "r3"
    assert 0 < refused["retry_after"] <= 20
    assert "3 per 60 s" in refused["detail"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_refused_messages_are_not_stored(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, three_a_minute: int
) -> None:
    socket = await ws(chat_path(chat.id), user)
    for n in range(5):
        await socket.send(action="send_message", content=f"spam {n}")
    await socket.events(5)
    stored = await in_thread(
        lambda: list(SupportMessage.objects.values_list("content", flat=True))
    )()
    assert stored == ["spam 0", "spam 1", "spam 2"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_limit_counts_all_of_a_users_sockets_together(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, three_a_minute: int
) -> None:
    tabs = [await ws(chat_path(chat.id), user) for _ in range(2)]
    for n in range(4):
        await tabs[n % 2].send(action="send_message", content=f"m{n}")
        reply = await tabs[n % 2].event()
        await tabs[(n + 1) % 2].events(1 if reply["type"] == "new_message" else 0)
    assert reply["code"] == "rate_limited"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_one_users_flood_does_not_limit_the_admin(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat, three_a_minute: int
) -> None:
    widget = await ws(chat_path(chat.id), user)
    for n in range(4):
        await widget.send(action="send_message", content=f"m{n}")
    await widget.events(4)
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="send_message", content="Please slow down.")
    assert (await console.event())["type"] == "new_message"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_invalid_messages_do_not_use_up_the_message_allowance(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, three_a_minute: int
) -> None:
    socket = await ws(chat_path(chat.id), user)
    for _ in range(5):
        await socket.send(action="send_message", content="")
    await socket.events(5)
    for n in range(3):
        await socket.send(action="send_message", content=f"m{n}")
    assert [event["type"] for event in await socket.events(3)] == ["new_message"] * 3


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_flood_of_any_frames_is_refused_with_rate_limited(
    ws: OpenSocket,
    layer: str,
    user: Any,
    chat: SupportChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "SOCKET_FRAMES", ratelimit.Limit("socket-frames", 5, 60))
    socket = await ws(chat_path(chat.id), user)
    for _ in range(6):
        await socket.send_text("garbage")
    received = await socket.events(6)
    assert [event["code"] for event in received] == ["invalid_json"] * 5 + ["rate_limited"]
    assert "frames" in received[5]["detail"]
