"""Rate limits per user (and per client address), shared by every desk process through Redis.

Each limit allows `count` actions per `period`, in bursts of up to `count`, per user and across
all of desk's processes and transports (a flooding client gains nothing by opening sockets on
several servers, or by switching between the REST API and a socket).
It is the generic cell rate algorithm: one Redis key per user and limit holding the "theoretical
arrival time" of the next action, updated by one Lua script. Unlike a fixed window it never lets
through twice the limit across a window boundary, and it reads Redis's clock, so the servers'
clocks do not have to agree.

The limits (documented in docs/events.md and docs/reliability.md):
- `messages()`: DESK_MESSAGES_PER_MINUTE messages a minute (default 30), one allowance per user
  for every way of posting (REST, socket `send_message` frames, the dashboard's form) together;
  the posting services take it themselves (`chats.services.user_message_post` and
  `admin_reply_post`), so no edge can forget it.
- `SOCKET_FRAMES`: 240 frames of any kind a minute (typing, sync, garbage included).
- `guests()`: DESK_GUESTS_PER_HOUR new guests an hour per client address (`client_subject`),
  taken by `chats.embed.services.guest_create` (the password-reset limits in desk/accounts.py
  use the same subject).
- `uploads()` and `upload_kibibytes()`: DESK_UPLOADS_PER_HOUR files and DESK_UPLOAD_MB_PER_HOUR
  megabytes an hour per user (an upload costs its size in KiB of the second), taken by
  `chats.attachments.services.attachment_upload` once the file's type is known and before it is
  decoded or stored.

Two doors to the same script and keys: `acquire` / `take` for the event loop (the socket's frame
limit), `acquire_sync` / `take_sync` for synchronous code (the services, which run in a worker
thread, and the password-reset page).

If Redis does not answer, the limiter lets the action through and logs a warning: a flood is a
lesser harm than support going silent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import threading
import weakref
from dataclasses import dataclass

import redis
from django.conf import settings
from django.utils.translation import ngettext_lazy
from redis.asyncio import Redis
from redis.commands.core import AsyncScript, Script
from redis.exceptions import RedisError

from chats.errors import RateLimitedError
from desk.runtime.reconnect import reconnect_once

logger = logging.getLogger(__name__)

# KEYS[1]: the key. ARGV: milliseconds between actions at the steady rate, the period in ms, and
# optionally what this action costs in actions (1 if not given).
# Returns 0 when the action is allowed, else the milliseconds until it would be.
_GCRA_LUA = """
local emission = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3]) or 1
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
    tat = now
end
local next_tat = tat + emission * cost
local allowed_at = next_tat - period
if now < allowed_at then
    return allowed_at - now
end
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
return 0
"""


# What a refusal says, per limit: whole sentences for the catalogs, plural on the allowance
# (`count`), written in the language active when the limit refuses: the asker's. "": any
# other limit.
_REFUSALS = {
    "messages": ngettext_lazy(
        "Too many messages: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "Too many messages: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "count",
    ),
    "socket-frames": ngettext_lazy(
        "Too many frames: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "Too many frames: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "count",
    ),
    "guests": ngettext_lazy(
        "Too many new guests: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "Too many new guests: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "count",
    ),
    "uploads": ngettext_lazy(
        "Too many uploads: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "Too many uploads: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "count",
    ),
    "": ngettext_lazy(
        "Too many requests: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "Too many requests: at most %(count)s per %(period)s s. Try again in %(wait)s s.",
        "count",
    ),
    "upload-kib": ngettext_lazy(
        "Too much uploaded data: at most %(count)s KiB per %(period)s s. Try again in %(wait)s s.",
        "Too much uploaded data: at most %(count)s KiB per %(period)s s. Try again in %(wait)s s.",
        "count",
    ),
}


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    period: float  # seconds


SOCKET_FRAMES = Limit("socket-frames", 240, 60.0)


def messages() -> Limit:
    return Limit("messages", settings.DESK_MESSAGES_PER_MINUTE, 60.0)


def guests() -> Limit:
    """New guests per client address (`client_subject`)."""
    return Limit("guests", settings.DESK_GUESTS_PER_HOUR, 3600.0)


def uploads() -> Limit:
    """Files uploaded per user (chats/attachments/)."""
    return Limit("uploads", settings.DESK_UPLOADS_PER_HOUR, 3600.0)


def upload_kibibytes() -> Limit:
    """Bytes uploaded per user, counted in KiB: an upload costs `kibibytes(size)` of it."""
    return Limit("upload-kib", settings.DESK_UPLOAD_MB_PER_HOUR * 1024, 3600.0)


def kibibytes(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def client_subject(remote_addr: str) -> str:
    """The client's rate-limit subject: its IP address, or for IPv6 its /64 (one host usually
    holds a whole /64, and could otherwise take a fresh allowance with every address in it)."""
    try:
        ip = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# Seconds. Short: a limiter that cannot answer quickly is skipped, not waited for.
_TIMEOUT = 2

# One client per event loop and Redis URL: redis.asyncio connections belong to the loop that
# opened them, and a changed REDIS_URL (a test's override) must not reuse the old server's client.
_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, tuple[Redis, AsyncScript]]
] = weakref.WeakKeyDictionary()


# One client per process and Redis URL for synchronous callers: redis-py's pool is thread-safe
# and reopens its connections after a fork.
_sync_clients: dict[str, Script] = {}
_sync_clients_lock = threading.Lock()


async def acquire(limit: Limit, subject: str | int) -> float:
    """Take one action from `subject`'s allowance; 0.0 if allowed, else seconds to wait."""
    try:
        wait_ms = await _script()(keys=[key(limit, subject)], args=_script_args(limit))
    except (RedisError, OSError) as exc:
        return _unavailable(limit, exc)
    return int(wait_ms) / 1000


def acquire_sync(limit: Limit, subject: str | int, *, cost: int = 1) -> float:
    """`acquire` for synchronous code (a worker thread, a sync view): blocks on Redis, which
    answers in well under a millisecond or, past its short timeout, is skipped. `cost`: how many
    of the limit's actions this one counts for."""
    try:
        wait_ms = _sync_script()(keys=[key(limit, subject)], args=_script_args(limit, cost))
    except (RedisError, OSError) as exc:
        return _unavailable(limit, exc)
    return int(wait_ms) / 1000


async def take(limit: Limit, subject: str | int) -> None:
    """Take one action from `subject`'s allowance, or raise RateLimitedError."""
    _refuse_if_waiting(limit, await acquire(limit, subject))


def take_sync(limit: Limit, subject: str | int, *, cost: int = 1) -> None:
    """`take` for synchronous code."""
    _refuse_if_waiting(limit, acquire_sync(limit, subject, cost=cost))


def _refuse_if_waiting(limit: Limit, wait: float) -> None:
    if wait > 0:
        # Rounded up, so that a client waiting exactly this long is let through.
        retry_after = math.ceil(wait * 10) / 10
        numbers = {"count": limit.count, "period": f"{limit.period:g}", "wait": f"{retry_after:g}"}
        refusal = _REFUSALS.get(limit.name, _REFUSALS[""])
        raise RateLimitedError(refusal % numbers, retry_after)


def _script_args(limit: Limit, cost: int = 1) -> list[int]:
    emission_ms = math.ceil(limit.period * 1000 / limit.count)
    period_ms = math.ceil(limit.period * 1000)
    return [emission_ms, period_ms, cost]


def _unavailable(limit: Limit, exc: BaseException) -> float:
    logger.warning("rate limiter unavailable, letting %s through: %s", limit.name, exc)
    return 0.0


def key(limit: Limit, subject: str | int) -> str:
    return f"{key_prefix()}{limit.name}:{subject}"


def key_prefix() -> str:
    return f"{settings.DESK_CHANNEL_PREFIX}:ratelimit:"


async def close() -> None:
    """Close this event loop's Redis clients (a server's loop lives as long as the process; tests
    open one per test)."""
    for client, _ in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.aclose()


def _script() -> AsyncScript:
    loop = asyncio.get_running_loop()
    by_url = _clients.setdefault(loop, {})
    entry = by_url.get(settings.REDIS_URL)
    if entry is None:
        client = Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=_TIMEOUT,
            socket_connect_timeout=_TIMEOUT,
            retry=reconnect_once(),
        )
        entry = (client, client.register_script(_GCRA_LUA))
        by_url[settings.REDIS_URL] = entry
    return entry[1]


def _sync_script() -> Script:
    url = settings.REDIS_URL
    script = _sync_clients.get(url)
    if script is None:
        with _sync_clients_lock:
            script = _sync_clients.get(url)
            if script is None:
                client = redis.Redis.from_url(
                    url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT
                )
                script = _sync_clients[url] = client.register_script(_GCRA_LUA)
    return script
