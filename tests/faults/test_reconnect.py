"""The first command of each of desk's Redis clients after a Redis restart succeeds.

redis-py's asyncio pools hand out a connection that the restarted server has closed, and a client
made from a URL does not retry: the command fails although Redis is back. For the channel layer
that lost a group send's event for good (tests/faults/test_redis.py); desk's asyncio clients
reconnect once (desk/runtime/reconnect.py). Its synchronous pools check a connection before
handing it out, which the synchronous clients' tests pin. Each client here first uses a pooled
connection, then Redis restarts, then the same client is used again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache.backends.redis import RedisCache
from redis.asyncio import Redis as AsyncRedis

from chats import access, ratelimit
from desk.redis_client import sync_redis
from desk.runtime.layers import RedisChannelLayer
from tests.faults.private import PrivateRedis, private_redis

pytestmark = pytest.mark.asyncio

DOWN_FOR = 0.2


@pytest.fixture
def server(tmp_path: Path, settings: Any) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path) as started:
        settings.REDIS_URL = started.url
        yield started


async def used_across_a_restart(server: PrivateRedis, command: Callable[[], Awaitable[Any]]) -> Any:
    await command()
    server.restart(down_for=DOWN_FOR)
    return await command()


async def test_a_client_without_the_retry_fails_its_first_command_after_a_restart(
    server: PrivateRedis,
) -> None:
    # If this ever fails, redis-py notices closed connections itself and desk's retry can go.
    client = AsyncRedis.from_url(server.url)
    try:
        with pytest.raises(redis.ConnectionError, match="Connection closed by server"):
            await used_across_a_restart(server, client.ping)
    finally:
        await client.aclose()


async def test_the_channel_layer_delivers_its_first_group_send_after_a_restart(
    server: PrivateRedis,
) -> None:
    config = django_settings.CHANNEL_LAYERS["default"]["CONFIG"]
    layer = RedisChannelLayer(**{**config, "hosts": [server.url]})
    channel = await layer.new_channel()
    message = {"type": "chat.event", "n": 1}

    async def join_and_send() -> Any:
        await layer.group_add("chat", channel)
        await layer.group_send("chat", message)
        return await layer.receive(channel)

    try:
        assert await used_across_a_restart(server, join_and_send) == message
    finally:
        await layer.close_pools()


async def test_the_socket_slots_async_client_answers_its_first_command_after_a_restart(
    server: PrivateRedis,
) -> None:
    try:
        assert await used_across_a_restart(server, access.loop_redis().ping) is True
    finally:
        await access.close()


async def test_the_rate_limits_async_client_answers_its_first_command_after_a_restart(
    server: PrivateRedis,
) -> None:
    try:
        client = ratelimit._script().registered_client
        assert await used_across_a_restart(server, client.ping) is True
    finally:
        await ratelimit.close()


@pytest.mark.parametrize(
    "client",
    [
        pytest.param(sync_redis, id="access changes, heartbeat, metrics"),
        pytest.param(lambda: ratelimit._sync_script().registered_client, id="rate limits"),
    ],
)
async def test_a_synchronous_client_answers_its_first_command_after_a_restart(
    server: PrivateRedis, client: Callable[[], redis.Redis]
) -> None:
    async def ping() -> Any:
        return client().ping()

    assert await used_across_a_restart(server, ping) is True


async def test_the_sessions_cache_reads_its_first_key_after_a_restart(
    server: PrivateRedis,
) -> None:
    options = django_settings.CACHES["sessions"]
    cache = RedisCache(server.url, {**options, "KEY_PREFIX": uuid.uuid4().hex})

    async def write_and_read() -> Any:
        cache.set("session", "alice")
        return cache.get("session")

    assert await used_across_a_restart(server, write_and_read) == "alice"
