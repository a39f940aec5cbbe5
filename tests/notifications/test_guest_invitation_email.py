"""Support starts a conversation with a guest and asks for the link to be emailed (chats'
guest_invited): the guest gets it once, at their address, from "Support", and it opens their
chat."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from freezegun import freeze_time

from chats import signals
from chats.embed import services as embed
from chats.models import Contact
from notifications import emails, services, tasks
from notifications.models import (
    ContactEmail,
    ContactEmailCancel,
    ContactEmailKind,
    EmailStatus,
    SuppressionReason,
)
from tests.notifications.conftest import START, Broker, assert_matches_fixture
from tests.notifications.contacts import (
    GUEST_LINK,
    committed,
    deliver_queued,
    link_in,
    queued_contact_emails,
)

pytestmark = pytest.mark.django_db

GAIL = "gail@example.com"

Run = Callable[..., None]


@pytest.fixture(autouse=True)
def at_ten() -> Iterator[None]:
    with freeze_time(START):
        yield


@pytest.fixture
def guest(admin: Any, django_capture_on_commit_callbacks: Any, broker: Broker) -> Contact:
    """An admin makes a guest link on the dashboard and asks for it to be emailed; what that
    commits runs (the guest_invited signal, the task's scheduling)."""

    def make() -> Contact:
        embed.guest_link_create(admin=admin, name="Gail", email=GAIL, send_email=True)
        return Contact.objects.get(email=GAIL)

    result: Contact = committed(django_capture_on_commit_callbacks, make)
    return result


def test_the_guest_link_is_emailed_to_the_guests_address_once(
    guest: Contact, broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    [email_id] = queued_contact_emails(broker)

    run(tasks.contact_email_send, email_id)
    run(tasks.contact_email_send, email_id)

    [message] = mailoutbox
    assert message.to == [GAIL]
    assert message.subject == "Support started a conversation with you"
    email = ContactEmail.objects.get()
    assert (email.kind, email.status, email.contact) == (
        ContactEmailKind.INVITATION,
        EmailStatus.SENT,
        guest,
    )


def test_the_emailed_link_opens_the_guests_own_chat(
    guest: Contact, broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    deliver_queued(broker, run)

    path = link_in(mailoutbox[0], GUEST_LINK)

    assert embed.guest_by_link(path.split("/")[2]) == guest
    assert Client().get(path).status_code == 200


def test_the_email_says_support_started_it_without_naming_the_admin(
    guest: Contact, admin: Any, broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    admin.first_name = "Sam"
    admin.save(update_fields=["first_name"])

    deliver_queued(broker, run)

    [message] = mailoutbox
    assert "Hi Gail," in message.body
    assert "Support at localhost started a conversation with you." in message.body
    for part in (message.body, message.alternatives[0].content):
        assert "Sam" not in part
        assert admin.email not in part
    assert ContactEmail.objects.get().requested_by == admin


def test_the_task_carries_only_the_emails_id_never_the_link(guest: Contact, broker: Broker) -> None:
    [queued] = broker.take()

    assert queued.name == tasks.contact_email_send.name
    assert queued.args == [str(ContactEmail.objects.get().id)]


def test_a_guest_without_an_address_gets_no_email(admin: Any, broker: Broker) -> None:
    contact = embed.guest_invite(admin=admin, name="Nameless").contact

    # As if asked to email it anyway: the dashboard refuses that, the receiver must not crash.
    signals.guest_invited.send(sender=None, contact=contact, url="unused", admin=admin)

    assert queued_contact_emails(broker) == []
    assert not ContactEmail.objects.exists()


def test_a_suppressed_address_gets_no_invitation(
    guest: Contact, broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    services.address_suppress(address=GAIL, reason=SuppressionReason.COMPLAINED)

    deliver_queued(broker, run)

    assert mailoutbox == []
    email = ContactEmail.objects.get()
    assert (email.status, email.cancel_reason) == (
        EmailStatus.CANCELLED,
        ContactEmailCancel.SUPPRESSED,
    )


def test_an_address_the_guest_changed_before_the_send_is_not_written_to(
    guest: Contact, broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    [email_id] = queued_contact_emails(broker)
    embed.contact_update(user=guest.user, email="new@example.com")

    run(tasks.contact_email_send, email_id)

    assert mailoutbox == []
    assert ContactEmail.objects.get(id=email_id).cancel_reason == ContactEmailCancel.NO_EMAIL


def test_a_provider_outage_is_tried_again_later_with_the_same_email(
    guest: Contact, broker: Broker, run: Run, mailer: Callable[..., None]
) -> None:
    mailer("tests.notifications.backends.ProviderDownBackend")
    [email_id] = queued_contact_emails(broker)

    run(tasks.contact_email_send, email_id)

    email = ContactEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.QUEUED, 1)
    assert "503" in email.last_error
    [retry] = broker.take()
    assert (retry.name, retry.args) == (tasks.contact_email_send.name, [email_id])
    assert retry.eta is not None
    assert retry.eta == email.next_attempt_at


def test_a_refused_recipient_fails_the_email_at_once(
    guest: Contact, broker: Broker, run: Run, mailer: Callable[..., None]
) -> None:
    mailer("tests.notifications.backends.RecipientRefusedBackend")

    deliver_queued(broker, run)

    email = ContactEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 1)
    assert broker.take() == []


def test_a_lost_task_is_found_by_the_sweep(
    guest: Contact, broker: Broker, run: Run, mailoutbox: list[Any], settings: Any
) -> None:
    broker.purge()  # the task is lost

    with freeze_time("2026-01-29 10:00:30"):
        run(tasks.reply_emails_sweep)
    assert queued_contact_emails(broker) == [], "swept before one interval passed"
    with freeze_time("2026-01-29 10:01:01"):
        run(tasks.reply_emails_sweep)
        deliver_queued(broker, run)

    assert [message.to for message in mailoutbox] == [[GAIL]]


def test_a_send_left_running_by_a_dead_worker_is_failed_by_the_sweep_not_repeated(
    guest: Contact, broker: Broker, settings: Any
) -> None:
    email = ContactEmail.objects.get()
    ContactEmail.objects.filter(id=email.id).update(
        status=EmailStatus.SENDING, sending_since=email.created_at, attempts=1
    )

    with freeze_time("2026-01-29 10:02:31"):  # hard limit (90 s) + one interval (60 s) + 1
        found = services.contact_emails_sweep()

    assert found.interrupted == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED
    assert "Not retried" in email.last_error


def test_deleting_the_guest_deletes_its_email_records(guest: Contact) -> None:
    embed.contact_forget(guest)

    assert not ContactEmail.objects.exists()


@pytest.mark.parametrize(
    ("fixture", "part"),
    [
        ("invitation_email.txt", lambda m: m.body),
        ("invitation_email.html", lambda m: m.alternatives[0].content),
    ],
)
def test_the_rendered_email_matches_its_fixture(fixture: str, part: Callable[[Any], str]) -> None:
    rendered = part(
        emails.invitation_email_build(
            emails.ContactEmailContent(
                to=GAIL,
                name="Gail",
                site_url="https://support.example.com",
                site_name="support.example.com",
                message_id="<contact.AbCdEfGhIjKlMnOpQrStUv@support.example.com>",
            ),
            chat_url="https://support.example.com/chat/eyJjIjo3fQ:1vQx7Z:kP0s3cR3tS1gnatur3Xx0a/",
            link_lifetime="30 days",
        )
    )
    assert_matches_fixture(fixture, rendered)


def test_support_finds_the_email_and_why_it_was_not_sent_in_the_admin(
    guest: Contact, broker: Broker, run: Run
) -> None:
    services.address_suppress(address=GAIL, reason=SuppressionReason.BOUNCED)
    deliver_queued(broker, run)
    boss = User.objects.create_superuser(username="boss@example.com", password="pw-for-tests")
    browser = Client()
    browser.force_login(boss)

    listing = browser.get("/admin/notifications/contactemail/", {"q": GAIL})
    detail = browser.get(
        f"/admin/notifications/contactemail/{ContactEmail.objects.get().id}/change/"
    )

    assert listing.status_code == detail.status_code == 200
    assert b"Guest link from support" in listing.content
    assert b"Address bounced or complained" in listing.content
    assert b"Address bounced or complained" in detail.content
