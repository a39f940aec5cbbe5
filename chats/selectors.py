"""Reads that carry rules: who may see what, in which order, a page at a time.

Every list here runs a fixed number of queries whatever the number of rows.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Left, NullIf
from django.utils.translation import gettext_lazy

from chats.errors import InvalidInputError, NotFoundError
from chats.models import (
    UNATTACHED,
    UNREAD_CHAT,
    Attachment,
    Contact,
    SupportChat,
    SupportMessage,
)
from chats.permissions import Role, is_admin, require_admin

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PREVIEW_LENGTH = 100
# The preview of a message with attachments and no text: its first attachment's name after this.
ATTACHMENT_PREVIEW_PREFIX = "\N{PAPERCLIP} "


@dataclass(frozen=True)
class MessagePage:
    messages: list[SupportMessage]
    has_more: bool


@dataclass(frozen=True)
class ChatPage:
    chats: list[SupportChat]
    next_cursor: str | None


def messages_page(
    *,
    messages: QuerySet[SupportMessage],
    after: uuid.UUID | None = None,
    before: uuid.UUID | None = None,
    limit: int = PAGE_SIZE,
) -> MessagePage:
    """A page of one chat's `messages`, always oldest first.

    - `after`: the oldest `limit` messages newer than that message (polling and catch-up);
      `has_more` says more newer ones are waiting.
    - otherwise: the newest `limit` messages, older than `before` when given (history);
      `has_more` says older ones exist.

    An `after` or `before` id outside `messages` is refused, so a caller cannot probe other chats.
    """
    if after is not None and before is not None:
        raise InvalidInputError(
            "after", gettext_lazy("Give either after or before, not both."), "query"
        )
    if after is not None:
        anchor = _message_anchor(messages, after, "after")
        rows = list(
            _flagged(messages)
            .filter(
                Q(created_at__gt=anchor.created_at)
                | Q(created_at=anchor.created_at, id__gt=anchor.id)
            )
            .order_by("created_at", "id")[: limit + 1]
        )
        return MessagePage(messages=attachments_load(rows[:limit]), has_more=len(rows) > limit)
    if before is not None:
        anchor = _message_anchor(messages, before, "before")
        messages = messages.filter(
            Q(created_at__lt=anchor.created_at) | Q(created_at=anchor.created_at, id__lt=anchor.id)
        )
    rows = list(_flagged(messages).order_by("-created_at", "-id")[: limit + 1])
    page = attachments_load(rows[:limit][::-1])
    return MessagePage(messages=page, has_more=len(rows) > limit)


def chat_messages(chat: SupportChat) -> QuerySet[SupportMessage]:
    return SupportMessage.objects.filter(chat=chat)


def user_messages(user: User) -> QuerySet[SupportMessage]:
    """The messages of the user's chat, without loading the chat first (polling is hot)."""
    return SupportMessage.objects.filter(chat__user=user)


def attachments_load(messages: list[SupportMessage]) -> list[SupportMessage]:
    """`messages`, each with its attachments (oldest first) in `attachment_list`, where
    MessageOut reads them: one query for all of them, and none when the query that read them
    flagged that none has any (`messages_page`'s does). For any list of messages (a reply email
    listing its replies' attachments, say)."""
    wanted = [message.pk for message in messages if getattr(message, "has_attachments", True)]
    found: dict[uuid.UUID, list[Attachment]] = {}
    if wanted:
        for attachment in Attachment.objects.filter(message_id__in=wanted).order_by(
            "created_at", "id"
        ):
            found.setdefault(attachment.message_id, []).append(attachment)  # type: ignore[arg-type]
    for message in messages:
        message.attachment_list = found.get(message.pk, [])  # type: ignore[attr-defined]
    return messages


def message_attachments(message: SupportMessage) -> list[Attachment]:
    """The message's attachments, oldest first: as loaded with it (`attachments_load`, or set by
    the posting services), else from a `prefetch_related("attachments")`, else read now."""
    loaded: list[Attachment] | None = getattr(message, "attachment_list", None)
    if loaded is not None:
        return loaded
    return sorted(message.attachments.all(), key=lambda found: (found.created_at, found.id))


def _flagged(messages: QuerySet[SupportMessage]) -> QuerySet[SupportMessage]:
    # Whether each message has attachments, in the page's own query: a page without any (most
    # of them, and every empty poll) costs no query more than before attachments existed.
    return messages.annotate(
        has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk")))
    )


def attachment_for_user(*, user: User, attachment_id: uuid.UUID) -> Attachment:
    """An attachment of the user's own chat that the user may see: one attached to a message,
    or a waiting upload of their own. NotFoundError otherwise, as for an id that names nothing."""
    found = (
        Attachment.objects.filter(id=attachment_id, chat__user=user)
        .filter(Q(message__isnull=False) | Q(uploader=user))
        .first()
    )
    if found is None:
        raise NotFoundError(gettext_lazy("No such attachment."))
    return found


def attachment_for_admin(
    *, admin: User, chat_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment:
    """An attachment of the chat, for an admin (waiting uploads included)."""
    require_admin(admin)
    found = Attachment.objects.filter(id=attachment_id, chat_id=chat_id).first()
    if found is None:
        raise NotFoundError(gettext_lazy("No such attachment."))
    return found


def attachment_to_serve(*, viewer_id: int, attachment_id: uuid.UUID) -> Attachment | None:
    """The attachment, if the user `viewer_id` may fetch its bytes now, else None; one query.

    An active admin may fetch any; the chat's own user, while active, one attached to a message
    or a waiting upload of their own. None alike for an id that names nothing and one this
    person may not see."""
    active_admin = User.objects.filter(pk=viewer_id, is_active=True, is_staff=True)
    owner = Q(chat__user_id=viewer_id, chat__user__is_active=True) & (
        Q(message__isnull=False) | Q(uploader_id=viewer_id)
    )
    return (
        Attachment.objects.filter(id=attachment_id)
        .filter(owner | Exists(active_admin))
        .only(
            "id",
            "name",
            "size",
            "content_type",
            "storage_name",
            "width",
            "thumbnail_name",
            "thumbnail_size",
            "thumbnail_content_type",
        )
        .first()
    )


def waiting_uploads(*, older_than: datetime) -> QuerySet[Attachment]:
    """Uploads never attached to a message, created before `older_than`, oldest first."""
    return Attachment.objects.filter(UNATTACHED, created_at__lt=older_than).order_by(
        "created_at", "id"
    )


def unread_reply_count(*, chat: SupportChat, through: SupportMessage | None) -> int:
    """Admin replies the user has not read yet, up to `through` (the newest message the caller
    read; None: there were none): the widget's badge. The same snapshot as that page of messages,
    so a reply stored between the two reads is not counted here and then again when its event
    arrives (the badge said 2 for one reply)."""
    if through is None:
        return 0
    replies = SupportMessage.objects.filter(chat=chat, created_at__lte=through.created_at)
    return replies.unread_replies().count()


def chat_list_rows() -> QuerySet[SupportChat]:
    """Chats with what the admin list shows of each, computed in the same query: the user's
    contact (chats/embed/, `row_contact`) is joined in, never fetched row by row.

    Checks nobody: every caller has checked who is asking (`chat_list_for_admin` and
    `chat_summary_for_admin` below, a service holding the chat's lock)."""
    latest = _newest_first(OuterRef("pk"))
    # A message with attachments may have no text: its preview is its first attachment's name
    # (read only then). None for a chat without messages.
    first_file = (
        Attachment.objects.filter(
            message_id=Subquery(_newest_first(OuterRef(OuterRef("pk"))).values("id")[:1])
        )
        .order_by("created_at", "id")
        .values("name")[:1]
    )
    preview = Case(
        When(last_message_at__isnull=True, then=Value(None, output_field=CharField())),
        default=Coalesce(
            NullIf(Left(Subquery(latest.values("content")[:1]), PREVIEW_LENGTH), Value("")),
            Left(Concat(Value(ATTACHMENT_PREVIEW_PREFIX), Subquery(first_file)), PREVIEW_LENGTH),
        ),
        output_field=CharField(),
    )
    return SupportChat.objects.select_related("user__contact").annotate(
        user_email=F("user__email"),
        last_message_preview=preview,
        last_message_sender=Subquery(latest.values("sender_type")[:1]),
        unread=ExpressionWrapper(UNREAD_CHAT, output_field=BooleanField()),
    )


def _newest_first(chat: OuterRef) -> QuerySet[SupportMessage]:
    return SupportMessage.objects.filter(chat=chat).order_by("-created_at", "-id")


def chat_list_for_admin(
    *,
    admin: User,
    archived: bool = False,
    limit: int = PAGE_SIZE,
    cursor: str | None = None,
    q: str | None = None,
) -> ChatPage:
    """One tab of the admin list, newest activity first, chats without messages last.

    Keyset pagination on (last_message_at, id): a page deep in the list costs what the first does.
    """
    require_admin(admin)
    chats = chat_list_rows().filter(archived_at__isnull=not archived)
    if q:
        # PostgreSQL refuses NUL in a query parameter: a clear 422, not a database error.
        if "\x00" in q:
            raise InvalidInputError(
                "q", gettext_lazy("Search text must not contain NUL characters."), "query"
            )
        chats = chats.filter(chat_search(q.strip()))
    if cursor:
        chats = chats.filter(_after_cursor(*decode_cursor(cursor)))
    rows = list(chats.order_by(F("last_message_at").desc(nulls_last=True), "-id")[: limit + 1])
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return ChatPage(chats=page, next_cursor=next_cursor)


def unread_chat_count(*, admin: User) -> int:
    """The active chats waiting for an admin (the dashboard's title count): a count of the
    partial index chat_unread_idx, as cheap with 100,000 chats as with ten."""
    require_admin(admin)
    return SupportChat.objects.filter(UNREAD_CHAT, archived_at__isnull=True).count()


def chat_search(text: str) -> Q:
    """Chats whose person matches `text`: a fragment of the user's email, or of an embedded
    contact's name, email as given (confirmed or not) or host id.

    One subquery, a UNION of the users and the contacts that match: each side can use its own
    index (the users' email has a trigram index, chats/migrations/0003), where an OR across the
    joined tables would make PostgreSQL read every chat (45 ms instead of 15 at 100k users and
    20k contacts)."""
    users = User.objects.filter(email__icontains=text).values("id")
    contacts = Contact.objects.filter(
        Q(name__icontains=text) | Q(email__icontains=text) | Q(external_id__icontains=text)
    ).values("user_id")
    return Q(user_id__in=users.union(contacts, all=True))


def row_contact(chat: SupportChat) -> Contact | None:
    """The contact a `chat_list_rows()` row belongs to (loaded with it); None for desk's own
    users."""
    contact: Contact | None = getattr(chat.user, "contact", None)
    return contact


def chat_for_admin(*, admin: User, chat_id: uuid.UUID) -> SupportChat:
    """One chat, for an admin."""
    require_admin(admin)
    return _chat_get(SupportChat.objects.select_related("user"), chat_id)


def chat_summary_for_admin(*, admin: User, chat_id: uuid.UUID) -> SupportChat:
    """One chat with what the admin list shows of it (preview, count, unread)."""
    require_admin(admin)
    return _chat_get(chat_list_rows(), chat_id)


def _chat_get(chats: QuerySet[SupportChat], chat_id: uuid.UUID) -> SupportChat:
    try:
        return chats.get(id=chat_id)
    except SupportChat.DoesNotExist:
        raise NotFoundError(gettext_lazy("No such chat.")) from None


def encode_cursor(chat: SupportChat) -> str:
    stamp = chat.last_message_at.isoformat() if chat.last_message_at else ""
    raw = f"{stamp}|{chat.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, chat_id = raw.split("|")
        last_message_at = datetime.fromisoformat(stamp) if stamp else None
        if last_message_at is not None and last_message_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return last_message_at, uuid.UUID(chat_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInputError(
            "cursor", "Invalid cursor: pass back next_cursor as given.", "query"
        ) from None


def _after_cursor(last_message_at: datetime | None, chat_id: uuid.UUID) -> Q:
    # Rows that sort after (last_message_at, id) in "newest first, no messages last" order.
    if last_message_at is None:
        return Q(last_message_at__isnull=True, id__lt=chat_id)
    return (
        Q(last_message_at__lt=last_message_at)
        | Q(last_message_at=last_message_at, id__lt=chat_id)
        | Q(last_message_at__isnull=True)
    )


def _message_anchor(
    messages: QuerySet[SupportMessage], message_id: uuid.UUID, field: str
) -> SupportMessage:
    anchor = messages.filter(id=message_id).only("id", "created_at").first()
    if anchor is None:
        raise InvalidInputError(field, gettext_lazy("No such message in this chat."), "query")
    return anchor


def chat_for_participant(*, user: User, chat_id: uuid.UUID) -> tuple[SupportChat, Role]:
    """The chat and the side `user` is on: its owner is the user, anyone else must be an admin.

    Raises NotFoundError for an unknown chat, and for another user's chat unless `user` is an
    admin: answered alike, a user cannot learn which chat ids exist.
    """
    chat = SupportChat.objects.filter(id=chat_id).first()
    if chat is not None and chat.user_id == user.pk:
        return chat, Role.USER
    if chat is None or not is_admin(user):
        raise NotFoundError(gettext_lazy("No such chat."))
    return chat, Role.ADMIN
