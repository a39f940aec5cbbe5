"""Every write in the chat domain. REST handlers, websocket consumers and tasks all call these.

Each function owns its transaction, checks who is asking, and announces what it did after the
commit: it builds its events inside the transaction (chats/realtime/builders.py) and hands them to
`transport.send_on_commit`, which sends them to the sockets once the transaction commits. A new
message is also announced to other apps through the `chats.signals.message_created` signal (the
reply email starts there, in notifications), sent on commit too.

The two posting services are also the admission gate for every new message, whichever edge it
came through: they clean the content and the attachments' ids (chats/validation.py), check that
the attachments are the sender's waiting uploads into this chat, and take one message from the
sender's allowance (chats/ratelimit.py), in that order and before the transaction, so a message
refused as invalid costs nothing and a refused one never holds the chat's lock. Inside the
transaction the uploads are claimed for the message with a conditional update: an upload
attached (or swept) meanwhile refuses the message, and nothing of it is kept.

Who is asking is checked against the database inside the transaction, not taken from the user
object the caller holds: a websocket keeps the one it loaded when it opened, and the account may
have been deactivated or demoted since. An admin costs one query (`require_current_admin`); a user
is read with their chat, in the query that locks it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chats import ratelimit, selectors, signals
from chats.availability import availability_now
from chats.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from chats.models import (
    UNATTACHED,
    AdminAction,
    Attachment,
    ChatAuditEntry,
    Contact,
    SenderType,
    SupportChat,
    SupportMessage,
)
from chats.permissions import require_admin, require_current_admin
from chats.realtime import builders, transport
from chats.realtime.protocol import ADMINS_GROUP, EventType, chat_group
from chats.validation import clean_attachment_ids, clean_caption, clean_content

ONE_TICK = timedelta(microseconds=1)
# What a person's new message (or a merge of their messages) changes on the chat.
CHAT_ACTIVITY_FIELDS = [
    "last_message_at",
    "last_user_message_at",
    "message_count",
    "archived_at",
    "updated_at",
]


def chat_get_or_create(*, user: User) -> SupportChat:
    """The user's one support chat, created on first use."""
    chat, _ = SupportChat.objects.get_or_create(user=user)
    return chat


def chat_for_user(*, user: User) -> SupportChat:
    """The user's chat for the widget: created on first use for desk's own users; for a contact
    (chats/embed/) only their first message creates it, never a page view: NotFoundError."""
    chat = SupportChat.objects.filter(user=user).first()
    if chat is not None:
        return chat
    if Contact.objects.filter(user=user).exists():
        raise NotFoundError(gettext_lazy("No chat yet: it starts with your first message."))
    return chat_get_or_create(user=user)


def user_message_post(
    *,
    user: User,
    content: object,
    attachment_ids: object = None,
    language: str | None = None,
    time_zone: str | None = None,
) -> SupportMessage:
    """Post a message from a user to support. Reopens the chat if it was archived.

    `content` and `attachment_ids` (the user's uploads into their chat, not yet attached; up to
    ATTACHMENTS_PER_MESSAGE) as the edge received them; `content` may be empty when there are
    attachments. `language` (a code of settings.LANGUAGES) and `time_zone` (a checked IANA
    zone), when the person's widget stated them, are kept with the chat for their emails; None
    leaves what the chat has. Raises InvalidInputError (costing nothing), RateLimitedError (over
    DESK_MESSAGES_PER_MINUTE), PermissionDeniedError.
    """
    # Validated first, so a refused message costs the user nothing of their allowance.
    ids = clean_attachment_ids(attachment_ids)
    text = clean_caption(content) if ids else clean_content(content)
    waiting = _waiting_uploads(ids, uploader=user, chat_owner=user)
    ratelimit.take_sync(ratelimit.messages(), user.pk)
    with transaction.atomic():
        chat = user_chat_lock(user)
        message = _message_add(chat, sender=user, sender_type=SenderType.USER, content=text)
        _attachments_claim(message, ids, waiting)
        reopened = chat.archived_at is not None
        chat.archived_at = None
        chat.save(update_fields=[*CHAT_ACTIVITY_FIELDS, *_locale_note(chat, language, time_zone)])
        _message_announce(message)
        if reopened:
            _archive_announce(EventType.CHAT_UNARCHIVED, chat, admin=None)
    return message


def _locale_note(chat: SupportChat, language: str | None, time_zone: str | None) -> list[str]:
    """Keep the person's stated language and time zone on `chat`; the fields that changed."""
    changed = []
    if language and language != chat.language:
        chat.language = language
        changed.append("language")
    if time_zone and time_zone != chat.time_zone:
        chat.time_zone = time_zone
        changed.append("time_zone")
    return changed


def admin_reply_post(
    *, admin: User, chat_id: uuid.UUID, content: object, attachment_ids: object = None
) -> SupportMessage:
    """Post a reply from an admin. An archived chat stays archived (and gets no reply email).

    `content` and `attachment_ids` (this admin's uploads into this chat, not yet attached) as
    the edge received them, as for `user_message_post`. Raises InvalidInputError (costing
    nothing), PermissionDeniedError (costing nothing unless the database alone knows the admin
    was demoted), RateLimitedError (the admin's own allowance), NotFoundError.
    """
    # Validated, then the admin checked, before the allowance: a refused reply costs nothing.
    ids = clean_attachment_ids(attachment_ids)
    text = clean_caption(content) if ids else clean_content(content)
    require_admin(admin)
    waiting = _waiting_uploads(ids, uploader=admin, chat_id=chat_id)
    ratelimit.take_sync(ratelimit.messages(), admin.pk)
    with transaction.atomic():
        require_current_admin(admin)
        chat = chat_lock(chat_id)
        message = _message_add(
            chat,
            sender=admin,
            sender_type=SenderType.ADMIN,
            content=text,
            sender_name=agent_name(admin),
        )
        _attachments_claim(message, ids, waiting)
        chat.save(update_fields=["last_message_at", "message_count", "updated_at"])
        ChatAuditEntry.objects.create(
            chat=chat, actor=admin, action=AdminAction.REPLIED, message=message
        )
        _message_announce(message)
    return message


def messages_mark_read(*, user: User, message_ids: Iterable[uuid.UUID] | None = None) -> int:
    """Mark the admin replies the user has not read yet as read; return how many were marked.

    Every unread reply, or only those among `message_ids` (a reply email's link marks the replies
    it listed). Replies of other users' chats are never touched.
    """
    with transaction.atomic():
        chat = SupportChat.objects.select_related("user").filter(user=user).first()
        if chat is None:
            return 0
        _require_active(chat.user)
        unread = SupportMessage.objects.filter(chat=chat).unread_replies()
        if message_ids is not None:
            unread = unread.filter(id__in=message_ids)
        # Lock the rows first so two tabs marking at once report each message once.
        marked = list(unread.select_for_update().values_list("id", flat=True))
        if not marked:
            return 0
        read_at = timezone.now()
        SupportMessage.objects.filter(id__in=marked).update(read_at=read_at, updated_at=read_at)
        # The user's other tabs clear their badge; dashboards show the replies as read.
        event = builders.messages_read_event(chat, marked, read_at)
        transport.send_on_commit([(chat_group(chat.id), event), (ADMINS_GROUP, event)])
    return len(marked)


def chat_mark_viewed(*, admin: User, chat_id: uuid.UUID) -> datetime:
    """Record that an admin opened the chat: its user messages are no longer unread for admins."""
    require_admin(admin)
    viewed_at = timezone.now()
    with transaction.atomic():
        require_current_admin(admin)
        chat = chat_lock(chat_id)
        chat.admin_viewed_at = viewed_at
        chat.save(update_fields=["admin_viewed_at", "updated_at"])
        ChatAuditEntry.objects.create(chat=chat, actor=admin, action=AdminAction.VIEWED)
        # Other admins see the chat's unread marker clear; the widget can show "seen".
        event = builders.chat_viewed_event(chat, admin, viewed_at)
        transport.send_on_commit([(ADMINS_GROUP, event), (chat_group(chat.id), event)])
    return viewed_at


def chat_archive(*, admin: User, chat_id: uuid.UUID) -> SupportChat:
    """Move the chat to the Archived tab. Archiving an archived chat changes nothing."""
    require_admin(admin)
    with transaction.atomic():
        require_current_admin(admin)
        chat = chat_lock(chat_id)
        if chat.archived_at is None:
            chat.archived_at = timezone.now()
            chat.save(update_fields=["archived_at", "updated_at"])
            ChatAuditEntry.objects.create(chat=chat, actor=admin, action=AdminAction.ARCHIVED)
            _archive_announce(EventType.CHAT_ARCHIVED, chat, admin=admin)
    return chat


def chat_unarchive(*, admin: User, chat_id: uuid.UUID) -> SupportChat:
    """Move the chat back to the Active tab. Restoring an active chat changes nothing."""
    require_admin(admin)
    with transaction.atomic():
        require_current_admin(admin)
        chat = chat_lock(chat_id)
        if chat.archived_at is not None:
            chat.archived_at = None
            chat.save(update_fields=["archived_at", "updated_at"])
            ChatAuditEntry.objects.create(chat=chat, actor=admin, action=AdminAction.UNARCHIVED)
            _archive_announce(EventType.CHAT_UNARCHIVED, chat, admin=admin)
    return chat


def chat_lock(chat_id: uuid.UUID) -> SupportChat:
    """The chat with its user, its row locked until the transaction ends; NotFoundError if none.

    Call inside transaction.atomic(); serialises writers of one chat. Every write to a chat and
    every decision taken about it (a reply email's, in notifications) holds it, so message
    timestamps follow commit order within a chat, and each query after the lock sees what the
    previous holder committed. PostgreSQL locks the row; SQLite's IMMEDIATE transactions
    serialise every writer.
    """
    try:
        return _chats_locking().get(id=chat_id)
    except SupportChat.DoesNotExist:
        raise NotFoundError(gettext_lazy("No such chat.")) from None


def user_chat_lock(user: User) -> SupportChat:
    """`chat_lock` for the user's own chat, created on first use; PermissionDeniedError when the
    account is no longer active (as the database has it, read with the chat)."""
    chat = _user_chat_lock(user)
    _require_active(chat.user)
    return chat


def _user_chat_lock(user: User) -> SupportChat:
    # chat_lock by owner, creating the chat on first use (outside the lock: get_or_create
    # tolerates a concurrent creator through the unique user column).
    chat = _chats_locking().filter(user=user).first()
    if chat is None:
        # The user's row locked first: a concurrent deletion (a guest merged into the person
        # their browser signed in as) either finished, and the post is refused, or waits.
        if not User.objects.select_for_update().filter(pk=user.pk, is_active=True).exists():
            raise PermissionDeniedError(gettext_lazy("This account is no longer active."))
        chat_get_or_create(user=user)
        chat = _chats_locking().get(user=user)
    return chat


def _chats_locking() -> QuerySet[SupportChat]:
    # chat_lock's one definition of the lock; `of` keeps the user's row unlocked.
    return SupportChat.objects.select_for_update(of=("self",)).select_related("user")


def _require_active(owner: User) -> None:
    # `owner` is the chat's user as this transaction read it with the chat (no query of its own),
    # not the caller's copy.
    if not owner.is_active:
        raise PermissionDeniedError(gettext_lazy("This account is no longer active."))


def _waiting_uploads(
    ids: list[uuid.UUID],
    *,
    uploader: User,
    chat_owner: User | None = None,
    chat_id: uuid.UUID | None = None,
) -> list[Attachment]:
    # The uploads `ids` name, if every one is the uploader's own, into the chat (the owner's, or
    # chat_id), and not attached yet; else InvalidInputError, before anything is spent. Another
    # person's upload and an id that names nothing are refused alike.
    if not ids:
        return []
    uploads = Attachment.objects.filter(UNATTACHED, id__in=ids, uploader=uploader)
    if chat_owner is not None:
        uploads = uploads.filter(chat__user=chat_owner)
    else:
        uploads = uploads.filter(chat_id=chat_id)
    found = list(uploads)
    if len(found) != len(ids):
        raise _uploads_refused()
    return found


def _attachments_claim(
    message: SupportMessage, ids: list[uuid.UUID], waiting: list[Attachment]
) -> None:
    # Under the chat's lock: the uploads checked before the transaction become the message's,
    # unless one was attached or swept meanwhile (the update then finds fewer rows, and the
    # message is refused with the transaction rolled back).
    if not ids:
        return
    claimed = Attachment.objects.filter(
        UNATTACHED, id__in=ids, chat_id=message.chat_id, uploader_id=message.sender_id
    ).update(message=message)
    if claimed != len(ids):
        raise _uploads_refused()
    for attachment in waiting:
        attachment.message = message
    # What MessageOut reads (chats.selectors.attachments_load sets it on pages of messages).
    message.attachment_list = sorted(  # type: ignore[attr-defined]
        waiting, key=lambda attachment: (attachment.created_at, attachment.id)
    )


def _uploads_refused() -> InvalidInputError:
    return InvalidInputError(
        "attachment_ids",
        gettext_lazy("Each attachment must be an upload of yours into this chat, not yet sent."),
    )


def _message_announce(message: SupportMessage) -> None:
    # Every socket on the chat gets the message, the sender's own included; so do dashboards.
    transport.send_on_commit(
        [
            (chat_group(message.chat_id), builders.new_message_event(message)),
            (ADMINS_GROUP, builders.admin_feed_message_event(message)),
        ]
    )
    signals.send_on_commit(signals.message_created, message=message)


def _archive_announce(kind: EventType, chat: SupportChat, *, admin: User | None) -> None:
    # Dashboards move the chat between their tabs (the user is not told: it is triage). The row is
    # read here, under the chat's row lock, not after the commit: by then a concurrent archive or
    # restore may have committed, and the event would carry a state its own write never had.
    row = selectors.chat_list_rows().get(id=chat.id)
    transport.send_on_commit([(ADMINS_GROUP, builders.chat_archive_event(kind, row, admin))])


def agent_name(admin: User) -> str:
    """What a reply says of who wrote it: the admin's first name, unless support answers as one
    voice (SupportSettings.agent_names)."""
    return admin.first_name.strip() if availability_now().agent_names else ""


def _message_add(
    chat: SupportChat, *, sender: User, sender_type: SenderType, content: str, sender_name: str = ""
) -> SupportMessage:
    # Strictly after the chat's previous message even if clocks of two servers disagree, so that
    # "messages after id X" never skips one that committed later with an earlier timestamp.
    created_at = timezone.now()
    if chat.last_message_at is not None and created_at <= chat.last_message_at:
        created_at = chat.last_message_at + ONE_TICK
    message = SupportMessage.objects.create(
        chat=chat,
        sender=sender,
        sender_type=sender_type,
        sender_name=sender_name,
        content=content,
        created_at=created_at,
    )
    # What MessageOut reads its attachments from (chats.selectors.attachments_load): none until
    # the posting service claims the uploads, and no query to learn it.
    message.attachment_list = []  # type: ignore[attr-defined]
    chat.last_message_at = created_at
    if sender_type == SenderType.USER:
        chat.last_user_message_at = created_at
    # Safe as a plain increment: the caller holds the chat's row lock and saves the chat.
    chat.message_count += 1
    return message
