"""Staff alerts: a person's message nobody opened or answered in time emails the staff who want it.

Each task runs here as the worker would run it when its countdown ends (tests/notifications/
test_staff_alerts_worker.py runs the real delay on a real worker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from freezegun import freeze_time

from celery_app import app
from chats import services as chat_services
from chats.embed import services as embed_services
from chats.models import SupportChat, SupportMessage
from notifications import emails, services, tasks
from notifications.models import (
    EmailStatus,
    StaffAlert,
    StaffAlertDecision,
    StaffAlertEmail,
    StaffAlertScope,
    StaffAlertSkip,
)
from notifications.services.staff_alerts import person_label
from tests.conftest import make_user
from tests.notifications.conftest import START, Broker, assert_matches_fixture

Say = Callable[[str], SupportMessage]
Run = Callable[..., None]


@pytest.fixture
def alert(run: Run) -> Callable[[SupportMessage], None]:
    """The message's staff alert task, run now: the moment its wait ends."""
    return lambda message: run(tasks.staff_alert_notify, message.id)


@pytest.fixture
def staff(admin: Any, other_admin: Any) -> list[Any]:
    return [admin, other_admin]


def alerted(outbox: list[mail.EmailMessage]) -> list[str]:
    """Who got a staff alert, in order."""
    return [m.to[0] for m in outbox if m.subject.startswith("New message from")]


def decision(message: SupportMessage) -> StaffAlertDecision:
    return StaffAlertDecision.objects.get(message=message)


# --- who is alerted, and when ---------------------------------------------------------------------


def test_a_message_nobody_answered_emails_every_staff_member(
    say: Say, alert: Any, staff: list[Any], mailoutbox: list[Any]
) -> None:
    message = say("My order never arrived.")
    alert(message)

    assert sorted(alerted(mailoutbox)) == ["support2@example.com", "support@example.com"]
    assert StaffAlertEmail.objects.filter(status=EmailStatus.SENT).count() == 2


def test_the_alert_names_the_person_quotes_the_message_and_links_the_chat(
    say: Say, alert: Any, admin: Any, chat: SupportChat, mailoutbox: list[Any]
) -> None:
    alert(say("My order never arrived."))

    [email] = mailoutbox
    assert email.subject == "New message from ann@example.com"
    assert "> My order never arrived." in email.body
    assert f"/desk/chats/{chat.id}/" in email.body
    html = email.alternatives[0][0]
    assert "My order never arrived." in html
    assert f"/desk/chats/{chat.id}/" in html


def test_a_message_an_admin_answered_in_time_alerts_nobody(
    say: Say, reply: Say, alert: Any, staff: list[Any], mailoutbox: list[Any]
) -> None:
    message = say("My order never arrived.")
    reply("Looking into it now.")
    alert(message)

    assert mailoutbox == []
    assert decision(message).skip_reason == StaffAlertSkip.ANSWERED


def test_a_message_in_a_chat_an_admin_opened_in_time_alerts_nobody(
    say: Say, alert: Any, admin: Any, chat: SupportChat, mailoutbox: list[Any]
) -> None:
    message = say("My order never arrived.")
    chat_services.chat_mark_viewed(admin=admin, chat_id=chat.id)
    alert(message)

    assert mailoutbox == []
    assert decision(message).skip_reason == StaffAlertSkip.OPENED


def test_a_burst_of_messages_is_one_alert_listing_them_all(
    say: Say, alert: Any, admin: Any, mailoutbox: list[Any]
) -> None:
    burst = [say("Hello?"), say("My order never arrived."), say("Order 1042.")]
    for message in burst:
        alert(message)

    [email] = mailoutbox
    assert "> Hello?\n\n> My order never arrived.\n\n> Order 1042." in email.body
    assert StaffAlert.objects.count() == 1
    assert {decision(m).alert_id for m in burst} == {StaffAlert.objects.get().id}


def test_a_task_run_twice_alerts_once(
    say: Say, alert: Any, admin: Any, mailoutbox: list[Any]
) -> None:
    message = say("My order never arrived.")
    alert(message)
    alert(message)

    assert len(mailoutbox) == 1


def test_a_message_after_an_answer_gets_an_alert_of_its_own(
    say: Say, reply: Say, alert: Any, admin: Any, mailoutbox: list[Any]
) -> None:
    first = say("My order never arrived.")
    reply("It left our warehouse yesterday.")
    second = say("It still is not here.")
    alert(first)
    alert(second)

    [email] = mailoutbox
    assert "> It still is not here." in email.body
    assert "never arrived" not in email.body
    assert decision(first).skip_reason == StaffAlertSkip.ANSWERED


def test_an_alert_decided_then_answered_before_it_is_sent_is_cancelled(
    say: Say, reply: Say, admin: Any, mailoutbox: list[Any]
) -> None:
    message = say("My order never arrived.")
    [email_id] = services.staff_alert_claim(message_id=message.id)
    reply("Looking into it now.")
    delivery = services.staff_alert_deliver(email_id=email_id)

    assert delivery.outcome is services.Outcome.CANCELLED
    assert mailoutbox == []
    cancelled = StaffAlertEmail.objects.get(id=email_id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "answered")


def test_an_admin_reply_is_never_the_subject_of_an_alert(
    reply: Say, alert: Any, admin: Any, mailoutbox: list[Any]
) -> None:
    alert(reply("Anything else?"))

    assert mailoutbox == []
    assert not StaffAlertDecision.objects.exists()


# --- staff preferences ---------------------------------------------------------------------------


def test_staff_who_chose_none_get_no_alert(
    say: Say, alert: Any, admin: Any, other_admin: Any, mailoutbox: list[Any]
) -> None:
    services.staff_alert_scope_set(staff=other_admin, scope="none")
    alert(say("My order never arrived."))

    assert alerted(mailoutbox) == ["support@example.com"]


def test_staff_who_chose_answered_are_alerted_only_about_chats_they_answered(
    user: Any, other_user: Any, chat: SupportChat, admin: Any, alert: Any, mailoutbox: list[Any]
) -> None:
    services.staff_alert_scope_set(staff=admin, scope="answered")
    chat_services.user_message_post(user=user, content="Hello?")
    chat_services.admin_reply_post(admin=admin, chat_id=chat.id, content="Hi Ann!")
    again = chat_services.user_message_post(user=user, content="One more question.")
    stranger = chat_services.user_message_post(user=other_user, content="Hello, anyone?")
    alert(again)
    alert(stranger)

    assert alerted(mailoutbox) == ["support@example.com"]
    assert "> One more question." in mailoutbox[0].body


def test_a_changed_choice_applies_to_the_next_alert(
    say: Say, reply: Say, alert: Any, admin: Any, mailoutbox: list[Any]
) -> None:
    alert(say("Hello?"))
    services.staff_alert_scope_set(staff=admin, scope="none")
    reply("Hi!")
    alert(say("Still there?"))

    assert len(mailoutbox) == 1


def test_nobody_wanting_the_alert_is_recorded_as_such(
    say: Say, alert: Any, admin: Any, mailoutbox: list[Any]
) -> None:
    services.staff_alert_scope_set(staff=admin, scope="none")
    message = say("Hello?")
    alert(message)

    assert mailoutbox == []
    assert decision(message).skip_reason == StaffAlertSkip.NOBODY
    assert not StaffAlert.objects.exists()


def test_deactivated_staff_former_staff_and_staff_without_an_address_are_not_alerted(
    say: Say, alert: Any, admin: Any, mailoutbox: list[Any]
) -> None:
    make_user("gone@example.com", is_staff=True, is_active=False)
    make_user("former@example.com", is_staff=False)
    nameless = make_user("noaddress", is_staff=True)
    nameless.email = ""
    nameless.save()
    alert(say("Hello?"))

    assert alerted(mailoutbox) == ["support@example.com"]


def test_a_staff_member_who_lost_staff_status_before_the_send_is_not_emailed(
    say: Say, admin: Any, mailoutbox: list[Any]
) -> None:
    [email_id] = services.staff_alert_claim(message_id=say("Hello?").id)
    admin.is_staff = False
    admin.save()

    assert services.staff_alert_deliver(email_id=email_id).outcome is services.Outcome.CANCELLED
    assert mailoutbox == []


def test_a_staff_member_has_every_alert_until_choosing(admin: Any) -> None:
    assert services.staff_alert_scope(staff=admin) is StaffAlertScope.ALL


# --- scheduling and recovery ---------------------------------------------------------------------


def test_a_person_message_schedules_its_alert_after_the_configured_delay(
    say: Say, broker: Broker, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DESK_STAFF_ALERT_DELAY = 90
    with freeze_time(START), django_capture_on_commit_callbacks(execute=True):
        message = say("Hello?")

    [task] = broker.take()
    assert (task.name, task.args) == ("notifications.staff_alert_notify", [str(message.id)])
    assert task.eta is not None
    assert task.eta.isoformat().startswith("2026-01-29T10:01:30")


def test_a_message_whose_task_was_lost_is_alerted_after_the_sweep(
    say: Say, run: Run, admin: Any, broker: Broker, settings: Any, mailoutbox: list[Any]
) -> None:
    settings.DESK_STAFF_ALERT_DELAY = 120
    settings.DESK_REPLY_SWEEP_INTERVAL = 60
    with freeze_time(START) as clock:
        message = say("Hello?")
        clock.move_to("2026-01-29 10:02:59")
        run(tasks.reply_emails_sweep)
        early = broker.take()
        clock.move_to("2026-01-29 10:03:00")
        run(tasks.reply_emails_sweep)
        [found] = broker.take()
        run(app.tasks[found.name], *found.args)

    assert early == []
    assert (found.name, found.args) == ("notifications.staff_alert_notify", [str(message.id)])
    assert alerted(mailoutbox) == ["support@example.com"]


def test_an_alert_email_whose_send_was_lost_is_sent_after_the_sweep(
    say: Say, run: Run, admin: Any, broker: Broker, settings: Any, mailoutbox: list[Any]
) -> None:
    settings.DESK_REPLY_SWEEP_INTERVAL = 60
    with freeze_time(START) as clock:
        # Decided, and then the worker was lost before its first try.
        [email_id] = services.staff_alert_claim(message_id=say("Hello?").id)
        clock.move_to("2026-01-29 10:01:00")
        run(tasks.reply_emails_sweep)
        [found] = [t for t in broker.take() if t.name == "notifications.staff_alert_email_send"]
        run(app.tasks[found.name], *found.args)

    assert found.args == [str(email_id)]
    assert len(mailoutbox) == 1


def test_a_provider_error_retries_the_alert_later(
    say: Say, alert: Any, admin: Any, broker: Broker, mailer: Any
) -> None:
    mailer("tests.notifications.backends.ProviderDownBackend")
    alert(say("Hello?"))

    email = StaffAlertEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.QUEUED, 1)
    assert [t.name for t in broker.take()] == ["notifications.staff_alert_email_send"]


# --- the email itself ----------------------------------------------------------------------------


def alert_email(**overrides: Any) -> mail.EmailMultiAlternatives:
    content = {
        "to": "alice@example.com",
        "name": "Alice",
        "person": "Ann Smith",
        "messages": ["Hello?", "My order **1042** never arrived: https://shop.example/orders/1042"],
        "chat_url": "https://desk.example.com/desk/chats/0b7e8c53-9a1e-4c1f-9d44-3c0f3d5e1a11/",
        "preferences_url": "https://desk.example.com/desk/",
        "site_name": "desk.example.com",
        "message_id": "<alert-1@desk.example.com>",
    }
    return emails.staff_alert_build(emails.StaffAlertContent(**{**content, **overrides}))


def test_the_alert_email_text_is_its_fixture() -> None:
    assert_matches_fixture("staff_alert.txt", str(alert_email().body))


def test_the_alert_email_html_is_its_fixture() -> None:
    assert_matches_fixture("staff_alert.html", str(alert_email().alternatives[0][0]))


def test_a_name_with_a_line_break_stays_on_the_subject_line() -> None:
    assert alert_email(person="Ann\r\nBcc: x@example.com").subject == (
        "New message from Ann Bcc: x@example.com"
    )


def test_markup_in_a_message_is_shown_not_run_in_the_html() -> None:
    html = str(alert_email(messages=["<script>alert(1)</script>"]).alternatives[0][0])

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_person_is_named_by_their_full_name_else_their_address(user: Any) -> None:
    unnamed = person_label(user)
    user.first_name, user.last_name = "Ann", "Smith"
    user.save()

    assert (unnamed, person_label(user)) == ("ann@example.com", "Ann Smith")


def test_a_guest_is_named_by_the_name_they_gave(db: None) -> None:
    guest = embed_services.guest_create(client="https://shop.example", name="Gina").contact

    assert person_label(guest.user) == "Gina"


def test_a_guest_without_a_name_or_address_is_a_guest(db: None) -> None:
    guest = embed_services.guest_create(client="https://shop.example").contact

    assert person_label(guest.user) == "a guest"


def test_support_finds_a_staff_alert_in_django_admin_by_the_persons_address(
    staff_browser: Any, say: Say, alert: Any, admin: Any
) -> None:
    alert(say("Hello?"))

    page = staff_browser.get("/admin/notifications/staffalertemail/", {"q": "ann@example.com"})

    assert page.status_code == 200
    assert b"support@example.com" in page.content
