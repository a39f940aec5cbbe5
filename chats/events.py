"""The real-time contract: every websocket event desk sends is named and built here, and only here.

- Event types are the enum below; error codes and close codes are chats.errors's (re-exported
  here); docs/events.md documents each (a test holds the two together).
- Payloads are built from the REST output schemas (`MessageOut`, `ChatListItemOut`) and encoded
  by the API's own JSON renderer, so a message has the same values over REST and a socket.
- Group names: `chat_group(chat_id)` holds every socket open on that chat (its user's tabs and any
  admin who has it open); `ADMINS_GROUP` holds every admin dashboard; `user_group(user_pk)` holds
  every socket of one user, whatever its path, and hears only `RECHECK_MESSAGE_TYPE` (chats.access).
- The receivers at the bottom are connected to `chats.signals` in ChatsConfig.ready(). Services
  send those signals after their transaction commits, so whatever wrote the change (REST, a
  socket, a task) the same events leave, once, and never for a write that rolled back.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.contrib.auth.models import User

from chats import selectors

# Re-exported: the realtime contract names its error and close codes, chats.errors defines them.
from chats.errors import CloseCode as CloseCode
from chats.errors import ErrorCode as ErrorCode
from chats.models import SenderType, SupportChat, SupportMessage
from chats.permissions import Role
from chats.schemas import ChatListItemOut, MessageOut

Event = dict[str, Any]


class EventType(enum.StrEnum):
    NEW_MESSAGE = "new_message"
    NEW_USER_MESSAGE = "new_user_message"
    NEW_ADMIN_MESSAGE = "new_admin_message"
    MESSAGES_READ = "messages_read"
    CHAT_VIEWED = "chat_viewed"
    CHAT_ARCHIVED = "chat_archived"
    CHAT_UNARCHIVED = "chat_unarchived"
    TYPING = "typing"
    # Replies to the one socket that asked, never broadcast:
    SYNC = "sync"
    ERROR = "error"


ADMINS_GROUP = "admins"

# The channel-layer message type; AsyncConsumer dispatches it to a consumer's `desk_event`.
LAYER_MESSAGE_TYPE = "desk.event"
# Sent to a user's group when their access may have ended (chats.access); never reaches a client.
RECHECK_MESSAGE_TYPE = "desk.recheck"

# Fields that name support staff: left out of what a user's socket receives.
STAFF_ONLY_FIELDS = frozenset({"admin"})


def chat_group(chat_id: uuid.UUID | str) -> str:
    return f"chat.{chat_id}"


def user_group(user_pk: int | str) -> str:
    return f"user.{user_pk}"


# --- Building events -----------------------------------------------------------------------------


def message_out(message: SupportMessage) -> dict[str, Any]:
    return MessageOut.from_orm(message).model_dump()


def new_message(message: SupportMessage) -> Event:
    return as_json(
        {
            "type": EventType.NEW_MESSAGE,
            "chat_id": message.chat_id,
            "message": message_out(message),
        }
    )


def new_message_for_admins(message: SupportMessage) -> Event:
    chat = message.chat
    kind = (
        EventType.NEW_USER_MESSAGE
        if message.sender_type == SenderType.USER
        else EventType.NEW_ADMIN_MESSAGE
    )
    return as_json(
        {
            "type": kind,
            "chat_id": chat.id,
            "user_id": chat.user_id,
            "user_email": chat.user.email,
            "message": message_out(message),
        }
    )


def messages_read(chat: SupportChat, message_ids: Iterable[uuid.UUID], read_at: datetime) -> Event:
    return as_json(
        {
            "type": EventType.MESSAGES_READ,
            "chat_id": chat.id,
            "message_ids": list(message_ids),
            "read_at": read_at,
        }
    )


def chat_viewed(chat: SupportChat, admin: User, viewed_at: datetime) -> Event:
    return as_json(
        {
            "type": EventType.CHAT_VIEWED,
            "chat_id": chat.id,
            "admin": staff_out(admin),
            "admin_viewed_at": viewed_at,
        }
    )


def chat_archive_changed(kind: EventType, row: SupportChat, admin: User | None) -> Event:
    """`row` is the chat as `selectors.chats_for_admin()` reads it, inside the transaction that
    archived or restored it: read after the commit, a concurrent restore could already show, and
    a `chat_archived` would carry `archived: false`."""
    # The dashboard moves the row between its tabs, so the event carries the row itself.
    return as_json(
        {
            "type": kind,
            "chat_id": row.id,
            "admin": staff_out(admin) if admin is not None else None,
            "chat": ChatListItemOut.from_orm(row).model_dump(),
        }
    )


def typing(chat_id: uuid.UUID, *, sender_type: Role, is_typing: bool) -> Event:
    return {
        "type": EventType.TYPING,
        "chat_id": str(chat_id),
        "sender_type": sender_type,
        "is_typing": is_typing,
    }


def sync(chat_id: uuid.UUID, page: selectors.MessagePage, request_id: str | None) -> Event:
    event: Event = {
        "type": EventType.SYNC,
        "chat_id": chat_id,
        "messages": [message_out(message) for message in page.messages],
        "has_more": page.has_more,
    }
    return as_json(_with_request_id(event, request_id))


def error(
    code: ErrorCode,
    detail: str,
    *,
    field: str | None = None,
    retry_after: float | None = None,
    request_id: str | None = None,
) -> Event:
    event: Event = {"type": EventType.ERROR, "code": code, "detail": detail}
    if field is not None:
        event["field"] = field
    if retry_after is not None:
        event["retry_after"] = retry_after
    return _with_request_id(event, request_id)


def staff_out(admin: User) -> dict[str, Any]:
    return {"id": admin.pk, "email": getattr(admin, "email", "")}


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


def as_json(data: Event) -> Event:
    """`data` as REST would send it: plain JSON values, encoded by the API's renderer.

    Events cross Redis as msgpack, which knows no UUID or datetime; and REST's encoder writes
    times to the millisecond, so a socket must too, or one message would have two timestamps.
    """
    from desk.api import api

    return dict(json.loads(api.renderer.render(None, data, response_status=200)))  # type: ignore[arg-type]


def _with_request_id(event: Event, request_id: str | None) -> Event:
    if request_id is not None:
        event["request_id"] = request_id
    return event


# --- Sending -------------------------------------------------------------------------------------


def broadcast(deliveries: list[tuple[str, Event]]) -> None:
    """Send each event to its group, in order, from synchronous code (an after-commit receiver).

    Returns once Redis holds them all. Raises if the layer does: the signal's sender logs it, the
    committed write stands, and clients recover with `sync`.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(group_send_all)(layer, deliveries)


async def group_send_all(layer: BaseChannelLayer, deliveries: list[tuple[str, Event]]) -> None:
    # One hop to the event loop for all of a write's events; sequential, so they arrive in order.
    for group, event in deliveries:
        await layer.group_send(group, {"type": LAYER_MESSAGE_TYPE, "event": event})


async def typing_send(chat_id: uuid.UUID, *, sender_type: Role, is_typing: bool) -> None:
    """Relay a typing indicator to the chat's sockets (never stored; the other side shows it)."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = typing(chat_id, sender_type=sender_type, is_typing=is_typing)
    await group_send_all(layer, [(chat_group(chat_id), event)])


# --- Receivers of chats.signals (connected in ChatsConfig.ready) ----------------------------------


def message_created_broadcast(sender: Any, *, message: SupportMessage, **kwargs: Any) -> None:
    """Every socket on the chat gets the message, the sender's own included; so do dashboards."""
    broadcast(
        [
            (chat_group(message.chat_id), new_message(message)),
            (ADMINS_GROUP, new_message_for_admins(message)),
        ]
    )


def messages_read_broadcast(
    sender: Any,
    *,
    chat: SupportChat,
    message_ids: list[uuid.UUID],
    read_at: datetime,
    **kwargs: Any,
) -> None:
    """The user's other tabs clear their badge; dashboards show the replies as read."""
    event = messages_read(chat, message_ids, read_at)
    broadcast([(chat_group(chat.id), event), (ADMINS_GROUP, event)])


def chat_viewed_broadcast(
    sender: Any, *, chat: SupportChat, admin: User, viewed_at: datetime, **kwargs: Any
) -> None:
    """Other admins see the chat's unread marker clear; the widget can show "seen"."""
    event = chat_viewed(chat, admin, viewed_at)
    broadcast([(ADMINS_GROUP, event), (chat_group(chat.id), event)])


def chat_archived_broadcast(sender: Any, *, row: SupportChat, admin: User, **kwargs: Any) -> None:
    """Dashboards move the chat to the Archived tab (the user is not told: it is triage)."""
    broadcast([(ADMINS_GROUP, chat_archive_changed(EventType.CHAT_ARCHIVED, row, admin))])


def chat_unarchived_broadcast(
    sender: Any, *, row: SupportChat, admin: User | None, **kwargs: Any
) -> None:
    """Dashboards move the chat back to the Active tab (admin is None: a user message did it)."""
    broadcast([(ADMINS_GROUP, chat_archive_changed(EventType.CHAT_UNARCHIVED, row, admin))])
