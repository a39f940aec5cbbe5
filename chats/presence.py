"""Who is there: a person on their chat, support on the dashboard, across every server process.

Two kinds of presence, each a Redis set of the channel names of the sockets that make it:
- a person is online on their chat while they hold at least one socket on it (any tab, any
  process): the set `presence:chat:<chat id>`; the dashboards hear `presence {chat_id, online}`
  when the first opens or the last closes;
- support is online while at least one staff member holds a dashboard socket (the admins' feed):
  the set `presence:staff`; every person's chat socket hears `support_presence {online}` when
  the first opens or the last closes.

A transition is decided inside Redis (a Lua script per join or leave), so two processes never
both announce the same one. Sockets do not beat one by one: each server process (each event loop)
beats for all of its sockets, every third of DESK_PRESENCE_TIMEOUT (45 s), in
`presence:processes`, and keeps the list of its members in `presence:process:<id>`. A process
that stops beating (killed, frozen, cut off) is swept by `presence_sweep` (Celery beat, every
third of the timeout) once the timeout has passed: its members leave, and what went offline is
announced. So nobody stays "online" for more than 4/3 of the timeout (a minute) after their
process died. A process found
swept while alive (a pause longer than the timeout) joins its sockets again.

If Redis does not answer, presence is not recorded (logged); chatting goes on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from channels.layers import get_channel_layer
from django.conf import settings
from redis.exceptions import RedisError

from chats.access import loop_redis
from chats.realtime.builders import presence_event, support_presence_event
from chats.realtime.protocol import ADMINS_GROUP, PEOPLE_GROUP, Delivery
from chats.realtime.transport import broadcast, group_send_all
from desk.redis_client import sync_redis

logger = logging.getLogger(__name__)

STAFF = "staff"


def _timeout() -> float:
    # DESK_PRESENCE_TIMEOUT: a process silent this long is dead; it beats three times as often.
    return float(settings.DESK_PRESENCE_TIMEOUT)


# KEYS: the presence's set, the process's members, the processes. ARGV: channel, presence, process.
# Returns 1 when this socket made the presence online.
_JOIN_LUA = """
local clock = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(clock[1]), ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2] .. '|' .. ARGV[1])
local before = redis.call('SCARD', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
if before == 0 then return 1 end
return 0
"""

# KEYS: the presence's set, the process's members. ARGV: channel, presence.
# Returns 1 when this socket was the last of the presence.
_LEAVE_LUA = """
redis.call('SREM', KEYS[2], ARGV[2] .. '|' .. ARGV[1])
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 0 then
    return 1
end
return 0
"""

# KEYS: the processes. ARGV: process. Returns 1 if the process had been swept (or never beat).
_BEAT_LUA = """
local clock = redis.call('TIME')
return redis.call('ZADD', KEYS[1], tonumber(clock[1]), ARGV[1])
"""

# KEYS: the processes. ARGV: the timeout, the key prefix ("<prefix>:presence:"), at most how many
# processes. Returns the presences that went offline.
_SWEEP_LUA = """
local clock = redis.call('TIME')
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(clock[1]) - tonumber(ARGV[1]),
                        'LIMIT', 0, tonumber(ARGV[3]))
local offline = {}
for _, process in ipairs(dead) do
    local members = ARGV[2] .. 'process:' .. process
    for _, member in ipairs(redis.call('SMEMBERS', members)) do
        local cut = string.find(member, '|', 1, true)
        local presence = string.sub(member, 1, cut - 1)
        local key = ARGV[2] .. presence
        if redis.call('SREM', key, string.sub(member, cut + 1)) == 1
                and redis.call('SCARD', key) == 0 then
            offline[presence] = true
        end
    end
    redis.call('DEL', members)
    redis.call('ZREM', KEYS[1], process)
end
local names = {}
for presence, _ in pairs(offline) do table.insert(names, presence) end
return names
"""

# KEYS: presence sets. Returns how many sockets each has.
_COUNT_LUA = """
local counts = {}
for i, key in ipairs(KEYS) do counts[i] = redis.call('SCARD', key) end
return counts
"""


def _prefix() -> str:
    return f"{settings.DESK_CHANNEL_PREFIX}:presence:"


def _key(presence: str) -> str:
    return _prefix() + presence


def _processes_key() -> str:
    return _prefix() + "processes"


def _members_key(process: str) -> str:
    return f"{_prefix()}process:{process}"


def chat_presence(chat_id: uuid.UUID | str) -> str:
    return f"chat:{chat_id}"


def _announcements(changes: Iterable[tuple[str, bool]]) -> list[Delivery]:
    deliveries: list[Delivery] = []
    for presence, online in changes:
        if presence == STAFF:
            deliveries.append((PEOPLE_GROUP, support_presence_event(online)))
            continue
        # The dashboards' feed only: a chat's page learns it on load and after a reconnect. (Sent
        # to the chat's group too, 500 people connecting at once overflowed a process's channel.)
        deliveries.append((ADMINS_GROUP, presence_event(presence.removeprefix("chat:"), online)))
    return deliveries


# --- this process's sockets ----------------------------------------------------------------------


@dataclass
class _Process:
    """One event loop's sockets, and the task that beats for them while there are any."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    members: dict[str, str] = field(default_factory=dict)  # channel name -> presence
    beating: asyncio.Task[None] | None = None


_processes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Process] = (
    weakref.WeakKeyDictionary()
)


def _process() -> _Process:
    loop = asyncio.get_running_loop()
    process = _processes.get(loop)
    if process is None:
        process = _processes[loop] = _Process()
    return process


async def join(presence: str, channel_name: str) -> None:
    """A socket that makes `presence` (chat_presence(id) or STAFF) has opened. Never raises."""
    process = _process()
    process.members[channel_name] = presence
    if process.beating is None or process.beating.done():
        process.beating = asyncio.create_task(_beat(process))
    try:
        became_online = await _join(process, presence, channel_name)
    except (RedisError, OSError) as exc:
        logger.warning("presence: could not record %s joining: %s", presence, exc)
        return
    if became_online:
        await _announce([(presence, True)])


async def _join(process: _Process, presence: str, channel_name: str) -> bool:
    script = loop_redis().register_script(_JOIN_LUA)
    keys = [_key(presence), _members_key(process.id), _processes_key()]
    return bool(await script(keys=keys, args=[channel_name, presence, process.id]))


async def leave(channel_name: str) -> None:
    """A socket that joined has closed. Never raises."""
    process = _process()
    presence = process.members.pop(channel_name, None)
    if presence is None:
        return
    if not process.members:
        await _retire(process)
    try:
        script = loop_redis().register_script(_LEAVE_LUA)
        keys = [_key(presence), _members_key(process.id)]
        went_offline = bool(await script(keys=keys, args=[channel_name, presence]))
    except (RedisError, OSError) as exc:
        logger.warning("presence: could not record %s leaving: %s", presence, exc)
        return
    if went_offline:
        await _announce([(presence, False)])


async def _beat(process: _Process) -> None:
    """Beat for the process's sockets while it has any; rejoin them if the process was swept
    while alive (a pause longer than the timeout)."""
    while True:
        try:
            script = loop_redis().register_script(_BEAT_LUA)
            if await script(keys=[_processes_key()], args=[process.id]):
                await _rejoin(process)
        except (RedisError, OSError) as exc:
            logger.warning("presence: heartbeat failed, will retry: %s", exc)
        except Exception:
            logger.exception("presence: heartbeat failed, will retry")
        await asyncio.sleep(_timeout() / 3)


async def _retire(process: _Process) -> None:
    """The process's last socket closed: no more beats, and it leaves the processes."""
    if process.beating is not None:
        process.beating.cancel()
        await asyncio.gather(process.beating, return_exceptions=True)
        process.beating = None
    try:
        await loop_redis().zrem(_processes_key(), process.id)
    except (RedisError, OSError) as exc:
        logger.warning("presence: could not retire process %s: %s", process.id, exc)


async def _rejoin(process: _Process) -> None:
    logger.warning("presence: this process was swept while alive; joining its sockets again")
    online = []
    for channel_name, presence in list(process.members.items()):
        if await _join(process, presence, channel_name):
            online.append((presence, True))
    await _announce(online)


async def _announce(changes: Iterable[tuple[str, bool]]) -> None:
    deliveries = _announcements(changes)
    layer = get_channel_layer()
    if layer is None or not deliveries:
        return
    try:
        await group_send_all(layer, deliveries)
    except Exception:
        logger.exception("presence: could not announce %d changes", len(deliveries))


async def stop() -> None:
    """Stop this event loop's heartbeat (tests end their loop; a server's lives with it)."""
    process = _processes.pop(asyncio.get_running_loop(), None)
    if process is not None and process.beating is not None:
        process.beating.cancel()
        await asyncio.gather(process.beating, return_exceptions=True)


# --- reading -------------------------------------------------------------------------------------


async def online(presences: list[str]) -> list[bool]:
    """Whether each presence is online now, in one trip to Redis; all False without Redis."""
    if not presences:
        return []
    try:
        script = loop_redis().register_script(_COUNT_LUA)
        counts = await script(keys=[_key(presence) for presence in presences])
    except (RedisError, OSError) as exc:
        logger.warning("presence: unknown, Redis did not answer: %s", exc)
        return [False] * len(presences)
    return [int(count) > 0 for count in counts]


async def chats_online(chat_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bool]:
    ids = list(chat_ids)
    found = await online([chat_presence(chat_id) for chat_id in ids])
    return dict(zip(ids, found, strict=True))


async def support_online() -> bool:
    return (await online([STAFF]))[0]


# --- sweeping (synchronous: the Celery task) -----------------------------------------------------

# Dead processes retired per sweep; the next sweep takes the rest.
SWEEP_BATCH = 100


def presence_sweep() -> list[tuple[str, bool]]:
    """Retire the processes that stopped beating, and announce what went offline with them."""
    script = sync_redis().register_script(_SWEEP_LUA)
    offline = script(keys=[_processes_key()], args=[_timeout(), _prefix(), SWEEP_BATCH])
    changes = [(presence.decode(), False) for presence in offline]
    if changes:
        logger.warning("presence: %d went offline with a dead process", len(changes))
        broadcast(_announcements(changes))
    return changes
