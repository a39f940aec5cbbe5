"""Claiming, sending and recording one email, whatever it is about (models.OutgoingEmail).

Every email desk sends goes the same way:
1. `email_claim`: a conditional update moves it from QUEUED (and due) to SENDING, attempts + 1;
   only the caller that changed the row goes on, so duplicate tasks, retries and the sweep can
   all ask at once.
2. The caller re-checks its own guards on fresh rows, then `email_send` builds the message and
   hands it to Django's mailer outside any transaction, and records SENT, FAILED, or QUEUED again
   with a later `next_attempt_at` after a provider error.
3. `emails_stuck_fail` (the sweep) records as FAILED what a dead worker left in SENDING.
"""

from __future__ import annotations

import logging
import re
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from anymail.exceptions import (
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailSerializationError,
    AnymailUnsupportedFeature,
)
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone

from notifications.models import EmailStatus, OutgoingEmail

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
ERROR_MAX_LENGTH = 2000
INTERRUPTED = (
    "The attempt stopped during the send (worker lost or out of time). Not retried: the provider "
    "may have accepted the email, and a second copy is worse than none."
)

# Errors that another attempt would meet again: record them as failed at once.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    AnymailRecipientsRefused,
    AnymailInvalidAddress,
    AnymailUnsupportedFeature,
    AnymailSerializationError,
    ImproperlyConfigured,
    smtplib.SMTPRecipientsRefused,
    # Django's BadHeaderError is ValueError: the message cannot be written out (a header with a
    # line break, say) and never will be. anymail's own invalid-input errors are ValueErrors too;
    # its provider and network errors are not.
    ValueError,
)
# No mailbox address holds a control character; a CR or LF would split the To: header.
ADDRESS_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

Email = type[OutgoingEmail]


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_CLAIMED = "not_claimed"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed attempt: the base delay, doubling."""
    return int(settings.DESK_REPLY_EMAIL_RETRY_DELAY * 2 ** (attempts - 1))


def email_claim(model: Email, email_id: uuid.UUID) -> bool:
    """Take a queued email that is due for one attempt; True for the one caller that took it."""
    now = timezone.now()
    claimed = model._default_manager.filter(
        id=email_id, status=EmailStatus.QUEUED, next_attempt_at__lte=now
    ).update(
        status=EmailStatus.SENDING, attempts=F("attempts") + 1, sending_since=now, updated_at=now
    )
    return claimed == 1


def email_cancel(model: Email, email_id: uuid.UUID, reason: str) -> Delivery:
    """A claimed email that its guards now forbid: recorded as cancelled, with why."""
    email_finish(model, email_id, EmailStatus.CANCELLED, cancel_reason=reason)
    return Delivery(Outcome.CANCELLED)


def email_send(
    model: Email,
    email: OutgoingEmail,
    *,
    address: str,
    build: Callable[[], EmailMessage],
) -> Delivery:
    """Build and send a claimed email to `address`, outside any transaction; record the outcome.

    A provider error (API error, connection refused, SMTP trouble) means the email was not
    accepted: it is queued again for a later attempt, up to DESK_REPLY_EMAIL_MAX_ATTEMPTS.
    Anything a retry would meet again fails it at once.
    """
    if ADDRESS_CONTROL_CHARACTERS.search(address):
        # Checked before any backend sees it: one that did not refuse the address might take
        # the line break as the start of a header of the user's choosing.
        logger.warning("email %s: the address holds a control character", email.id)
        email_finish(
            model,
            email.id,
            EmailStatus.FAILED,
            last_error=f"Invalid address {address!r}: it holds a control character.",
        )
        return Delivery(Outcome.FAILED)
    try:
        message = build()
    except Exception as exc:
        logger.exception("email %s: could not be built", email.id)
        email_finish(model, email.id, EmailStatus.FAILED, last_error=_describe(exc))
        return Delivery(Outcome.FAILED)

    try:
        message.send()
    except SoftTimeLimitExceeded:
        email_finish(model, email.id, EmailStatus.FAILED, last_error=INTERRUPTED)
        return Delivery(Outcome.FAILED)
    except PERMANENT_ERRORS as exc:
        logger.warning("email %s: refused for good: %s", email.id, exc)
        email_finish(model, email.id, EmailStatus.FAILED, last_error=_describe(exc))
        return Delivery(Outcome.FAILED)
    except Exception as exc:
        # The same email may be tried again later: it was not accepted.
        if email.attempts >= settings.DESK_REPLY_EMAIL_MAX_ATTEMPTS:
            logger.warning("email %s: giving up after %d attempts", email.id, email.attempts)
            email_finish(model, email.id, EmailStatus.FAILED, last_error=_describe(exc))
            return Delivery(Outcome.FAILED)
        wait = retry_delay(email.attempts)
        logger.warning("email %s: attempt %d failed, next in %ds", email.id, email.attempts, wait)
        email_finish(
            model,
            email.id,
            EmailStatus.QUEUED,
            next_attempt_at=timezone.now() + timedelta(seconds=wait),
            last_error=_describe(exc),
        )
        return Delivery(Outcome.RETRY, retry_in=wait)

    email_finish(
        model,
        email.id,
        EmailStatus.SENT,
        sent_at=timezone.now(),
        to_address=address,
        provider_message_id=_provider_message_id(message),
    )
    return Delivery(Outcome.SENT)


def email_finish(model: Email, email_id: uuid.UUID, status: EmailStatus, **fields: Any) -> None:
    updated = model._default_manager.filter(id=email_id, status=EmailStatus.SENDING).update(
        status=status, updated_at=timezone.now(), **fields
    )
    if updated != 1:
        logger.error("email %s: no longer SENDING when recording %s", email_id, status.value)


def emails_overdue(model: Email, *, before: datetime) -> list[uuid.UUID]:
    """Queued emails whose attempt was due before `before` (their task was lost): one batch."""
    return list(
        model._default_manager.filter(status=EmailStatus.QUEUED, next_attempt_at__lte=before)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )


def emails_stuck_fail(model: Email, *, now: datetime) -> int:
    """Record as failed the sends still running past the hard time limit plus one sweep
    interval: their worker died. Whether the provider accepted them is unknown, and a second
    copy is the worse error."""
    dead_after = timedelta(
        seconds=settings.CELERY_TASK_TIME_LIMIT + settings.DESK_REPLY_SWEEP_INTERVAL
    )
    return model._default_manager.filter(
        status=EmailStatus.SENDING, sending_since__lte=now - dead_after
    ).update(status=EmailStatus.FAILED, last_error=INTERRUPTED, updated_at=now)


def _provider_message_id(message: Any) -> str:
    # Django's console, file, SMTP and locmem backends report nothing; anymail's set a status.
    status = getattr(message, "anymail_status", None)
    message_id = getattr(status, "message_id", None)
    if message_id is None:
        return ""
    if isinstance(message_id, set):
        message_id = ",".join(sorted(str(part) for part in message_id))
    return str(message_id)[:255]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX_LENGTH]
