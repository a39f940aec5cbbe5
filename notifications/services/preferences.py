"""Who may be written to: the user's unsubscribe choice, and addresses the provider reported."""

from __future__ import annotations

import logging
import re

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.utils import timezone

from notifications.models import EmailPreference, SuppressedAddress, SuppressionReason

logger = logging.getLogger(__name__)

DESCRIPTION_MAX_LENGTH = 2000


def address_normalize(address: str) -> str:
    """Addresses compare case-insensitively: mailbox providers treat them so."""
    return address.strip().lower()


# What unsubscribe_token_new makes (URL-safe base64), within the column's length. A token of any
# other shape matches no one, and is not sent to the database: PostgreSQL fails a query holding
# a NUL instead of finding nothing.
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")
TOKEN_MAX_LENGTH = int(
    getattr(EmailPreference._meta.get_field("unsubscribe_token"), "max_length", 0) or 0
)


def preference_by_token(*, token: str) -> EmailPreference | None:
    """The preference an unsubscribe link's token names, or None for any other string."""
    if len(token) > TOKEN_MAX_LENGTH or not TOKEN_CHARACTERS.fullmatch(token):
        return None
    return EmailPreference.objects.filter(unsubscribe_token=token).first()


def email_unsubscribe(*, preference: EmailPreference) -> EmailPreference:
    """Stop reply emails for the preference's user. Unsubscribing twice keeps the first date."""
    now = timezone.now()
    EmailPreference.objects.filter(pk=preference.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=now, updated_at=now
    )
    preference.refresh_from_db()
    return preference


def email_resubscribe(*, preference: EmailPreference) -> EmailPreference:
    """Start reply emails again for the preference's user."""
    EmailPreference.objects.filter(pk=preference.pk).update(
        unsubscribed_at=None, updated_at=timezone.now()
    )
    preference.refresh_from_db()
    return preference


def address_suppress(
    *,
    address: str,
    reason: SuppressionReason,
    esp_name: str = "",
    provider_message_id: str = "",
    description: str = "",
) -> SuppressedAddress:
    """Stop writing to `address` (any letter case). A later report updates the record."""
    suppressed, _ = SuppressedAddress.objects.update_or_create(
        address=address_normalize(address),
        defaults={
            "reason": reason,
            "esp_name": esp_name[:50],
            "provider_message_id": provider_message_id[:255],
            "description": description[:DESCRIPTION_MAX_LENGTH],
        },
    )
    logger.warning("address suppressed after %s reported by %s", reason.value, esp_name or "?")
    return suppressed


def tracking_event_record(
    *, event: AnymailTrackingEvent, esp_name: str
) -> SuppressedAddress | None:
    """Suppress the recipient of a bounce or a complaint; ignore every other tracking event.

    A rejection because of an earlier bounce or complaint (the provider's own suppression list)
    counts too: the address is just as dead.
    """
    reason = None
    if event.event_type == EventType.BOUNCED:
        reason = SuppressionReason.BOUNCED
    elif event.event_type == EventType.COMPLAINED:
        reason = SuppressionReason.COMPLAINED
    elif event.event_type == EventType.REJECTED and event.reject_reason == RejectReason.BOUNCED:
        reason = SuppressionReason.BOUNCED
    elif event.event_type == EventType.REJECTED and event.reject_reason == RejectReason.SPAM:
        reason = SuppressionReason.COMPLAINED
    if reason is None or not event.recipient:
        return None
    return address_suppress(
        address=event.recipient,
        reason=reason,
        esp_name=esp_name,
        provider_message_id=str(event.message_id or ""),
        description=" ".join(part for part in (event.description, event.mta_response) if part),
    )
