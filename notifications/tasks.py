"""Celery tasks for desk's emails. Each takes primary keys, re-reads the rows, and is safe to run
twice: the services claim their work in the database before doing it.

Task names are spelled out so that renaming a function never strands tasks already queued.
"""

from __future__ import annotations

import logging
import uuid

from celery import shared_task

from desk import metrics
from notifications import heartbeat, services

logger = logging.getLogger(__name__)


@shared_task(name="notifications.reply_notify", ignore_result=True)
def reply_notify(message_id: str) -> None:
    """A reply's window has ended: decide about it and, if an email is due, make its first try."""
    email = services.reply_email_claim(message_id=uuid.UUID(message_id))
    if email is not None:
        _deliver(email.id)


@shared_task(name="notifications.reply_email_send", ignore_result=True)
def reply_email_send(email_id: str) -> None:
    """Another try at a queued email: a retry after a provider error, or one the sweep found."""
    _deliver(uuid.UUID(email_id))


@shared_task(name="notifications.contact_email_send", ignore_result=True)
def contact_email_send(email_id: str) -> None:
    """An attempt at a queued email to an embedded person (address confirmation, guest link)."""
    delivery = services.contact_email_deliver(email_id=uuid.UUID(email_id))
    _counted("contact", delivery)
    if delivery.outcome is services.Outcome.RETRY:
        # As for reply emails: next_attempt_at decides, the sweep finds a lost retry.
        contact_email_send.apply_async(args=[email_id], countdown=delivery.retry_in)


@shared_task(name="notifications.staff_alert_notify", ignore_result=True)
def staff_alert_notify(message_id: str) -> None:
    """A person's message has waited DESK_STAFF_ALERT_DELAY: decide about it and, if staff are
    to be alerted, make each email's first try."""
    for email_id in services.staff_alert_claim(message_id=uuid.UUID(message_id)):
        _deliver_alert(email_id)


@shared_task(name="notifications.staff_alert_email_send", ignore_result=True)
def staff_alert_email_send(email_id: str) -> None:
    """Another try at a queued staff alert email: a retry, or one the sweep found."""
    _deliver_alert(uuid.UUID(email_id))


@shared_task(name="notifications.reply_emails_sweep", ignore_result=True)
def reply_emails_sweep() -> None:
    """Beat runs this every DESK_REPLY_SWEEP_INTERVAL seconds to recover lost tasks, for reply
    emails, contact emails and staff alerts alike."""
    found = services.reply_emails_sweep()
    for message_id in found.replies:
        reply_notify.apply_async(args=[str(message_id)])
    for email_id in found.emails:
        reply_email_send.apply_async(args=[str(email_id)])
    for email_id in services.contact_emails_sweep().emails:
        contact_email_send.apply_async(args=[str(email_id)])
    alerts = services.staff_alerts_sweep()
    for message_id in alerts.messages:
        staff_alert_notify.apply_async(args=[str(message_id)])
    for email_id in alerts.emails:
        staff_alert_email_send.apply_async(args=[str(email_id)])
    heartbeat.sweep_ran()


def _deliver(email_id: uuid.UUID) -> None:
    delivery = services.reply_email_deliver(email_id=email_id)
    _counted("reply", delivery)
    if delivery.outcome is services.Outcome.RETRY:
        # The email's next_attempt_at is the source of truth: if this scheduled retry is lost,
        # the sweep finds the overdue email; if it arrives twice, only one attempt claims it.
        reply_email_send.apply_async(args=[str(email_id)], countdown=delivery.retry_in)


def _deliver_alert(email_id: uuid.UUID) -> None:
    delivery = services.staff_alert_deliver(email_id=email_id)
    _counted("staff_alert", delivery)
    if delivery.outcome is services.Outcome.RETRY:
        staff_alert_email_send.apply_async(args=[str(email_id)], countdown=delivery.retry_in)


def _counted(kind: str, delivery: services.Delivery) -> None:
    # An attempt another caller had claimed already is nobody's attempt.
    if delivery.outcome is not services.Outcome.NOT_CLAIMED:
        metrics.EMAILS.labels(kind, delivery.outcome.value).inc()
