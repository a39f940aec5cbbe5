"""Embedded people's emails through a real Celery worker on the real Redis broker, with the reply
delay cut to 2 seconds (the worker helpers of test_worker.py): a guest's replies are emailed only
once the guest confirmed the address the worker sent the link to; an identified person's reply
email comes after the delay, and its button works with no session."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from chats import services as chat_services
from chats.embed import services as embed
from chats.embed.identity import Identity
from chats.models import SupportMessage
from notifications.models import (
    ContactEmail,
    EmailStatus,
    ReplyDecision,
    ReplyEmail,
    SkipReason,
)
from tests.notifications.conftest import Broker, open_link
from tests.notifications.contacts import confirm_link
from tests.notifications.test_worker import (  # the autouse fixture applies here too
    DELAY,
    PATIENCE,
    connections_closed_after_each_task,  # noqa: F401
    wait_until,
    worker,
)

pytestmark = pytest.mark.django_db(transaction=True)

RETURN_URL = "https://shop.example:8443/help#support-chat"


@pytest.fixture(autouse=True)
def short_delay(settings: Any) -> None:
    settings.DESK_REPLY_NOTIFICATION_DELAY = DELAY


def replies_sent() -> bool:
    return ReplyEmail.objects.filter(status=EmailStatus.SENT).exists()


def test_a_guests_confirmation_goes_out_and_replies_are_emailed_only_once_it_is_confirmed(
    broker: Broker, admin: Any, mailoutbox: list[Any]
) -> None:
    with worker():
        guest = embed.guest_create(client="127.0.0.1", name="Gus", email="gus@example.com")
        wait_until(lambda: len(mailoutbox) == 1)
        [confirmation] = mailoutbox
        assert confirmation.to == ["gus@example.com"]
        # Recorded just after the backend took it, in a transaction of its own.
        wait_until(lambda: ContactEmail.objects.get().status == EmailStatus.SENT)

        chat_services.user_message_post(user=guest.contact.user, content="Where is my parcel?")
        chat = chat_services.chat_get_or_create(user=guest.contact.user)
        unconfirmed = chat_services.admin_reply_post(
            admin=admin, chat_id=chat.id, content="It ships tomorrow."
        )
        wait_until(lambda: ReplyDecision.objects.filter(message=unconfirmed).exists())
        assert ReplyDecision.objects.get(message=unconfirmed).skip_reason == SkipReason.NO_EMAIL

        assert Client().get(confirm_link(confirmation)).status_code == 200
        replied = time.monotonic()
        confirmed = chat_services.admin_reply_post(
            admin=admin, chat_id=chat.id, content="It shipped."
        )
        wait_until(replies_sent)
        emailed = time.monotonic()

    assert [message.to for message in mailoutbox] == [["gus@example.com"], ["gus@example.com"]]
    assert "It shipped." in mailoutbox[1].body
    assert DELAY <= emailed - replied < DELAY + PATIENCE
    assert ReplyDecision.objects.get(message=confirmed).email is not None


def test_an_identified_persons_reply_email_comes_after_the_delay_and_its_button_lands_on_the_host(
    broker: Broker, admin: Any, mailoutbox: list[Any], settings: Any
) -> None:
    settings.DESK_EMBED_RETURN_URL = RETURN_URL
    person = embed.identified_contact(Identity(sub="shop-42", email="ida@example.com", name="Ida"))
    chat_services.user_message_post(user=person.user, content="Where is my parcel?")
    chat = chat_services.chat_get_or_create(user=person.user)

    with worker():
        replied = time.monotonic()
        reply: SupportMessage = chat_services.admin_reply_post(
            admin=admin, chat_id=chat.id, content="It ships tomorrow."
        )
        time.sleep(DELAY - 0.5)
        assert mailoutbox == [], "an email went out before the delay"
        wait_until(replies_sent)
        emailed = time.monotonic()

    [message] = mailoutbox
    assert message.to == ["ida@example.com"]
    assert DELAY <= emailed - replied < DELAY + PATIENCE
    response = Client().get(urlsplit(open_link(message)).path)
    assert (response.status_code, response["Location"]) == (302, RETURN_URL)
    reply.refresh_from_db()
    assert reply.read_at is not None
