"""The channel layer desk runs on: channels-redis, with every event it loses counted and logged.

channels-redis loses an event in two places, and says nothing useful about either:

- Every socket of a process receives through one Redis sorted set per process. When that set
  already holds `capacity` events, `group_send` skips the process (logged at INFO, then forgotten).
- Inside the process, each socket has a buffer of `capacity` events; when it is full, the oldest is
  discarded without a word.

desk sizes the capacity (DESK_CHANNEL_CAPACITY) so that neither should happen; this subclass makes
it visible when it does anyway: a WARNING naming the group, and a per-process count in `dropped`
that the tests and the benchmark read. A client that may have missed events recovers them with the
`sync` action (see docs/events.md).
"""

from __future__ import annotations

import collections
import functools
import logging
import time
from typing import Any

from channels_redis import core

logger = logging.getLogger(__name__)

# The library's own script (channels-redis 4.3), returning how many channels were full.
_GROUP_SEND_LUA = """
    local over_capacity = 0
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
            redis.call('ZADD', KEYS[i], current_time, ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""


class RedisChannelLayer(core.RedisChannelLayer):
    """channels-redis's layer; `dropped` counts the events this process failed to deliver."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dropped = 0
        self.receive_buffer = collections.defaultdict(
            functools.partial(_CountingBuffer, self, self.capacity)
        )

    def count_drop(self, count: int, where: str) -> None:
        self.dropped += count
        logger.warning(
            "channel layer dropped %d event(s) %s (capacity %d, %d dropped by this process so "
            "far): raise DESK_CHANNEL_CAPACITY; clients recover with sync",
            count,
            where,
            self.capacity,
            self.dropped,
        )

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        # The library's group_send, except that the count of full channels is kept, not just
        # logged at INFO. (It also pipelined the expiry clean-up on the group's connection rather
        # than the channel's; with one Redis host they are the same.)
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        await connection.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        channel_names = [name.decode("utf8") for name in await connection.zrange(key, 0, -1)]

        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        for index, channel_keys in by_connection.items():
            connection = self.connection(index)
            pipe = connection.pipeline()
            for channel_key in channel_keys:
                pipe.zremrangebyscore(channel_key, min=0, max=int(time.time()) - int(self.expiry))
            await pipe.execute()
            args = [messages[channel_key] for channel_key in channel_keys]
            args += [capacities[channel_key] for channel_key in channel_keys]
            args += [time.time(), self.expiry]
            over_capacity = await connection.eval(
                _GROUP_SEND_LUA, len(channel_keys), *channel_keys, *args
            )
            if over_capacity:
                self.count_drop(
                    int(over_capacity), f"for group {group!r}: a process's channel was full"
                )


class _CountingBuffer(core.BoundedQueue):  # type: ignore[misc]
    """A socket's in-process buffer: full, it drops its oldest event, and now says so."""

    def __init__(self, layer: RedisChannelLayer, maxsize: int) -> None:
        super().__init__(maxsize)
        self._layer = layer

    def put_nowait(self, item: Any) -> None:
        if self.full():
            self._layer.count_drop(1, "for a socket too slow to read its buffer")
        super().put_nowait(item)
