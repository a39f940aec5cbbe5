"""One function per event: its payload, as a client receives it.

Payloads are built from the REST output schemas (`MessageOut`, `ChatListItemOut`) and encoded by
the API's own JSON renderer, so a message has the same values over REST and a socket. Builders
read only what they are given (no query); services call them inside the transaction of the write
they announce, so an event carries the state that write committed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from chats import selectors
from chats.models import SenderType, SupportChat, SupportMessage
from chats.permissions import Role
from chats.realtime.protocol import ErrorCode, Event, EventType
from chats.schemas import ChatListItemOut, MessageOut


def new_message_event(message: SupportMessage) -> Event:
    """For the chat's sockets: the message, whoever sent it."""
    return as_json(
        {
            "type": EventType.NEW_MESSAGE,
            "chat_id": message.chat_id,
            "message": message_out(message),
        }
    )


def admin_feed_message_event(message: SupportMessage) -> Event:
    """For the dashboards: `new_user_message` or `new_admin_message`, with the chat's user.

    `message.chat.user` must be loaded (the posting services lock the chat with its user)."""
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


def messages_read_event(
    chat: SupportChat, message_ids: Iterable[uuid.UUID], read_at: datetime
) -> Event:
    return as_json(
        {
            "type": EventType.MESSAGES_READ,
            "chat_id": chat.id,
            "message_ids": list(message_ids),
            "read_at": read_at,
        }
    )


def chat_viewed_event(chat: SupportChat, admin: User, viewed_at: datetime) -> Event:
    return as_json(
        {
            "type": EventType.CHAT_VIEWED,
            "chat_id": chat.id,
            "admin": staff_out(admin),
            "admin_viewed_at": viewed_at,
        }
    )


def chat_archive_event(kind: EventType, row: SupportChat, admin: User | None) -> Event:
    """`chat_archived` or `chat_unarchived`. `row` is the chat as `selectors.chat_list_rows()`
    reads it, inside the transaction that archived or restored it: read after the commit, a
    concurrent restore could already show, and a `chat_archived` would carry `archived: false`.
    `admin` is None when a user's message reopened the chat."""
    # The dashboard moves the row between its tabs, so the event carries the row itself.
    return as_json(
        {
            "type": kind,
            "chat_id": row.id,
            "admin": staff_out(admin) if admin is not None else None,
            "chat": ChatListItemOut.from_orm(row).model_dump(),
        }
    )


def chat_merged_event(row: SupportChat, *, merged_chat_id: uuid.UUID) -> Event:
    """`chat_merged`: a guest's chat (`merged_chat_id`, now gone) joined this one, because the
    guest's browser signed in as this person. Dashboards drop the guest's row and show this one;
    the person's open chat reloads its messages. `row` as `chat_archive_event`'s."""
    return as_json(
        {
            "type": EventType.CHAT_MERGED,
            "chat_id": row.id,
            "merged_chat_id": merged_chat_id,
            "chat": ChatListItemOut.from_orm(row).model_dump(),
        }
    )


def typing_event(chat_id: uuid.UUID, *, sender_type: Role, is_typing: bool) -> Event:
    return {
        "type": EventType.TYPING,
        "chat_id": str(chat_id),
        "sender_type": sender_type,
        "is_typing": is_typing,
    }


def presence_event(chat_id: uuid.UUID | str, online: bool) -> Event:
    """For the dashboards: the chat's person opened their first socket, or closed their last."""
    return {"type": EventType.PRESENCE, "chat_id": str(chat_id), "online": online}


def support_presence_event(online: bool) -> Event:
    """For every person's chat sockets: the first staff member opened the dashboard, or the last
    one left it."""
    return {"type": EventType.SUPPORT_PRESENCE, "online": online}


def sync_event(chat_id: uuid.UUID, page: selectors.MessagePage, request_id: str | None) -> Event:
    event: Event = {
        "type": EventType.SYNC,
        "chat_id": chat_id,
        "messages": [message_out(message) for message in page.messages],
        "has_more": page.has_more,
    }
    return as_json(_with_request_id(event, request_id))


def error_event(
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


def message_out(message: SupportMessage) -> dict[str, Any]:
    """The message as REST gives it, but for its attachments' `url` and `thumbnail_url`, left
    null: an event goes to the chat's user and the admins alike, and each socket signs them for
    its own user as it sends the event (chats/attachments/links.py `sign_event`). The message's
    attachments must be loaded (the posting services and `selectors.messages_page` do): no
    query here."""
    return MessageOut.from_orm(message).model_dump()


def staff_out(admin: User) -> dict[str, Any]:
    return {"id": admin.pk, "email": getattr(admin, "email", "")}


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
