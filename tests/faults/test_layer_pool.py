"""Hundreds of sockets of one process talking to the channel layer at the same moment.

redis-py 8 caps a connection pool at 100 and fails the next concurrent command at once; a crowd of
sockets re-joining their groups together (their access re-check, a minute after they connected
together) lost actions to "Too many connections" under the load test. desk's layer waits for a
connection instead.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from channels_redis.core import RedisChannelLayer as LibraryLayer
from django.conf import settings as django_settings
from redis.exceptions import MaxConnectionsError

from desk.runtime.layers import RedisChannelLayer

pytestmark = pytest.mark.asyncio

CROWD = 300


async def crowd_joins(layer: Any) -> None:
    channels = [f"specific.{n}" for n in range(CROWD)]
    try:
        await asyncio.gather(*(layer.group_add("crowd", channel) for channel in channels))
    finally:
        await layer.flush()  # this layer's own prefix only
        await layer.close_pools()


def config() -> dict[str, Any]:
    prefix = f"desk-crowd-test-{uuid.uuid4().hex[:8]}"
    return {**django_settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": prefix}


async def test_a_crowd_of_300_is_beyond_the_library_layers_pool() -> None:
    # If this ever fails, redis-py no longer caps its pools, and desk's layer needs no pool of
    # its own.
    with pytest.raises(MaxConnectionsError):
        await crowd_joins(LibraryLayer(**config()))


async def test_desks_layer_serves_300_sockets_joining_at_once() -> None:
    await crowd_joins(RedisChannelLayer(**config()))
