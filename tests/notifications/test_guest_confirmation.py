"""A guest's address: the confirmation email (once an hour per address), the link that confirms
it, and reply emails that go there only once it is confirmed."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from freezegun import freeze_time

from chats import services as chat_services
from chats.embed import services as embed
from chats.models import Contact, SupportMessage
from notifications import emails, links, tasks
from notifications.models import (
    ContactEmail,
    ContactEmailCancel,
    ContactEmailKind,
    EmailStatus,
    ReplyDecision,
    SkipReason,
    SuppressionReason,
)
from notifications.services import address_suppress
from tests.notifications.conftest import START, Broker, assert_matches_fixture
from tests.notifications.contacts import (
    committed,
    confirm_link,
    deliver_queued,
    queued_contact_emails,
)

pytestmark = pytest.mark.django_db

GUS = "gus@example.com"

Run = Callable[..., None]


@pytest.fixture(autouse=True)
def ten_minutes_later() -> Iterator[None]:
    """Links are followed at 10:10, ten minutes after the email, unless a test says otherwise."""
    with freeze_time("2026-01-29 10:10:00"):
        yield


@pytest.fixture
def give(django_capture_on_commit_callbacks: Any, broker: Broker) -> Callable[..., Contact]:
    """`give(contact, email)` (or `give(None, email)` for a new guest): the guest gives an
    address through chats.embed, and what that commits runs (the signal, the task's scheduling)."""

    def given(contact: Contact | None, email: str) -> Contact:
        if contact is None:
            return committed(
                django_capture_on_commit_callbacks,
                lambda: embed.guest_create(client="127.0.0.1", name="Gus", email=email).contact,
            )
        return committed(
            django_capture_on_commit_callbacks,
            lambda: embed.contact_update(user=contact.user, email=email),
        )

    return given


@pytest.fixture
def guest(give: Callable[..., Contact]) -> Contact:
    """A guest who gave gus@example.com at 10:00, its confirmation task waiting on the broker."""
    with freeze_time(START):
        return give(None, GUS)


@pytest.fixture
def link(guest: Contact, broker: Broker, run: Run, mailoutbox: list[Any]) -> str:
    """The path of the confirmation link in the email sent at 10:00."""
    with freeze_time(START):
        deliver_queued(broker, run)
    [message] = mailoutbox
    return confirm_link(message)


def fresh(contact: Contact) -> Contact:
    return Contact.objects.select_related("user").get(pk=contact.pk)


# --- the email -----------------------------------------------------------------------------------


def test_giving_an_address_queues_one_confirmation_task(guest: Contact, broker: Broker) -> None:
    [email_id] = queued_contact_emails(broker)

    email = ContactEmail.objects.get(id=email_id)
    assert (email.kind, email.contact, email.to_address) == (
        ContactEmailKind.CONFIRMATION,
        guest,
        GUS,
    )
    assert email.status == EmailStatus.QUEUED


def test_the_confirmation_is_sent_at_once_not_after_the_reply_delay(
    guest: Contact, broker: Broker
) -> None:
    [queued] = broker.take()

    assert (queued.name, queued.eta) == (tasks.contact_email_send.name, None)


def test_a_guest_who_gives_no_address_gets_no_email(
    django_capture_on_commit_callbacks: Any, broker: Broker
) -> None:
    committed(
        django_capture_on_commit_callbacks,
        lambda: embed.guest_create(client="127.0.0.1", name="Nobody"),
    )

    assert queued_contact_emails(broker) == []
    assert not ContactEmail.objects.exists()


def test_the_confirmation_email_goes_to_the_address_with_its_link(
    link: str, mailoutbox: list[Any], guest: Contact
) -> None:
    [message] = mailoutbox

    assert message.to == [GUS]
    assert message.subject == "Confirm your email address"
    assert link.startswith("/email/confirm/")
    assert links.confirm_token_read(link.split("/")[3]) == links.ConfirmToken(guest.pk, GUS)
    email = ContactEmail.objects.get()
    assert email.status == EmailStatus.SENT
    assert message.extra_headers["Message-ID"] == links.contact_email_message_id(email.id)


def test_the_confirmation_email_names_the_host_site_when_desk_knows_it(
    guest: Contact, broker: Broker, run: Run, mailoutbox: list[Any], settings: Any
) -> None:
    settings.DESK_EMBED_RETURN_URL = "https://shop.example:8443/help#support-chat"

    deliver_queued(broker, run)

    assert "support chat on shop.example." in mailoutbox[0].body


def test_the_task_run_twice_sends_one_email(
    guest: Contact, broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    [email_id] = queued_contact_emails(broker)

    run(tasks.contact_email_send, email_id)
    run(tasks.contact_email_send, email_id)

    assert len(mailoutbox) == 1


def test_the_same_address_again_within_the_hour_sends_no_second_email(
    guest: Contact, give: Callable[..., Contact], broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        deliver_queued(broker, run)
        clock.move_to("2026-01-29 10:20:00")
        give(guest, "other@example.com")
        deliver_queued(broker, run)
        clock.move_to("2026-01-29 10:59:59")
        give(guest, "GUS@example.com")  # back to the first address, in other letters

        assert queued_contact_emails(broker) == []
    assert [message.to for message in mailoutbox] == [[GUS], ["other@example.com"]]


def test_the_first_link_still_confirms_the_address_given_again(
    link: str, guest: Contact, give: Callable[..., Contact], broker: Broker
) -> None:
    with freeze_time("2026-01-29 10:20:00"):
        give(guest, "other@example.com")
        give(guest, GUS)
        queued_contact_emails(broker)

        response = Client().get(link)

    assert response.status_code == 200
    assert fresh(guest).user.email == GUS


def test_the_same_address_an_hour_later_gets_a_new_email(
    guest: Contact, give: Callable[..., Contact], broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        deliver_queued(broker, run)
        clock.move_to("2026-01-29 10:30:00")
        give(guest, "other@example.com")
        deliver_queued(broker, run)
        clock.move_to("2026-01-29 11:00:01")
        give(guest, GUS)
        deliver_queued(broker, run)

    assert [message.to for message in mailoutbox] == [[GUS], ["other@example.com"], [GUS]]


def test_an_address_changed_before_the_task_runs_is_not_written_to(
    guest: Contact, give: Callable[..., Contact], broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    give(guest, "other@example.com")

    assert deliver_queued(broker, run) == 2
    assert [message.to for message in mailoutbox] == [["other@example.com"]]
    first = ContactEmail.objects.get(to_address=GUS)
    assert (first.status, first.cancel_reason) == (
        EmailStatus.CANCELLED,
        ContactEmailCancel.CHANGED,
    )


def test_a_suppressed_address_gets_no_confirmation_email(
    give: Callable[..., Contact], broker: Broker, run: Run, mailoutbox: list[Any]
) -> None:
    address_suppress(address="Gus@Example.com", reason=SuppressionReason.BOUNCED)
    give(None, GUS)

    deliver_queued(broker, run)

    assert mailoutbox == []
    email = ContactEmail.objects.get()
    assert (email.status, email.cancel_reason) == (
        EmailStatus.CANCELLED,
        ContactEmailCancel.SUPPRESSED,
    )


def test_a_deleted_guest_takes_its_email_records_along(guest: Contact) -> None:
    embed.contact_forget(guest)

    assert not ContactEmail.objects.exists()
    assert not User.objects.filter(pk=guest.user_id).exists()


@pytest.mark.parametrize(
    ("fixture", "part"),
    [
        ("confirmation_email.txt", lambda m: m.body),
        ("confirmation_email.html", lambda m: m.alternatives[0].content),
    ],
)
def test_the_rendered_email_matches_its_fixture(fixture: str, part: Callable[[Any], str]) -> None:
    rendered = part(
        emails.confirmation_email_build(
            emails.ContactEmailContent(
                to=GUS,
                name="Gus",
                site_url="https://shop.example",
                site_name="shop.example",
                message_id="<contact.AbCdEfGhIjKlMnOpQrStUv@support.example.com>",
            ),
            confirm_url="https://support.example.com/email/confirm/eyJjIjo3LCJlIjoiZ3VzQGV4YW1"
            "wbGUuY29tIn0:1vQx7Z:kP0s3cR3tS1gnatur3Xx0aBcDeFgHiJkLmNoPqRsTu/",
            link_lifetime="14 days",
        )
    )
    assert_matches_fixture(fixture, rendered)


# --- the link ------------------------------------------------------------------------------------


def test_the_link_confirms_the_address_and_says_so(link: str, guest: Contact) -> None:
    response = Client().get(link)

    assert response.status_code == 200
    assert b"Your address is confirmed" in response.content
    assert b"Replies from support will reach you here." in response.content
    contact = fresh(guest)
    assert contact.email_confirmed_at is not None
    assert contact.user.email == GUS


def test_a_head_request_confirms_nothing(link: str, guest: Contact) -> None:
    response = Client().head(link)

    assert response.status_code == 200
    contact = fresh(guest)
    assert (contact.email_confirmed_at, contact.user.email) == (None, "")


def test_following_the_link_again_changes_nothing_and_still_says_confirmed(
    link: str, guest: Contact
) -> None:
    Client().get(link)
    confirmed_at = fresh(guest).email_confirmed_at

    with freeze_time("2026-01-30 09:00:00"):
        response = Client().get(link)

    assert response.status_code == 200
    assert fresh(guest).email_confirmed_at == confirmed_at


def test_a_link_for_an_address_changed_since_says_so_and_confirms_nothing(
    link: str, guest: Contact, give: Callable[..., Contact]
) -> None:
    give(guest, "other@example.com")

    response = Client().get(link)

    assert response.status_code == 409
    assert b"for an address you have since changed" in response.content
    contact = fresh(guest)
    assert (contact.email, contact.email_confirmed_at, contact.user.email) == (
        "other@example.com",
        None,
        "",
    )


def test_a_link_replayed_after_the_address_changed_unconfirms_nothing_either(
    link: str, guest: Contact, give: Callable[..., Contact]
) -> None:
    Client().get(link)
    give(guest, "other@example.com")

    assert Client().get(link).status_code == 409
    assert Client().head(link).status_code == 409
    assert fresh(guest).user.email == ""


def test_a_link_for_a_guest_deleted_since_says_there_is_nothing_to_confirm(
    link: str, guest: Contact
) -> None:
    embed.contact_forget(guest)

    response = Client().get(link)

    assert response.status_code == 410
    assert b"nothing to confirm" in response.content


def test_an_expired_link_is_refused_with_a_clear_page_and_confirms_nothing(
    link: str, guest: Contact
) -> None:
    with freeze_time("2026-02-12 10:00:01"):  # 14 days and a second after the email
        get = Client().get(link)
        head = Client().head(link)

    assert (get.status_code, head.status_code) == (410, 410)
    assert b"This link has expired" in get.content
    assert fresh(guest).email_confirmed_at is None


def test_a_link_still_works_on_its_fourteenth_day(link: str, guest: Contact) -> None:
    with freeze_time("2026-02-12 10:00:00"):
        response = Client().get(link)

    assert response.status_code == 200
    assert fresh(guest).user.email == GUS


def _payload_swapped(token: str, contact_id: int) -> str:
    # The payload part rewritten to name another guest, the signature left as it was.
    payload, rest = token.split(":", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["c"] = contact_id
    swapped = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    return swapped.decode().rstrip("=") + ":" + rest


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda token, other: token[:-1] + ("A" if token[-1] != "A" else "B"), id="signature"
        ),
        pytest.param(lambda token, other: _payload_swapped(token, other.pk), id="another guest"),
        pytest.param(lambda token, other: "nonsense", id="nonsense"),
        pytest.param(lambda token, other: "x" * 5000, id="oversized"),
        pytest.param(
            lambda token, other: links.open_token_make(
                user_pk=other.user_id, email_id=uuid.uuid4()
            ),
            id="a reply email's token",
        ),
    ],
)
def test_a_forged_link_is_refused_with_a_clear_page_and_confirms_nothing(
    forge: Callable[[str, Contact], str],
    link: str,
    guest: Contact,
    give: Callable[..., Contact],
) -> None:
    other = give(None, "mallory@example.com")
    token = link.split("/")[3]

    get = Client().get(f"/email/confirm/{forge(token, other)}/")
    head = Client().head(f"/email/confirm/{forge(token, other)}/")

    assert (get.status_code, head.status_code) == (400, 400)
    assert b"This link doesn't work" in get.content
    assert {fresh(guest).user.email, fresh(other).user.email} == {""}


def test_a_guests_link_confirms_only_that_guests_address(
    link: str, guest: Contact, give: Callable[..., Contact], broker: Broker
) -> None:
    other = give(None, "olga@example.com")
    queued_contact_emails(broker)

    Client().get(link)

    assert fresh(guest).user.email == GUS
    assert (fresh(other).email_confirmed_at, fresh(other).user.email) == (None, "")


# --- reply emails wait for the confirmation ------------------------------------------------------


@pytest.fixture
def conversation(guest: Contact, admin: Any) -> Callable[[str], SupportMessage]:
    """`conversation(text)`: an admin replies in the guest's chat (opened by the guest's first
    message)."""
    chat_services.user_message_post(user=guest.user, content="Where is my parcel?")
    chat = chat_services.chat_get_or_create(user=guest.user)
    return lambda text: chat_services.admin_reply_post(admin=admin, chat_id=chat.id, content=text)


def test_a_reply_to_an_unconfirmed_guest_is_not_emailed_for_want_of_an_address(
    guest: Contact,
    conversation: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> None:
    reply = conversation("It ships tomorrow.")

    notify(reply)

    assert mailoutbox == []
    assert ReplyDecision.objects.get(message=reply).skip_reason == SkipReason.NO_EMAIL


def test_after_confirmation_the_next_reply_is_emailed_to_the_confirmed_address(
    link: str,
    guest: Contact,
    conversation: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> None:
    before = conversation("It ships tomorrow.")
    notify(before)
    Client().get(link)
    mailoutbox.clear()

    after = conversation("It shipped.")
    notify(after)

    [message] = mailoutbox
    assert message.to == [GUS]
    assert message.subject == "New reply from Support"
    assert "It shipped." in message.body
    assert ReplyDecision.objects.get(message=before).skip_reason == SkipReason.NO_EMAIL
