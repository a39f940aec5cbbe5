"""Django admin answers "why did this customer not get an email?"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from freezegun import freeze_time

from chats import services as chat_services
from chats.models import SupportChat, SupportMessage
from notifications.models import ReplyEmail
from tests.notifications.conftest import START


def test_a_skipped_reply_shows_why_when_support_searches_the_customer(
    staff_browser: Client,
    reply: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
    admin: Any,
    chat: SupportChat,
) -> None:
    with freeze_time(START):
        message = reply("Closing this one.")
        chat_services.chat_archive(admin=admin, chat_id=chat.id)
        notify(message)

    page = staff_browser.get("/admin/notifications/replydecision/", {"q": "ann@example.com"})

    assert page.status_code == 200
    assert b"No email: Chat archived" in page.content


def test_a_sent_email_shows_its_replies_provider_id_and_clicks(
    staff_browser: Client,
    reply: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
) -> None:
    notify(reply("Your refund is on its way."))
    email = ReplyEmail.objects.get()

    listing = staff_browser.get("/admin/notifications/replyemail/", {"q": "ann@example.com"})
    detail = staff_browser.get(f"/admin/notifications/replyemail/{email.id}/change/")

    assert listing.status_code == 200
    assert b"ann@example.com" in listing.content
    assert detail.status_code == 200
    assert b"Replies listed" in detail.content
    assert b"Reply email clicks" in detail.content


@pytest.mark.parametrize(
    "page",
    [
        "/admin/notifications/replyemailclick/",
        "/admin/notifications/emailpreference/",
        "/admin/notifications/suppressedaddress/",
    ],
)
def test_the_other_records_are_listed(staff_browser: Client, page: str) -> None:
    assert staff_browser.get(page).status_code == 200


def test_records_cannot_be_edited_by_hand(
    staff_browser: Client,
    reply: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
) -> None:
    notify(reply("Your refund is on its way."))
    email = ReplyEmail.objects.get()

    response = staff_browser.post(
        f"/admin/notifications/replyemail/{email.id}/change/", {"status": "queued"}
    )

    assert response.status_code == 403
    email.refresh_from_db()
    assert email.status == "sent"
