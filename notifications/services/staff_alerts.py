"""Staff alerts: a person's messages that nobody opened or answered in time, emailed to the staff.

The same life as a reply email's (notifications/services/reply_emails.py), on the same machinery:
1. `staff_alert_claim` runs when a person's message has waited DESK_STAFF_ALERT_DELAY seconds.
   Under the chat's row lock it decides the message once, with every other undecided message of
   the chat: those sent before an admin last opened or answered the chat are skipped (and why);
   the rest, if the trigger is among them, make one StaffAlert with a queued email to each staff
   member who wants it (StaffAlertPreference, read now: a change applies to the next alert).
   A message already decided is left alone: a burst is one alert, a duplicate task harmless.
2. `staff_alert_deliver` claims one queued email (QUEUED -> SENDING, sending.email_claim), checks
   again that nobody opened or answered the chat since, and sends it.
3. `staff_alerts_sweep` (in the reply emails' sweep task) finds messages whose task was lost and
   emails whose attempt was, and fails sends a dead worker left in SENDING.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from chats.errors import InvalidInputError, NotFoundError
from chats.models import Contact, SenderType, SupportChat, SupportMessage
from chats.services import chat_lock
from notifications import emails, links
from notifications.models import (
    EmailStatus,
    StaffAlert,
    StaffAlertDecision,
    StaffAlertEmail,
    StaffAlertPreference,
    StaffAlertScope,
    StaffAlertSkip,
)
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

# Translators: how a staff alert names a guest who gave neither a name nor an address.
A_GUEST = gettext_lazy("a guest")


# --- preferences ---------------------------------------------------------------------------------


def staff_alert_scope(*, staff: User) -> StaffAlertScope:
    scope = StaffAlertPreference.objects.filter(user=staff).values_list("scope", flat=True).first()
    return StaffAlertScope(scope) if scope is not None else StaffAlertScope.ALL


def staff_alert_scope_set(*, staff: User, scope: object) -> StaffAlertScope:
    """Record the staff member's choice; `scope` as the edge received it (InvalidInputError)."""
    if scope not in StaffAlertScope.values:
        choices = ", ".join(StaffAlertScope.values)
        raise InvalidInputError(
            "scope", gettext("scope must be one of: %(choices)s.") % {"choices": choices}
        )
    chosen = StaffAlertScope(scope)
    StaffAlertPreference.objects.update_or_create(user=staff, defaults={"scope": chosen})
    return chosen


def staff_reader_record(*, staff: User, language: str, time_zone: str | None = None) -> None:
    """Remember the language (and, when stated, the time zone) of the staff member's dashboard:
    their alerts are written in it. Two queries, and a write only when something changed."""
    fields = (
        {"language": language}
        if time_zone is None
        else {
            "language": language,
            "time_zone": time_zone,
        }
    )
    changed = StaffAlertPreference.objects.filter(user=staff).exclude(**fields).update(**fields)
    if not changed:
        StaffAlertPreference.objects.get_or_create(user=staff, defaults=fields)


def _recipients(chat: SupportChat) -> QuerySet[User]:
    """The staff who want an alert about this chat now, with an address to send it to."""
    answered = SupportMessage.objects.filter(
        chat=chat, sender=OuterRef("pk"), sender_type=SenderType.ADMIN
    )
    scope = Coalesce(
        Subquery(StaffAlertPreference.objects.filter(user=OuterRef("pk")).values("scope")[:1]),
        Value(StaffAlertScope.ALL.value),
    )
    return (
        User.objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .annotate(alert_scope=scope)
        .filter(
            Q(alert_scope=StaffAlertScope.ALL)
            | Q(Exists(answered), alert_scope=StaffAlertScope.ANSWERED)
        )
        .order_by("pk")
    )


# --- deciding ------------------------------------------------------------------------------------


def _handled_at(chat: SupportChat) -> tuple[datetime | None, StaffAlertSkip]:
    """When an admin last opened or answered the chat, and which of the two that was."""
    answered_at = (
        SupportMessage.objects.filter(chat=chat, sender_type=SenderType.ADMIN)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    opened_at = chat.admin_viewed_at
    if opened_at is not None and (answered_at is None or opened_at > answered_at):
        return opened_at, StaffAlertSkip.OPENED
    return answered_at, StaffAlertSkip.ANSWERED


def staff_alert_claim(*, message_id: uuid.UUID) -> list[uuid.UUID]:
    """Decide, once, about a person's message whose wait has ended; the emails queued for it.

    Empty when there is nothing to send: the message is gone, is not a person's, was decided
    already, an admin opened or answered the chat after it, or no staff member wants the alert.
    """
    head = SupportMessage.objects.filter(id=message_id).values("chat_id", "sender_type").first()
    if head is None or head["sender_type"] != SenderType.USER:
        return []
    now = timezone.now()
    with transaction.atomic():
        try:
            chat = chat_lock(head["chat_id"])
        except NotFoundError:
            return []
        undecided = list(
            SupportMessage.objects.filter(
                chat=chat, sender_type=SenderType.USER, staff_alert_decision__isnull=True
            )
            .order_by("created_at", "id")
            .values_list("id", "created_at")
        )
        if message_id not in {pending_id for pending_id, _ in undecided}:
            return []
        handled_at, how = _handled_at(chat)
        handled = [m for m, at in undecided if handled_at is not None and at <= handled_at]
        waiting = [m for m, at in undecided if handled_at is None or at > handled_at]
        StaffAlertDecision.objects.bulk_create(
            StaffAlertDecision(message_id=m, skip_reason=how, decided_at=now) for m in handled
        )
        if message_id not in waiting:
            logger.info("message %s: no staff alert (%s)", message_id, how.value)
            return []
        staff = list(_recipients(chat).values_list("pk", "email"))
        if not staff:
            StaffAlertDecision.objects.bulk_create(
                StaffAlertDecision(message_id=m, skip_reason=StaffAlertSkip.NOBODY, decided_at=now)
                for m in waiting
            )
            logger.info("message %s: no staff alert (nobody wants it)", message_id)
            return []
        alert = StaffAlert.objects.create(chat=chat, created_at=now)
        StaffAlertDecision.objects.bulk_create(
            StaffAlertDecision(message_id=m, alert=alert, decided_at=now) for m in waiting
        )
        queued = StaffAlertEmail.objects.bulk_create(
            StaffAlertEmail(
                alert=alert,
                staff_id=pk,
                to_address=address,
                status=EmailStatus.QUEUED,
                next_attempt_at=now,
            )
            for pk, address in staff
        )
    logger.info(
        "message %s: staff alert %s for %d messages to %d staff",
        message_id,
        alert.id,
        len(waiting),
        len(queued),
    )
    return [email.id for email in queued]


# --- sending -------------------------------------------------------------------------------------


def staff_alert_deliver(*, email_id: uuid.UUID) -> Delivery:
    """One attempt at a queued staff alert email that is due; cancelled if an admin opened or
    answered the chat since the alert was decided, or its staff member is no longer staff."""
    if not email_claim(StaffAlertEmail, email_id):
        return Delivery(Outcome.NOT_CLAIMED)
    email = StaffAlertEmail.objects.select_related("alert__chat__user__contact", "staff").get(
        id=email_id
    )
    chat = email.alert.chat
    handled_at, how = _handled_at(chat)
    if handled_at is not None and handled_at >= email.alert.created_at:
        return email_cancel(StaffAlertEmail, email_id, how)
    if not (email.staff.is_active and email.staff.is_staff):
        return email_cancel(StaffAlertEmail, email_id, StaffAlertSkip.REVOKED)
    messages = list(
        SupportMessage.objects.filter(staff_alert_decision__alert=email.alert_id)
        .order_by("created_at", "id")
        .values_list("content", "created_at")
    )
    reader = (
        StaffAlertPreference.objects.filter(user=email.staff_id)
        .values("language", "time_zone")
        .first()
    ) or {"language": "", "time_zone": ""}
    chat_url = settings.SITE_URL + reverse("chats:detail", args=[chat.id])

    def build() -> EmailMultiAlternatives:
        # The content too is made in the staff member's language ("a guest").
        with emails.reader_locale(reader["language"], reader["time_zone"]):
            return emails.staff_alert_build(
                emails.StaffAlertContent(
                    to=email.to_address,
                    name=email.staff.first_name,
                    person=person_label(chat.user),
                    messages=[content for content, _ in messages],
                    sent_at=[created_at for _, created_at in messages],
                    chat_url=chat_url,
                    preferences_url=settings.SITE_URL + reverse("chats:list"),
                    site_name=links.host_of(settings.SITE_URL),
                    message_id=links.email_message_id(email.id),
                    metadata={"desk_staff_alert_email": str(email.id)},
                    language=reader["language"],
                    time_zone=reader["time_zone"],
                )
            )

    delivery = email_send(StaffAlertEmail, email, address=email.to_address, build=build)
    if delivery.outcome is Outcome.SENT:
        logger.info("staff alert email %s: sent to staff %s", email_id, email.staff_id)
    return delivery


def person_label(user: User) -> str:
    """How a staff alert names the person: their name, else their email, else "a guest" (in the
    active language: staff_alert_deliver calls it in the staff member's)."""
    try:
        contact: Contact | None = user.contact
    except Contact.DoesNotExist:
        contact = None
    if contact is not None:
        return contact.name or contact.email or user.email or str(A_GUEST)
    return user.get_full_name() or user.email or user.get_username()


# --- recovering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffAlertSweep:
    # One per chat: its oldest undecided message past its wait.
    messages: list[uuid.UUID] = field(default_factory=list)
    emails: list[uuid.UUID] = field(default_factory=list)
    interrupted: int = 0


def staff_alerts_sweep() -> StaffAlertSweep:
    """What lost tasks left behind, as reply_emails_sweep finds it for replies: a message counts
    as lost one sweep interval after its wait ended; older than the lookback, it is left alone."""
    now = timezone.now()
    slack = timedelta(seconds=settings.DESK_REPLY_SWEEP_INTERVAL)
    due = now - timedelta(seconds=settings.DESK_STAFF_ALERT_DELAY) - slack
    since = now - timedelta(seconds=settings.DESK_REPLY_SWEEP_LOOKBACK)
    lost = SupportMessage.objects.filter(
        sender_type=SenderType.USER,
        staff_alert_decision__isnull=True,
        created_at__gte=since,
        created_at__lte=due,
    ).order_by("created_at", "id")
    oldest_by_chat: dict[uuid.UUID, uuid.UUID] = {}
    for message_id, chat_id in lost.values_list("id", "chat_id")[:SWEEP_BATCH]:
        oldest_by_chat.setdefault(chat_id, message_id)
    overdue = emails_overdue(StaffAlertEmail, before=now - slack)
    interrupted = emails_stuck_fail(StaffAlertEmail, now=now)
    if oldest_by_chat or overdue or interrupted:
        logger.warning(
            "sweep: %d lost messages for staff alerts, %d overdue alert emails, %d interrupted",
            len(oldest_by_chat),
            len(overdue),
            interrupted,
        )
    return StaffAlertSweep(list(oldest_by_chat.values()), overdue, interrupted)


def staff_alerts_move(*, source: SupportChat, target: SupportChat) -> None:
    """A guest's chat joined a person's: its alerts belong to the person's chat now."""
    StaffAlert.objects.filter(chat=source).update(chat=target)
