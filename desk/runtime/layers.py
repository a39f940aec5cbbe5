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

Written against channels-redis 4.3.0 (on redis-py 8.1): it overrides the library's `group_send`,
`_brpop_with_clean` (private), `create_pool`, `brpop_timeout` and the `receive_buffer` queues,
calls its private `_group_key` and `_map_channel_keys_to_connection`, and carries a copy of
`group_send`'s Lua script; guarded by tests/realtime/test_layer.py, tests/faults/test_layer_pool.py,
tests/faults/test_idle.py and tests/faults/test_redis.py (see README.md beside this file).
"""

from __future__ import annotations

import collections
import functools
import logging
import time
from typing import Any

from channels_redis import core
from redis.asyncio import BlockingConnectionPool

logger = logging.getLogger(__name__)

# Connections each process keeps to Redis for the layer, and how long (s) a command waits for one.
POOL_CONNECTIONS = 100
POOL_WAIT = 10.0
# The message every socket of a process gets when Redis has lost the process's group memberships,
# and how often (s) the receive loop looks for its mark in Redis, which lives a day unrenewed.
MEMBERSHIP_LOST = "desk.membership_lost"
MARK_CHECK_EVERY = 2.0
MARK_TTL = 86400

# The library's own script (channels-redis 4.3), returning how many channels were full, with the
# expiry of stale events (a pipeline of its own in the library) done first, in the same trip.
_GROUP_SEND_LUA = """
    local over_capacity = 0
    local stale_before = ARGV[#ARGV - 2]
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, stale_before)
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

    # How long one blocking pop waits in Redis for the next event before asking again. The
    # library's 5 s equals redis-py 8's default socket read timeout (5 s), so a process whose
    # sockets received nothing for 5 s lost the race: the read timed out and every socket waiting
    # on it was closed (1011). Shorter than the read timeout, an idle pop just returns empty.
    brpop_timeout = 2

    def create_pool(self, index: int) -> Any:
        # redis-py 8 caps a connection pool at 100 and fails the 101st concurrent command at once
        # (MaxConnectionsError). Hundreds of sockets acting together (a crowd connecting, or their
        # access re-checks a minute later) then lost actions. A blocking pool of that size makes
        # the rest wait a moment for a connection instead.
        host = dict(self.hosts[index])
        address = host.pop("address", None)
        if address is None:
            return super().create_pool(index)
        return BlockingConnectionPool.from_url(
            address, max_connections=POOL_CONNECTIONS, timeout=POOL_WAIT, **host
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dropped = 0
        self.receive_buffer: collections.defaultdict[str, _CountingBuffer] = (
            collections.defaultdict(functools.partial(_CountingBuffer, self, self.capacity))
        )
        # This process's mark in Redis: gone means Redis restarted or was flushed (see below).
        self.mark_key = f"{self.prefix}alive:{self.client_prefix}"
        self.marked = False
        self.mark_checked_at = 0.0

    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:  # noqa: ASYNC109 (the library's signature)
        # Group memberships live in Redis. A Redis restart or flush loses them, yet the process's
        # receive loop may carry on (redis-py reconnects and retries), and its sockets would hear
        # nothing more, silently. So before a pop, at most every MARK_CHECK_EVERY seconds, the
        # loop checks that its mark is still there; when it is not, every socket of the process
        # is told (MEMBERSHIP_LOST) and closes, and its client reconnects and catches up.
        if "!" in channel and time.monotonic() - self.mark_checked_at >= MARK_CHECK_EVERY:
            self.mark_checked_at = time.monotonic()
            connection = self.connection(index)
            kept = await connection.set(self.mark_key, 1, ex=MARK_TTL, xx=True)
            if kept is None:
                await connection.set(self.mark_key, 1, ex=MARK_TTL)
                lost, self.marked = self.marked, True
                if lost and self.receive_buffer:
                    logger.warning(
                        "Redis lost this process's group memberships (restarted or flushed): "
                        "closing its %d sockets so that their clients reconnect and catch up",
                        len(self.receive_buffer),
                    )
                    message = {
                        "type": MEMBERSHIP_LOST,
                        "__asgi_channel__": list(self.receive_buffer),
                    }
                    return self.serialize(message)
        return await super()._brpop_with_clean(index, channel, timeout)

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
        # logged at INFO, and that it takes two trips to Redis instead of four: the group's
        # clean-up and read share one, the events' expiry and delivery one script, sent by hash.
        # (Profiled under load, the library's four trips per group were a quarter of a server's
        # CPU; every message goes to two groups.)
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = await pipe.execute()
        channel_names = [name.decode("utf8") for name in members]

        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        for index, channel_keys in by_connection.items():
            deliver = self.connection(index).register_script(_GROUP_SEND_LUA)
            args = [messages[channel_key] for channel_key in channel_keys]
            args += [capacities[channel_key] for channel_key in channel_keys]
            args += [int(time.time()) - int(self.expiry), time.time(), self.expiry]
            over_capacity = await deliver(keys=channel_keys, args=args)
            if over_capacity:
                self.count_drop(
                    int(over_capacity), f"for group {group!r}: a process's channel was full"
                )


class _CountingBuffer(core.BoundedQueue):
    """A socket's in-process buffer: full, it drops its oldest event, and now says so."""

    def __init__(self, layer: RedisChannelLayer, maxsize: int) -> None:
        super().__init__(maxsize)
        self._layer = layer

    def put_nowait(self, item: Any) -> None:
        if self.full():
            self._layer.count_drop(1, "for a socket too slow to read its buffer")
        super().put_nowait(item)
