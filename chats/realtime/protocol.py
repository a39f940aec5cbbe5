"""The real-time vocabulary: every name a client or another process relies on, and nothing else.

- Event types are the enum below; error codes and close codes are chats.errors's (re-exported
  here); docs/events.md documents each (a test holds the two together).
- Group names: `chat_group(chat_id)` holds every socket open on that chat (its user's tabs and any
  admin who has it open); `ADMINS_GROUP` holds every admin dashboard; `user_group(user_pk)` holds
  every socket of one user, whatever its path, and hears only `LAYER_RECHECK` (chats.access).
- Layer message types are what crosses the channel layer between processes; each names the
  socket framework's handler for it in `LAYER_HANDLERS` (chats/realtime/sockets.py).
"""

from __future__ import annotations

import enum
import json
import uuid
from typing import Any

# Re-exported: the realtime contract names its error and close codes, chats.errors defines them.
from chats.errors import CloseCode as CloseCode
from chats.errors import ErrorCode as ErrorCode
from chats.permissions import Role
from desk.runtime.layers import MEMBERSHIP_LOST

Event = dict[str, Any]
# An event and the group it is sent to.
Delivery = tuple[str, Event]


class EventType(enum.StrEnum):
    NEW_MESSAGE = "new_message"
    NEW_USER_MESSAGE = "new_user_message"
    NEW_ADMIN_MESSAGE = "new_admin_message"
    MESSAGES_READ = "messages_read"
    CHAT_VIEWED = "chat_viewed"
    CHAT_ARCHIVED = "chat_archived"
    CHAT_UNARCHIVED = "chat_unarchived"
    CHAT_MERGED = "chat_merged"
    TYPING = "typing"
    PRESENCE = "presence"
    SUPPORT_PRESENCE = "support_presence"
    # Replies to the one socket that asked, never broadcast:
    SYNC = "sync"
    ERROR = "error"


ADMINS_GROUP = "admins"
# Every person's chat sockets (never an admin's): support's presence is announced there.
PEOPLE_GROUP = "people"

# Channel-layer message types (the `type` of what `group_send` carries):
# an event for the group's sockets, as built by chats/realtime/builders.py;
LAYER_EVENT = "desk.event"
# this user's access may have ended (chats.access); never reaches a client;
LAYER_RECHECK = "desk.recheck"
# Redis lost the socket's group memberships; the layer sends it and never reaches a client.
LAYER_MEMBERSHIP_LOST = MEMBERSHIP_LOST

# Fields that name support staff: left out of what a user's socket receives.
STAFF_ONLY_FIELDS = frozenset({"admin"})


def chat_group(chat_id: uuid.UUID | str) -> str:
    return f"chat.{chat_id}"


def user_group(user_pk: int | str) -> str:
    return f"user.{user_pk}"


def for_role(event: Event, role: Role) -> Event | None:
    """What a socket on `role`'s side receives of a group event; None if nothing.

    Typing goes to the other side only; a user's sockets never learn which admin did something.
    """
    if event["type"] == EventType.TYPING and event["sender_type"] == role:
        return None
    if role == Role.USER and not STAFF_ONLY_FIELDS.isdisjoint(event):
        return {key: value for key, value in event.items() if key not in STAFF_ONLY_FIELDS}
    return event


def encode(event: Event) -> str:
    # Not ASCII-escaped: a 5,000-character message in Chinese is 15 kB of UTF-8, not 30 kB.
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
