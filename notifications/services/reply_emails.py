"""Reply emails from decision to delivery: deciding, sending, recovering.

The life of a reply email:
1. `reply_email_claim` runs when a reply's window ends. Under the chat's row lock it decides the
   reply once: skipped (and why), or listed, with every other unread and undecided reply of the
   chat, in a new ReplyEmail (QUEUED). A reply already decided is left alone, which is what makes
   a burst one email and a duplicate task harmless.
2. `reply_email_deliver` takes one QUEUED email with a conditional update to SENDING, re-checks
   the guards on fresh rows, sends outside any transaction, and records SENT, FAILED, CANCELLED,
   or QUEUED again with a later `next_attempt_at` after a provider error.
3. `reply_emails_sweep` finds what a lost task left behind (replies past their window with no
   decision, queued emails past their attempt time) and fails sends that a dead worker left in
   SENDING: whether the provider accepted those is unknown, and a second email is the worse error.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from chats.errors import NotFoundError
from chats.models import Contact, SenderType, SupportChat, SupportMessage
from chats.services import chat_lock
from notifications import emails, links
from notifications.models import (
    EmailPreference,
    EmailStatus,
    ReplyDecision,
    ReplyEmail,
    SkipReason,
    SuppressedAddress,
)
from notifications.services.preferences import address_normalize
from notifications.services.sending import (
    SWEEP_BATCH,
    Delivery,
    Outcome,
    email_cancel,
    email_claim,
    email_send,
    emails_overdue,
    emails_stuck_fail,
)

logger = logging.getLogger(__name__)


# --- deciding ------------------------------------------------------------------------------------


def reply_email_claim(*, message_id: uuid.UUID) -> ReplyEmail | None:
    """Decide, once, what happens to an admin reply whose window has ended.

    Returns the email now queued for it, listing every reply of the chat that is still unread and
    undecided, oldest first. Returns None when there is nothing to send: the reply is gone, is not
    an admin's, was decided already (by an earlier email of its burst or a duplicate task), or is
    skipped now, in which case its ReplyDecision says why.
    """
    head = SupportMessage.objects.filter(id=message_id).values("chat_id", "sender_type").first()
    if head is None or head["sender_type"] != SenderType.ADMIN:
        logger.info("reply %s: gone or not an admin's; nothing to decide", message_id)
        return None
    now = timezone.now()
    with transaction.atomic():
        # The chat's lock serialises the deciders of one chat with each other and with its
        # writers: two workers never list the same reply, and every query below sees what the
        # previous holder committed.
        try:
            chat = chat_lock(head["chat_id"])
        except NotFoundError:
            return None
        trigger = (
            SupportMessage.objects.filter(id=message_id)
            .annotate(decided=Exists(ReplyDecision.objects.filter(message=OuterRef("pk"))))
            .values("read_at", "decided")
            .first()
        )
        if trigger is None or trigger["decided"]:
            return None
        if trigger["read_at"] is not None:
            _skip(message_id, SkipReason.READ, now)
            return None
        user = chat.user
        preference, _ = EmailPreference.objects.get_or_create(user=user)
        reason = _skip_reason(chat=chat, user=user, preference=preference)
        if reason is not None:
            _skip(message_id, reason, now)
            return None
        reply_ids = list(
            SupportMessage.objects.filter(chat=chat, email_decision__isnull=True)
            .unread_replies()
            .order_by("created_at", "id")
            .values_list("id", flat=True)
        )
        email = ReplyEmail.objects.create(
            chat=chat,
            user=user,
            to_address=person_address(user),
            status=EmailStatus.QUEUED,
            next_attempt_at=now,
        )
        ReplyDecision.objects.bulk_create(
            ReplyDecision(message_id=reply_id, email=email, decided_at=now)
            for reply_id in reply_ids
        )
    logger.info("reply %s: email %s queued for %d replies", message_id, email.id, len(reply_ids))
    return email


def _skip(message_id: uuid.UUID, reason: SkipReason, now: datetime) -> None:
    ReplyDecision.objects.create(message_id=message_id, skip_reason=reason, decided_at=now)
    logger.info("reply %s: no email (%s)", message_id, reason.value)


def person_address(user: User) -> str:
    """The address desk writes to about a chat (and accepts replies by email from)."""
    return (getattr(user, user.get_email_field_name(), "") or "").strip()


def _skip_reason(
    *, chat: SupportChat, user: User, preference: EmailPreference
) -> SkipReason | None:
    """The first guard (besides "read") that forbids an email now, or None. Costs one query."""
    if chat.archived_at is not None:
        return SkipReason.ARCHIVED
    if not user.is_active:
        return SkipReason.INACTIVE
    address = person_address(user)
    if not address:
        return SkipReason.NO_EMAIL
    if preference.unsubscribed_at is not None:
        return SkipReason.UNSUBSCRIBED
    if SuppressedAddress.objects.filter(address=address_normalize(address)).exists():
        return SkipReason.SUPPRESSED
    return None


# --- sending -------------------------------------------------------------------------------------


def reply_email_deliver(*, email_id: uuid.UUID) -> Delivery:
    """Make one attempt at a queued email that is due, and record what happened.

    Only the caller whose conditional update moves the email from QUEUED to SENDING goes on, so
    a duplicate task, a retry and the sweep can all ask at once and one of them sends. The guards
    run again on fresh rows (a retry may come minutes later); replies read meanwhile drop out.
    """
    if not email_claim(ReplyEmail, email_id):
        return Delivery(Outcome.NOT_CLAIMED)

    email = ReplyEmail.objects.select_related("chat", "user", "user__contact").get(id=email_id)
    user = email.user
    preference, _ = EmailPreference.objects.get_or_create(user=user)
    replies = _unread_replies(email)
    reason = (
        SkipReason.READ
        if not replies.texts
        else _skip_reason(chat=email.chat, user=user, preference=preference)
    )
    if reason is not None:
        return email_cancel(ReplyEmail, email_id, reason)
    address = person_address(user)
    # An embedded person's site is the host's page the widget lives on, not desk.
    site_url = links.contact_site_url() if _is_contact(user) else settings.SITE_URL
    delivery = email_send(
        ReplyEmail,
        email,
        address=address,
        build=lambda: emails.reply_email_build(
            emails.ReplyEmailContent(
                to=address,
                name=getattr(user, "first_name", "") or "",
                replies=replies.texts,
                authors=replies.authors,
                open_url=links.open_url(user_pk=user.pk, email_id=email.id),
                unsubscribe_url=links.unsubscribe_url(preference.unsubscribe_token),
                site_url=site_url,
                site_name=links.host_of(site_url),
                message_id=links.email_message_id(email.id),
                thread_id=links.thread_id(email.chat_id),
                link_lifetime=emails.lifetime_text(settings.DESK_EMAIL_LINK_MAX_AGE),
                metadata={"desk_reply_email": str(email.id)},
                reply_to=links.reply_address(email.chat_id),
                attachments=replies.files,
                sent_at=replies.sent_at,
                # As the person's widget last stated them (empty: the settings').
                language=email.chat.language,
                time_zone=email.chat.time_zone,
            )
        ),
    )
    if delivery.outcome is Outcome.SENT:
        logger.info(
            "email %s: sent to user %s with %d replies", email_id, user.pk, len(replies.texts)
        )
    return delivery


@dataclass(frozen=True)
class UnreadReplies:
    """The email's replies still unread, oldest first, with parallel lists of who wrote each
    (their `sender_name`, "" for Support as one voice), when, and the names of each one's
    files."""

    texts: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    sent_at: list[datetime] = field(default_factory=list)
    files: list[list[str]] = field(default_factory=list)


def _unread_replies(email: ReplyEmail) -> UnreadReplies:
    """One query (a row per reply and file), so the send costs the same with files or without."""
    rows = (
        SupportMessage.objects.filter(email_decision__email=email)
        .unread_replies()
        .order_by("created_at", "id", "attachments__created_at", "attachments__id")
        .values_list("id", "content", "sender_name", "created_at", "attachments__name")
    )
    replies = UnreadReplies()
    previous = None
    for message_id, content, author, created_at, name in rows:
        if message_id != previous:
            replies.texts.append(content)
            replies.authors.append(author)
            replies.sent_at.append(created_at)
            replies.files.append([])
            previous = message_id
        if name is not None:
            replies.files[-1].append(name)
    return replies


def _is_contact(user: User) -> bool:
    try:
        return user.contact is not None
    except Contact.DoesNotExist:
        return False


# --- recovering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    # One per chat: its oldest unread reply past its window with no decision.
    replies: list[uuid.UUID] = field(default_factory=list)
    # Queued emails whose attempt is overdue (the first one, or a retry, was lost).
    emails: list[uuid.UUID] = field(default_factory=list)
    # Emails stuck in SENDING past the hard time limit, now recorded as failed.
    interrupted: int = 0


def reply_emails_sweep() -> Sweep:
    """Find the work a lost task left behind; fail sends that a dead worker left half done.

    A reply counts as lost one sweep interval after its window ended, so the sweep does not race
    the task that is about to run; replies older than DESK_REPLY_SWEEP_LOOKBACK are left alone
    (nobody wants an email about a reply from last month). Each query touches only the unread
    replies (a partial index) or the emails still in flight.
    """
    now = timezone.now()
    slack = timedelta(seconds=settings.DESK_REPLY_SWEEP_INTERVAL)
    due = now - timedelta(seconds=settings.DESK_REPLY_NOTIFICATION_DELAY) - slack
    since = now - timedelta(seconds=settings.DESK_REPLY_SWEEP_LOOKBACK)
    lost = (
        SupportMessage.objects.unread_replies()
        .filter(email_decision__isnull=True, created_at__gte=since, created_at__lte=due)
        .order_by("created_at", "id")
    )
    oldest_by_chat: dict[uuid.UUID, uuid.UUID] = {}
    for message_id, chat_id in lost.values_list("id", "chat_id")[:SWEEP_BATCH]:
        oldest_by_chat.setdefault(chat_id, message_id)

    overdue = emails_overdue(ReplyEmail, before=now - slack)
    interrupted = emails_stuck_fail(ReplyEmail, now=now)
    if oldest_by_chat or overdue or interrupted:
        logger.warning(
            "sweep: %d lost replies, %d overdue emails, %d interrupted sends",
            len(oldest_by_chat),
            len(overdue),
            interrupted,
        )
    return Sweep(replies=list(oldest_by_chat.values()), emails=overdue, interrupted=interrupted)


def reply_emails_move(*, source: SupportChat, target: SupportChat) -> None:
    """A guest's chat joined a person's (chats.embed.services.guest_merge, inside its
    transaction): its reply emails, and so their click records, now belong to the person."""
    ReplyEmail.objects.filter(chat=source).update(chat=target, user_id=target.user_id)
