"""Open sockets follow the account: ended access closes them, and a user holds only so many.

A socket authenticates once, when it opens, and then lives for hours. So:

- **Revocation.** When a user logs out, is deactivated, changes their password, loses staff
  status or is deleted, the receivers in chats/receivers.py have `access_changed` send a re-check
  message to the user's group (`protocol.user_group`), which every socket of that user joins, on
  every process. After a logout only the sockets of the session that ended close (4401); after
  any other change every socket of the user re-checks its session and access (the consumer's
  `recheck`) and closes with 4401 or 4403 if they ended. Each receiver also leaves a mark in Redis
  for MARK_TTL seconds, which a socket reads right after joining the user's group: a socket that
  loaded its user just before the change, but joined the group just after its message, is closed
  all the same.
- **A cap.** A user holds at most DESK_SOCKETS_PER_USER sockets, counted across all processes in
  one Redis sorted set per user: the members are the sockets' channel names, the scores when each
  last checked in. An open socket checks in every SLOT_RENEW_EVERY seconds (its keep-alive); an
  entry older than SLOT_TTL, left by a process that died without closing its sockets, no longer
  counts. One over the cap is closed with 4429.

If Redis does not answer, a socket is let in uncounted and a warning is logged, as the rate
limiter does: support going silent is a greater harm than a few sockets too many.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from chats.realtime.protocol import LAYER_RECHECK, user_group
from desk.redis_client import sync_redis
from desk.runtime.reconnect import reconnect_once

logger = logging.getLogger(__name__)

# An open socket's heartbeat, and how old an entry may get before it no longer counts: three
# missed heartbeats. A crashed process's sockets free their user's slots within SLOT_TTL.
SLOT_RENEW_EVERY = 30.0
SLOT_TTL = 90.0
# How long a revocation's mark stays in Redis: far longer than a handshake takes between loading
# its user and joining the user's group.
MARK_TTL = 120
# The mark of a change to the account itself: every socket of the user re-checks.
ANY_SESSION = "*"
# The mark of a socket opened without a session (a desk token, chats/embed/sockets.py): no
# session's mark is ever this, so only ANY_SESSION changes reach it.
NO_SESSION = "-"
# Account fields whose change may end access (Django's session check covers the password).
WATCHED_FIELDS = ("is_active", "is_staff", "password")

# KEYS[1]: the user's sockets, KEYS[2]: the user's revocation marks. ARGV: the channel name, the
# cap, SLOT_TTL. Returns {1 if the socket got a slot else 0, the marks}.
_CLAIM_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local claimed = 0
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], now, ARGV[1])
    redis.call('EXPIRE', KEYS[1], math.ceil(ttl))
    claimed = 1
end
return {claimed, redis.call('SMEMBERS', KEYS[2])}
"""

# KEYS[1]: the user's sockets. ARGV: the channel name, SLOT_TTL.
_RENEW_LUA = """
local clock = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(clock[1]) + tonumber(clock[2]) / 1000000, ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return 1
"""


@dataclass(frozen=True)
class Admission:
    """What a socket learns as it opens: whether it has a slot, and recent revocation marks."""

    claimed: bool
    marks: frozenset[str]


def slots_key(user_pk: Any) -> str:
    return f"{settings.DESK_CHANNEL_PREFIX}:sockets:{user_pk}"


def marks_key(user_pk: Any) -> str:
    return f"{settings.DESK_CHANNEL_PREFIX}:revoked:{user_pk}"


def session_mark(session_key: str | None) -> str:
    """What stands for a session in Redis and in layer messages: a hash, never the key itself
    (a session key is a bearer credential)."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()


# --- Revocation (synchronous: called by chats/receivers.py) --------------------------------------


def access_changed(user_pk: Any, *, ended_session: str | None = None) -> None:
    """Tell every socket of the user, on every process, that their access may have ended.

    `ended_session` is the key of the one session that ended (a logout): only its sockets close.
    Without it, every socket of the user re-checks. Never raises (logged): it runs in a logout or
    a user save, which must not fail for it.
    """
    mark = session_mark(ended_session) if ended_session else ANY_SESSION
    try:
        client = sync_redis()
        with client.pipeline(transaction=False) as pipe:
            pipe.sadd(marks_key(user_pk), mark)
            pipe.expire(marks_key(user_pk), MARK_TTL)
            pipe.execute()
    except (RedisError, OSError) as exc:
        logger.warning("could not mark user %s's access change in Redis: %s", user_pk, exc)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            user_group(user_pk), {"type": LAYER_RECHECK, "session": mark}
        )
    except Exception:
        logger.exception("could not tell user %s's sockets that their access changed", user_pk)


# --- Socket slots (asynchronous: the consumers) --------------------------------------------------


async def slot_claim(user_pk: Any, channel_name: str) -> Admission:
    """Take one of the user's socket slots for `channel_name`, and read the revocation marks."""
    try:
        claim = _scripts()[0]
        claimed, marks = await claim(
            keys=[slots_key(user_pk), marks_key(user_pk)],
            args=[channel_name, settings.DESK_SOCKETS_PER_USER, SLOT_TTL],
        )
    except (RedisError, OSError) as exc:
        logger.warning("socket cap unavailable, letting user %s's socket in: %s", user_pk, exc)
        return Admission(claimed=True, marks=frozenset())
    return Admission(claimed=bool(claimed), marks=frozenset(mark.decode() for mark in marks))


async def slot_renew(user_pk: Any, channel_name: str) -> None:
    await _scripts()[1](keys=[slots_key(user_pk)], args=[channel_name, SLOT_TTL])


async def slot_release(user_pk: Any, channel_name: str) -> None:
    try:
        await loop_redis().zrem(slots_key(user_pk), channel_name)
    except (RedisError, OSError) as exc:
        # The entry stops counting after SLOT_TTL anyway.
        logger.warning("could not free user %s's socket slot: %s", user_pk, exc)


# One client per event loop: redis.asyncio connections belong to the loop that opened them.
_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[Redis, tuple[AsyncScript, AsyncScript]]
] = weakref.WeakKeyDictionary()


def loop_redis() -> Redis:
    """This event loop's Redis client for the sockets' bookkeeping (slots here, chats.presence)."""
    return _entry()[0]


def _scripts() -> tuple[AsyncScript, AsyncScript]:
    return _entry()[1]


def _entry() -> tuple[Redis, tuple[AsyncScript, AsyncScript]]:
    loop = asyncio.get_running_loop()
    entry = _clients.get(loop)
    if entry is None:
        client = Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=2,
            socket_connect_timeout=2,
            retry=reconnect_once(),
        )
        entry = (client, (client.register_script(_CLAIM_LUA), client.register_script(_RENEW_LUA)))
        _clients[loop] = entry
    return entry


async def close() -> None:
    """Close this event loop's Redis client (a server's loop lives as long as the process; tests
    open one per test)."""
    entry = _clients.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[0].aclose()
