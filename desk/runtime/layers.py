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

Written against channels-redis 4.3.0 (on redis-py 8.1): it overrides the library's `group_send`
(and adds `group_send_many`, several groups in the same two trips),
`_brpop_with_clean` (private), `create_pool`, `brpop_timeout` and the `receive_buffer` queues,
calls its private `_group_key` and `_map_channel_keys_to_connection`, and carries a copy of
`group_send`'s Lua script; guarded by tests/realtime/test_layer.py, tests/faults/test_layer_pool.py,
tests/faults/test_idle.py and tests/faults/test_redis.py (see README.md beside this file).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import logging
import time
from typing import Any

from channels_redis import core
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import NoScriptError

from desk import metrics
from desk.runtime.reconnect import reconnect_once

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
_GROUP_SEND_SHA = hashlib.sha1(_GROUP_SEND_LUA.encode()).hexdigest()


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
        # the rest wait a moment for a connection instead. Its connections reconnect once when
        # Redis closed them (a restart): see desk/runtime/reconnect.py.
        host = dict(self.hosts[index])
        address = host.pop("address", None)
        if address is None:
            return super().create_pool(index)
        return BlockingConnectionPool.from_url(
            address,
            max_connections=POOL_CONNECTIONS,
            timeout=POOL_WAIT,
            retry=reconnect_once(),
            **host,
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
        metrics.EVENTS_DROPPED.inc(count)
        logger.warning(
            "channel layer dropped %d event(s) %s (capacity %d, %d dropped by this process so "
            "far): raise DESK_CHANNEL_CAPACITY; clients recover with sync",
            count,
            where,
            self.capacity,
            self.dropped,
        )

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self.group_send_many([(group, message)])

    async def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        """Each message to its group, in order, in two trips to each Redis however many groups.

        The library's group_send, except that the count of full channels is kept, not just logged
        at INFO, and that it takes two trips per call instead of four per group: every group's
        clean-up and read share one pipeline, and every group's delivery (the events' expiry and
        the ZADDs, one script call per group, sent by hash) another. (Profiled under load, the
        library's four trips per group were a quarter of a server's CPU; every message goes to
        two groups.)
        """
        for group, _ in sends:
            assert self.require_valid_group_name(group), "Group name not valid"
        members = await self._group_members([group for group, _ in sends])
        # Per connection, the script calls in the order of `sends`: (group, channel keys, args).
        calls: dict[int, list[tuple[str, list[str], list[Any]]]] = collections.defaultdict(list)
        for (group, message), channel_names in zip(sends, members, strict=True):
            by_connection, messages, capacities = self._map_channel_keys_to_connection(
                channel_names, message
            )
            for index, channel_keys in by_connection.items():
                args = [messages[channel_key] for channel_key in channel_keys]
                args += [capacities[channel_key] for channel_key in channel_keys]
                args += [int(time.time()) - int(self.expiry), time.time(), self.expiry]
                calls[index].append((group, channel_keys, args))
        for index, group_calls in calls.items():
            full = await self._deliver(index, [(keys, args) for _, keys, args in group_calls])
            for (group, _, _), over_capacity in zip(group_calls, full, strict=True):
                if over_capacity:
                    self.count_drop(
                        int(over_capacity), f"for group {group!r}: a process's channel was full"
                    )

    async def _group_members(self, groups: list[str]) -> list[list[str]]:
        # Each group's stale members dropped, then its channel names read: one pipeline per Redis.
        members: list[list[str]] = [[] for _ in groups]
        by_connection: dict[int, list[int]] = collections.defaultdict(list)
        for n, group in enumerate(groups):
            by_connection[self.consistent_hash(group)].append(n)
        stale_before = int(time.time()) - self.group_expiry
        for index, positions in by_connection.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for n in positions:
                key = self._group_key(groups[n])
                pipe.zremrangebyscore(key, min=0, max=stale_before)
                pipe.zrange(key, 0, -1)
            replies = await pipe.execute()
            for n, names in zip(positions, replies[1::2], strict=True):
                members[n] = [name.decode("utf8") for name in names]
        return members

    async def _deliver(self, index: int, calls: list[tuple[list[str], list[Any]]]) -> list[int]:
        # The delivery script once per call, by hash, in one pipeline. Redis loses its scripts on a
        # restart: every call then fails alike (nothing was delivered), so they are sent again once
        # the script is loaded.
        connection = self.connection(index)

        async def send() -> list[int]:
            pipe = connection.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(_GROUP_SEND_SHA, len(keys), *keys, *args)
            return [int(full) for full in await pipe.execute()]

        try:
            return await send()
        except NoScriptError:
            await connection.script_load(_GROUP_SEND_LUA)
            return await send()


class _CountingBuffer(core.BoundedQueue):
    """A socket's in-process buffer: full, it drops its oldest event, and now says so."""

    def __init__(self, layer: RedisChannelLayer, maxsize: int) -> None:
        super().__init__(maxsize)
        self._layer = layer

    def put_nowait(self, item: Any) -> None:
        if self.full():
            self._layer.count_drop(1, "for a socket too slow to read its buffer")
        super().put_nowait(item)
