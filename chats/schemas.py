"""The JSON shapes of the chat domain: REST responses and, built from the same classes, events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from chats.models import CONTENT_MAX_LENGTH

SenderTypeOut = Literal["user", "admin"]


class MessageIn(Schema):
    content: str = Field(
        description=f"1 to {CONTENT_MAX_LENGTH} characters once leading and trailing whitespace "
        "is trimmed."
    )


class MessageOut(Schema):
    id: uuid.UUID
    chat_id: uuid.UUID
    content: str
    sender_type: SenderTypeOut
    read_at: datetime | None = Field(
        description="When the user read this admin reply; null while unread (and for user "
        "messages)."
    )
    created_at: datetime


class MessagePageOut(Schema):
    messages: list[MessageOut]
    has_more: bool


class UserChatOut(MessagePageOut):
    id: uuid.UUID
    archived: bool
    admin_viewed_at: datetime | None = Field(
        description="When support last opened the chat (the widget's 'seen' hint)."
    )
    unread_count: int = Field(description="Admin replies the user has not read: the badge.")


class MarkReadOut(Schema):
    marked: int


class ChatListItemOut(Schema):
    id: uuid.UUID
    user_id: int | str
    user_email: str
    last_message_at: datetime | None
    last_message_preview: str | None = Field(description="At most 100 characters.")
    last_message_sender: SenderTypeOut | None
    message_count: int
    unread: bool = Field(description="A user message newer than the last time an admin viewed it.")
    archived: bool
    admin_viewed_at: datetime | None
    created_at: datetime


class ChatListOut(Schema):
    items: list[ChatListItemOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class AdminChatOut(ChatListItemOut):
    messages: list[MessageOut]
    has_more: bool


class ErrorOut(Schema):
    detail: str


class FieldErrorOut(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(Schema):
    detail: list[FieldErrorOut]
