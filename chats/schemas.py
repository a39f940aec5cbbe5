"""The JSON shapes of the chat domain: REST responses and, built from the same classes, events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.utils.translation import gettext_noop
from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import model_validator

from chats import selectors
from chats.attachments.links import attachment_links
from chats.models import (
    ATTACHMENTS_PER_MESSAGE,
    CONTENT_MAX_LENGTH,
    Attachment,
    Contact,
    SupportChat,
)

SenderTypeOut = Literal["user", "admin"]


class MessageIn(Schema):
    content: str = Field(
        "",
        description=f"1 to {CONTENT_MAX_LENGTH} characters once leading and trailing whitespace "
        "is trimmed; may be empty (or left out) when the message carries attachments.",
    )
    attachment_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=ATTACHMENTS_PER_MESSAGE,
        description="Uploads to attach (ids from POST .../attachments): the sender's own, into "
        "this chat, not sent with another message yet.",
    )


class AttachmentOut(Schema):
    """A file in the chat. `url` and `thumbnail_url` are signed for the person they were sent to
    and work for DESK_ATTACHMENT_URL_MAX_AGE seconds at most (half of it at least), without
    cookies; ask for the message or the attachment again for fresh ones."""

    id: uuid.UUID
    name: str = Field(description="The name it downloads under (the uploader's, made safe).")
    size: int = Field(description="Bytes (of an image as desk re-encoded it).")
    content_type: str = Field(description="Detected from the file's content.")
    url: str | None = Field(
        description="The file: an image shows inline, anything else downloads. Null only in "
        "events before a socket signs them (never as a client receives them)."
    )
    thumbnail_url: str | None = Field(
        description="At most 320 x 320 pixels, JPEG or PNG; null for anything but images."
    )
    width: int | None = Field(description="Pixels; null for anything but images.")
    height: int | None = Field(description="Pixels; null for anything but images.")

    @staticmethod
    def resolve_url(attachment: Attachment, context: Any) -> str | None:
        return _links(attachment, context)["url"]

    @staticmethod
    def resolve_thumbnail_url(attachment: Attachment, context: Any) -> str | None:
        return _links(attachment, context)["thumbnail_url"]


def _links(attachment: Attachment, context: Any) -> dict[str, str | None]:
    return attachment_links(
        attachment.id, is_image=attachment.is_image, viewer_id=viewer_of(context)
    )


def viewer_of(context: Any) -> int | None:
    """Whom a schema is being built for: the REST caller (ninja puts the request in the
    context), or None for an event (a socket signs it for its own user as it sends it)."""
    request = context.get("request") if isinstance(context, dict) else None
    user = getattr(request, "auth", None)
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int) else None


class MessageOut(Schema):
    id: uuid.UUID
    chat_id: uuid.UUID
    content: str = Field(description="Empty only for a message that carries attachments.")
    sender_type: SenderTypeOut
    sender_name: str | None = Field(
        description="For an admin reply: the first name of the admin who wrote it, shown as "
        '"Alice from Support"; null when support answers as one voice (or for user messages).'
    )
    read_at: datetime | None = Field(
        description="When the user read this admin reply; null while unread (and for user "
        "messages)."
    )
    created_at: datetime
    attachments: list[AttachmentOut] = Field(description="Oldest upload first; often empty.")

    @staticmethod
    def resolve_attachments(message: Any) -> list[Attachment]:
        return selectors.message_attachments(message)

    @staticmethod
    def resolve_sender_name(message: Any) -> str | None:
        return message.sender_name or None


class MessagePageOut(Schema):
    messages: list[MessageOut]
    has_more: bool


class AvailabilityOut(Schema):
    """Business hours and the widget's texts, as staff set them in Django admin."""

    open: bool = Field(
        description="Support is within its business hours now (always, when none are set)."
    )
    opens_at: datetime | None = Field(description="While closed: when support is back.")
    closes_at: datetime | None = Field(
        description="While open within business hours: when they end (null with no hours set)."
    )
    time_zone: str = Field(description="The business hours' time zone (IANA), e.g. Europe/Berlin.")
    greeting: str
    reply_time: str = Field(description="What to expect while open, e.g. within a few hours.")
    away_message: str = Field(description="What to say while closed (the answer comes by email).")


class WidgetAvailabilityOut(AvailabilityOut):
    """What an embedded widget asks before anyone has a chat: whether to show its launcher."""

    hide_launcher_for_guests: bool = Field(
        description="Outside business hours, show no chat button to anonymous visitors."
    )
    support_online: bool = Field(description="A staff member has the dashboard open now.")


class UserChatOut(MessagePageOut):
    id: uuid.UUID
    archived: bool
    admin_viewed_at: datetime | None = Field(
        description="When support last opened the chat (the widget's 'seen' hint)."
    )
    unread_count: int = Field(description="Admin replies the user has not read: the badge.")
    support_online: bool = Field(
        description="A staff member has the dashboard open now (`support_presence` events keep "
        "it current)."
    )
    availability: AvailabilityOut


class MarkReadOut(Schema):
    marked: int


class ObjectIn(Schema):
    """A JSON body that must be an object. ninja's Schema reads fields off any value (a list, a
    number); for a body whose fields are all optional that would accept `[null, null]`."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        # ninja 1.7 hands a validator the body wrapped in its DjangoGetter.
        body = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(body, dict):
            # Marked only: the 422 answer translates it (desk/api.py).
            raise ValueError(gettext_noop("The body must be a JSON object."))
        return data


class PersonOut(Schema):
    kind: Literal["guest", "identified"]
    name: str
    email: str = Field(description="As given; reply emails go there once `email_confirmed`.")
    email_confirmed: bool
    external_id: str | None = Field(description="The host site's id (`sub`); null for guests.")

    @classmethod
    def of(cls, contact: Contact) -> PersonOut:
        return cls.model_validate(
            {
                "kind": contact.kind,
                "name": contact.name,
                "email": contact.email,
                "email_confirmed": bool(contact.email) and contact.email_confirmed_at is not None,
                "external_id": contact.external_id,
            }
        )


class ChatListItemOut(Schema):
    id: uuid.UUID
    user_id: int | str
    user_email: str = Field(
        description="Where reply emails go: empty for a guest who has not confirmed an address."
    )
    contact: PersonOut | None = Field(
        description="The person, for a chat through the widget embedded on another site (a "
        "guest, or someone the host site identified); null for desk's own users."
    )
    last_message_at: datetime | None
    last_message_preview: str | None = Field(description="At most 100 characters.")
    last_message_sender: SenderTypeOut | None
    message_count: int
    unread: bool = Field(description="A user message newer than the last time an admin viewed it.")
    archived: bool
    admin_viewed_at: datetime | None
    created_at: datetime
    user_online: bool | None = Field(
        None,
        description="The person has the chat open now (a widget tab, on any server): REST "
        "answers say; the rows events carry leave it null (`presence` events keep it current).",
    )

    @staticmethod
    def resolve_user_online(chat: SupportChat) -> bool | None:
        return getattr(chat, "user_online", None)

    @staticmethod
    def resolve_contact(chat: SupportChat) -> PersonOut | None:
        contact = selectors.row_contact(chat)
        return None if contact is None else PersonOut.of(contact)


class ChatListOut(Schema):
    items: list[ChatListItemOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class UnreadOut(Schema):
    unread_chats: int = Field(
        description="Active chats with a user message newer than the last time an admin opened "
        "them: the count in the dashboard's tab title."
    )


class AdminChatOut(ChatListItemOut):
    messages: list[MessageOut]
    has_more: bool

    # Built from a dict of a ChatListItemOut already resolved (chats/api.py), not a row.
    @staticmethod
    def resolve_contact(detail: Any) -> Any:
        return detail["contact"]

    @staticmethod
    def resolve_user_online(detail: Any) -> Any:
        return detail["user_online"]


class ErrorOut(Schema):
    detail: str


# An operation with a JSON body may also be refused for a body that does not parse as JSON (400),
# one over DATA_UPLOAD_MAX_MEMORY_SIZE (413), or one sent as anything but application/json (415;
# desk/api.py).
BODY_ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 413: ErrorOut, 415: ErrorOut}


class UnauthenticatedOut(ErrorOut):
    reason: str = Field(
        description="identity_invalid, identity_expired, identity_disabled, guest_unknown, "
        "guest_link_invalid, token_invalid, token_expired or unauthenticated (no credential)."
    )


# --- The embedded widget (docs/embed.md) ---------------------------------------------------------


class TokenIn(ObjectIn):
    identity: str | None = Field(
        None, max_length=4096, description="The host site's identity token (a JWT, HS256)."
    )
    guest_secret: str | None = Field(
        None,
        max_length=100,
        description="A guest's secret. With `identity` too, the guest's chat joins the person's.",
    )
    guest_link: str | None = Field(
        None, max_length=500, description="The token of a guest link support sent."
    )


class TokenOut(Schema):
    token: str = Field(description="Send as `Authorization: Bearer`; renew before it expires.")
    expires_in: int = Field(description="Seconds the token is valid for.")
    person: PersonOut
    chat_id: uuid.UUID | None = Field(description="Null until the person's first message.")
    merged_messages: int = Field(0, description="Messages of the guest chat merged just now.")


class GuestIn(ObjectIn):
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)


class GuestOut(TokenOut):
    guest_secret: str = Field(description="Keep it (localStorage): it is this guest's credential.")


class PersonIn(ObjectIn):
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)


class GuestLinkIn(ObjectIn):
    name: str = Field(max_length=200)
    email: str | None = Field(None, max_length=254)
    send_email: bool = Field(False, description="Email the link to `email`.")


class GuestLinkOut(Schema):
    url: str
    chat_id: uuid.UUID
    expires_at: datetime


class FieldErrorOut(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(Schema):
    detail: list[FieldErrorOut]
