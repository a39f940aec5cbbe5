"""Bounces and complaints reported by the provider stop further emails to that address."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason, tracking
from django.test import Client

from notifications.models import SuppressedAddress, SuppressionReason

SECRET = "hook-user:hook-password"


def report(event_type: str, recipient: str = "ann@example.com", **extra: Any) -> None:
    """The provider's webhook, as anymail hands it to desk after checking it."""
    event = AnymailTrackingEvent(
        event_type=event_type, recipient=recipient, message_id="pm-1234", **extra
    )
    tracking.send(sender=object, event=event, esp_name="Postmark")


def suppressed() -> dict[str, str]:
    return dict(SuppressedAddress.objects.values_list("address", "reason"))


def test_a_bounce_suppresses_the_address(db: None) -> None:
    report(EventType.BOUNCED, description="The server was unable to deliver your message")

    stored = SuppressedAddress.objects.get()
    assert (stored.address, stored.reason) == ("ann@example.com", SuppressionReason.BOUNCED)
    assert (stored.esp_name, stored.provider_message_id) == ("Postmark", "pm-1234")
    assert "unable to deliver" in stored.description


def test_a_complaint_suppresses_the_address(db: None) -> None:
    report(EventType.COMPLAINED)

    assert suppressed() == {"ann@example.com": SuppressionReason.COMPLAINED}


def test_a_rejection_for_an_earlier_bounce_suppresses_the_address(db: None) -> None:
    report(EventType.REJECTED, reject_reason=RejectReason.BOUNCED)

    assert suppressed() == {"ann@example.com": SuppressionReason.BOUNCED}


@pytest.mark.parametrize(
    "event_type",
    [EventType.DELIVERED, EventType.OPENED, EventType.CLICKED, EventType.DEFERRED],
)
def test_other_tracking_events_change_nothing(event_type: str, db: None) -> None:
    report(event_type)

    assert suppressed() == {}


def test_an_address_is_suppressed_once_whatever_its_letter_case(db: None) -> None:
    report(EventType.BOUNCED, recipient="Ann@Example.COM")
    report(EventType.COMPLAINED, recipient="ann@example.com")

    assert suppressed() == {"ann@example.com": SuppressionReason.COMPLAINED}


# --- the webhook URL -----------------------------------------------------------------------------

BOUNCE = {
    "RecordType": "Bounce",
    "Type": "HardBounce",
    "TypeCode": 1,
    "ID": 4323372036854775807,
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox "
    "not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "Email": "ann@example.com",
    "BouncedAt": "2026-01-29T10:05:03Z",
}
TRACKING_URL = "/email/anymail/postmark/tracking/"


def post_webhook(credentials: str | None) -> Any:
    headers = {}
    if credentials is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    return Client(enforce_csrf_checks=True).post(
        TRACKING_URL, json.dumps(BOUNCE), content_type="application/json", headers=headers
    )


def test_the_webhook_is_off_until_a_secret_is_set(settings: Any, db: None) -> None:
    settings.ANYMAIL = {}

    assert post_webhook(None).status_code == 404
    assert suppressed() == {}


def test_the_webhook_refuses_wrong_credentials(settings: Any, db: None) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}

    assert post_webhook("hook-user:guess").status_code == 400
    assert post_webhook(None).status_code == 400
    assert suppressed() == {}


def test_a_bounce_posted_to_the_webhook_suppresses_the_address(settings: Any, db: None) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}

    assert post_webhook(SECRET).status_code == 200
    assert suppressed() == {"ann@example.com": SuppressionReason.BOUNCED}
