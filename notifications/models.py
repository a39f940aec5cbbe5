"""The email records: what was decided for each admin reply, what became of each email, and the
emails an embedded person gets about their address or a link support made for them.

Two claims make an email go out at most once:
- `ReplyDecision` has the reply as its primary key, so a reply is decided (emailed or skipped)
  exactly once, whichever worker gets there first.
- `status` (of a ReplyEmail or a ContactEmail) moves QUEUED -> SENDING through a conditional
  update, so one attempt at a time owns an email, and an email that was handed to the provider is
  never handed over again.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from chats.models import Contact, SupportChat, SupportMessage


class SkipReason(models.TextChoices):
    READ = "read", "Read before the email was due"
    ARCHIVED = "archived", "Chat archived"
    INACTIVE = "inactive", "User account deactivated"
    NO_EMAIL = "no_email", "User has no email address"
    UNSUBSCRIBED = "unsubscribed", "User unsubscribed from reply emails"
    SUPPRESSED = "suppressed", "Address bounced or complained"


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled before sending"


class OutgoingEmail(models.Model):
    """What every email desk sends keeps: its claim (QUEUED -> SENDING) and its outcome.

    notifications.services.sending claims, sends and records any of them the same way.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    to_address = models.EmailField(blank=True)
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # The earliest moment the next attempt may start: a retry that arrives early waits its turn.
    next_attempt_at = models.DateTimeField()
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Blank when the backend reports none (console, file, SMTP).
    provider_message_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ReplyEmail(OutgoingEmail):
    """One "New reply from Support" email: the replies it lists hang off it as decisions."""

    chat = models.ForeignKey(SupportChat, on_delete=models.CASCADE, related_name="reply_emails")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reply_emails"
    )
    cancel_reason = models.CharField(max_length=12, choices=SkipReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["chat", "-created_at"], name="reply_email_chat_idx"),
            models.Index(fields=["user", "-created_at"], name="reply_email_user_idx"),
            # The sweep's two questions, kept to the few rows still in flight.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="reply_email_queued_idx",
            ),
            models.Index(
                fields=["sending_since"],
                condition=Q(status="sending"),
                name="reply_email_sending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EmailStatus.values), name="reply_email_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Reply email to {self.to_address or self.user_id} ({self.status})"


class ReplyDecision(models.Model):
    """What was decided for one admin reply: listed in an email, or skipped and why."""

    # The primary key is the reply itself: a second decision for it cannot be written.
    message = models.OneToOneField(
        SupportMessage,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="email_decision",
    )
    # RESTRICT: deleting an email's record alone would let the sweep email its replies a second
    # time; deleting the chat or the user (which takes the replies too) still works.
    email = models.ForeignKey(
        ReplyEmail,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="decisions",
    )
    skip_reason = models.CharField(max_length=12, choices=SkipReason.choices, blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(email__isnull=False) & Q(skip_reason=""))
                | (Q(email__isnull=True) & ~Q(skip_reason="")),
                name="reply_decision_emailed_xor_skipped",
            ),
        ]

    def __str__(self) -> str:
        if self.email_id is not None:
            return f"Reply {self.message_id}: in email {self.email_id}"
        return f"Reply {self.message_id}: skipped ({self.skip_reason})"


class ClickOutcome(models.TextChoices):
    LOGIN_REQUIRED = "login_required", "Sent to the login page"
    OPENED = "opened", "Opened by its user"
    # An embedded person (a chats.models.Contact) has no desk session: the signed link is enough.
    CONTACT_OPENED = "contact_opened", "Opened from the link by its embedded person"
    OTHER_USER = "other_user", "Refused: another user was logged in"
    EXPIRED = "expired", "Refused: link expired"


class ReplyEmailClick(models.Model):
    """One click on the "open the conversation" link of an email."""

    email = models.ForeignKey(ReplyEmail, on_delete=models.CASCADE, related_name="clicks")
    # Whoever was logged in when the link was opened (none for the login redirect, and none for
    # an embedded person, who never logs in).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(max_length=14, choices=ClickOutcome.choices)
    marked_read = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email", "-created_at"], name="reply_click_email_idx")]

    def __str__(self) -> str:
        return f"Click on {self.email_id}: {self.outcome}"


def unsubscribe_token_new() -> str:
    # 96 random bits in 16 URL-safe characters: short enough that the List-Unsubscribe header
    # stays on one plain-ASCII line (see notifications.checks).
    return secrets.token_urlsafe(12)


class EmailPreference(models.Model):
    """A user's choice about reply emails, and the token their unsubscribe links carry."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="email_preference",
    )
    unsubscribe_token = models.CharField(
        max_length=32, unique=True, default=unsubscribe_token_new, editable=False
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        state = "unsubscribed" if self.unsubscribed_at else "subscribed"
        return f"{self.user} ({state})"


class SuppressionReason(models.TextChoices):
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Marked as spam"


class SuppressedAddress(models.Model):
    """An address the provider reported as bouncing or complaining: desk stops writing to it.

    Delete the row in the admin to write to the address again.
    """

    # Stored lower-cased: mailbox providers treat addresses case-insensitively.
    address = models.CharField(max_length=254, unique=True)
    reason = models.CharField(max_length=10, choices=SuppressionReason.choices)
    esp_name = models.CharField(max_length=50, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "suppressed addresses"
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.address} ({self.reason})"


class ContactEmailKind(models.TextChoices):
    CONFIRMATION = "confirmation", "Address confirmation"
    INVITATION = "invitation", "Guest link from support"


class ContactEmailCancel(models.TextChoices):
    INACTIVE = "inactive", "Person deactivated"
    NO_EMAIL = "no_email", "No address to write to"
    CHANGED = "changed", "Address changed since"
    CONFIRMED = "confirmed", "Address confirmed already"
    SUPPRESSED = "suppressed", "Address bounced or complained"


class ContactEmail(OutgoingEmail):
    """An email to an embedded person about their chat itself, not a reply: the link that confirms
    a guest's address, or the guest link support made for them. Deleting the person deletes these.
    """

    kind = models.CharField(max_length=12, choices=ContactEmailKind.choices)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    # The admin who asked for a guest link to be emailed (kept for the record, never shown to
    # the guest: people never learn which admin did something).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancel_reason = models.CharField(max_length=10, choices=ContactEmailCancel.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The hourly rule's question: what went to this contact's address lately.
            models.Index(
                fields=["contact", "kind", "-created_at"], name="contact_email_recent_idx"
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="contact_email_queued_idx",
            ),
            models.Index(
                fields=["sending_since"],
                condition=Q(status="sending"),
                name="contact_email_sending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EmailStatus.values), name="contact_email_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ContactEmailKind.values), name="contact_email_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address} ({self.status})"


class InboundOutcome(models.TextChoices):
    POSTED = "posted", "Posted to the chat"
    IGNORED = "ignored", "Ignored"


class InboundIgnored(models.TextChoices):
    AUTO_REPLY = "auto_reply", "Automatic reply (out of office, autoresponder, bulk mail)"
    BOUNCE = "bounce", "Bounce or delivery report"
    NO_REPLY_ADDRESS = "no_reply_address", "Not sent to a reply address"
    INVALID_ADDRESS = "invalid_address", "Reply address not made by desk (forged or altered)"
    UNKNOWN_CHAT = "unknown_chat", "The chat no longer exists"
    WRONG_SENDER = "wrong_sender", "Sender is not the chat's person"
    INACTIVE = "inactive", "The person is deactivated"
    EMPTY = "empty", "Nothing new once quotes and signature were cut"
    RATE_LIMITED = "rate_limited", "Over the person's message allowance"


class InboundEmail(models.Model):
    """An email a provider posted to an inbound webhook, and what desk did with it.

    A reply posted to the chat links the message it became; an ignored one says why. The provider's
    Message-ID is unique, so a webhook delivered twice (a provider's retry) posts once. Deleting
    the chat deletes its records; records of emails that named no chat stay until deleted here.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    received_at = models.DateTimeField(auto_now_add=True)
    esp_name = models.CharField("provider", max_length=50)
    # The sender's Message-ID header, as sent (None when it had none).
    message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    sender = models.CharField(max_length=254, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    # The reply once quotes and signature were cut (what was posted, or would have been).
    text = models.TextField(blank=True)
    outcome = models.CharField(max_length=7, choices=InboundOutcome.choices)
    ignored_reason = models.CharField(max_length=16, choices=InboundIgnored.choices, blank=True)
    chat = models.ForeignKey(
        SupportChat,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbound_emails",
    )
    # The chat message it became.
    posted = models.OneToOneField(
        SupportMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_email",
    )

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["chat", "-received_at"], name="inbound_email_chat_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(outcome=InboundOutcome.POSTED) & Q(ignored_reason=""))
                | (Q(outcome=InboundOutcome.IGNORED) & ~Q(ignored_reason="")),
                name="inbound_email_posted_xor_ignored",
            ),
        ]

    def __str__(self) -> str:
        return f"Email from {self.sender or 'nobody'} ({self.outcome})"


# --- staff alerts --------------------------------------------------------------------------------


class StaffAlertScope(models.TextChoices):
    ALL = "all", "Every new message"
    ANSWERED = "answered", "Only chats I have answered"
    NONE = "none", "None"


class StaffAlertSkip(models.TextChoices):
    OPENED = "opened", "An admin opened the chat in time"
    ANSWERED = "answered", "An admin answered in time"
    NOBODY = "nobody", "No staff member wants an alert about this chat"
    REVOKED = "revoked", "The staff member is no longer staff or active"


class StaffAlertPreference(models.Model):
    """Which new messages a staff member is emailed about (without a row, every one), and the
    language and time zone their alerts are written in: their dashboard's, recorded as it opens
    (empty until then: the settings')."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="staff_alert_preference",
    )
    scope = models.CharField(
        max_length=8, choices=StaffAlertScope.choices, default=StaffAlertScope.ALL
    )
    language = models.CharField(max_length=8, blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=StaffAlertScope.values), name="staff_alert_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_scope_display()}"


class StaffAlert(models.Model):
    """One alert about a burst of a person's messages that nobody opened or answered in time.

    The messages it lists hang off it as decisions; the email to each staff member who wanted it
    as StaffAlertEmails.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chat = models.ForeignKey(SupportChat, on_delete=models.CASCADE, related_name="staff_alerts")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["chat", "-created_at"], name="staff_alert_chat_idx")]

    def __str__(self) -> str:
        return f"Staff alert about chat {self.chat_id}"


class StaffAlertEmail(OutgoingEmail):
    """The "New message from ..." email of one alert to one staff member."""

    alert = models.ForeignKey(StaffAlert, on_delete=models.CASCADE, related_name="emails")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_alert_emails"
    )
    cancel_reason = models.CharField(max_length=8, choices=StaffAlertSkip.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="staff_alert_email_queued_idx",
            ),
            models.Index(
                fields=["sending_since"],
                condition=Q(status="sending"),
                name="staff_alert_email_sending_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["alert", "staff"], name="staff_alert_email_once"),
            models.CheckConstraint(
                condition=Q(status__in=EmailStatus.values), name="staff_alert_email_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Staff alert to {self.to_address or self.staff_id} ({self.status})"


class StaffAlertDecision(models.Model):
    """What was decided for one of a person's messages: listed in an alert, or skipped and why."""

    # The message is the primary key: it is decided once, whichever worker gets there first.
    message = models.OneToOneField(
        SupportMessage,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="staff_alert_decision",
    )
    # RESTRICT, as for reply emails: deleting an alert alone would let the sweep alert again.
    alert = models.ForeignKey(
        StaffAlert,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="decisions",
    )
    skip_reason = models.CharField(max_length=8, choices=StaffAlertSkip.choices, blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(alert__isnull=False) & Q(skip_reason=""))
                | (Q(alert__isnull=True) & ~Q(skip_reason="")),
                name="staff_alert_decision_alerted_xor_skipped",
            ),
        ]

    def __str__(self) -> str:
        if self.alert_id is not None:
            return f"Message {self.message_id}: in alert {self.alert_id}"
        return f"Message {self.message_id}: no alert ({self.skip_reason})"
