"""Unsubscribing: one click from the mail client's button (RFC 8058), or the footer's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from freezegun import freeze_time

from chats.models import SupportMessage
from notifications.models import EmailPreference, SkipReason
from tests.notifications.conftest import START

Notify = Callable[[SupportMessage], None]


@pytest.fixture
def sent(reply: Callable[[str], SupportMessage], notify: Notify, mailoutbox: list[Any]) -> Any:
    """The reply email sent to Ann at 10:05:00."""
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:00")
        notify(message)
    return mailoutbox[0]


@pytest.fixture
def header_url(sent: Any) -> str:
    """The path in the email's List-Unsubscribe header."""
    return urlsplit(sent.extra_headers["List-Unsubscribe"].strip("<>")).path


@pytest.fixture
def mail_client() -> Client:
    """A mailbox provider's server: no cookies, no CSRF token."""
    return Client(enforce_csrf_checks=True)


def unsubscribed(user: Any) -> bool:
    return EmailPreference.objects.get(user=user).unsubscribed_at is not None


def test_the_one_click_post_from_the_header_unsubscribes(
    header_url: str, mail_client: Client, user: Any
) -> None:
    response = mail_client.post(header_url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert unsubscribed(user)


def test_the_footer_of_both_parts_links_to_the_same_page(
    sent: Any, header_url: str, settings: Any
) -> None:
    assert sent.body.rstrip().endswith(f"Stop these emails: {settings.SITE_URL}{header_url}")
    assert f'href="{settings.SITE_URL}{header_url}"' in sent.alternatives[0].content


def test_opening_the_footer_link_asks_first_and_changes_nothing(
    header_url: str, mail_client: Client, user: Any
) -> None:
    # Link scanners in mail systems open every link; a GET must not unsubscribe anyone.
    response = mail_client.get(header_url)

    assert response.status_code == 200
    assert b"Stop reply emails?" in response.content
    assert not unsubscribed(user)


def test_the_footer_pages_button_unsubscribes(
    header_url: str, mail_client: Client, user: Any
) -> None:
    response = mail_client.post(header_url, {"action": "unsubscribe"})

    assert b"You're unsubscribed" in response.content
    assert unsubscribed(user)


def test_the_unsubscribed_page_offers_to_resubscribe_and_does(
    header_url: str, mail_client: Client, user: Any
) -> None:
    mail_client.post(header_url, {"List-Unsubscribe": "One-Click"})
    page = mail_client.get(header_url)
    assert b"Email me about replies again" in page.content

    response = mail_client.post(header_url, {"action": "resubscribe"})

    assert b"You'll get reply emails again" in response.content
    assert not unsubscribed(user)


def test_unsubscribing_twice_keeps_the_first_date(
    header_url: str, mail_client: Client, user: Any
) -> None:
    with freeze_time("2026-01-30 08:00:00"):
        mail_client.post(header_url, {"List-Unsubscribe": "One-Click"})
    with freeze_time("2026-01-31 08:00:00"):
        mail_client.post(header_url, {"List-Unsubscribe": "One-Click"})

    stored = EmailPreference.objects.get(user=user).unsubscribed_at
    assert stored is not None
    assert stored.isoformat() == "2026-01-30T08:00:00+00:00"


def test_an_unknown_token_gets_a_friendly_not_found_page(mail_client: Client, db: None) -> None:
    response = mail_client.post("/email/u/not-a-real-token0", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 404
    assert b"This link doesn't work" in response.content


def test_after_unsubscribing_from_an_email_the_next_reply_sends_none(
    header_url: str,
    mail_client: Client,
    reply: Callable[[str], SupportMessage],
    notify: Notify,
    mailoutbox: list[Any],
) -> None:
    mail_client.post(header_url, {"List-Unsubscribe": "One-Click"})
    with freeze_time("2026-01-29 11:00:00") as clock:
        later = reply("Anything else I can help with?")
        clock.move_to("2026-01-29 11:05:00")
        notify(later)

    assert len(mailoutbox) == 1
    assert later.email_decision.skip_reason == SkipReason.UNSUBSCRIBED
