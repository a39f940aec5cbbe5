"""Sending: the record of the outcome, retries after provider errors, and never a second copy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from freezegun import freeze_time
from prometheus_client import REGISTRY

from chats import services as chat_services
from chats.models import SupportChat, SupportMessage
from notifications import services, tasks
from notifications.models import EmailStatus, ReplyEmail, SkipReason
from tests.notifications.conftest import START, Broker

Reply = Callable[[str], SupportMessage]
Notify = Callable[[SupportMessage], None]
Run = Callable[..., None]
DOWN = "tests.notifications.backends.ProviderDownBackend"


@pytest.fixture
def recover(mailer: Callable[..., None]) -> Callable[[], None]:
    """`recover()`: the provider is back (the test backend that collects into mail.outbox)."""
    return lambda: mailer("django.core.mail.backends.locmem.EmailBackend")


@pytest.fixture
def failed_once(
    reply: Reply, notify: Notify, mailer: Callable[..., None], broker: Broker
) -> ReplyEmail:
    """A reply whose first attempt, at 10:05:00, met a provider error; the provider stays down."""
    mailer(DOWN)
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:00")
        notify(message)
    return ReplyEmail.objects.get()


def test_the_providers_message_id_is_recorded(
    mailer: Callable[..., None], reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    mailer("anymail.backends.test.EmailBackend")

    notify(reply("Your refund is on its way."))

    email = ReplyEmail.objects.get()
    assert email.status == EmailStatus.SENT
    assert email.provider_message_id == str(mailoutbox[0].anymail_status.message_id)


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    ],
)
def test_a_backend_without_a_provider_status_still_records_the_email_as_sent(
    backend: str,
    mailer: Callable[..., None],
    tmp_path: Path,
    reply: Reply,
    notify: Notify,
    capsys: Any,
) -> None:
    options = {"file_path": str(tmp_path)} if "filebased" in backend else {}
    mailer(backend, **options)

    notify(reply("Your refund is on its way."))

    email = ReplyEmail.objects.get()
    assert email.status == EmailStatus.SENT
    assert email.provider_message_id == ""
    written = capsys.readouterr().out + "".join(p.read_text() for p in tmp_path.iterdir())
    assert "Subject: New reply from Support" in written


def test_a_provider_error_queues_a_retry_with_backoff(
    failed_once: ReplyEmail, broker: Broker, mailoutbox: list[Any]
) -> None:
    email = failed_once

    assert mailoutbox == []
    assert email.status == EmailStatus.QUEUED
    assert email.attempts == 1
    assert email.next_attempt_at.isoformat() == "2026-01-29T10:06:00+00:00"
    assert "503" in email.last_error
    [retry] = broker.take()
    assert retry.name == "notifications.reply_email_send"
    assert retry.args == [str(email.id)]
    assert retry.eta is not None
    assert retry.eta.isoformat().startswith("2026-01-29T10:06:00")


def test_the_retry_sends_the_same_email_once(
    failed_once: ReplyEmail, recover: Callable[[], None], run: Run, mailoutbox: list[Any]
) -> None:
    recover()
    with freeze_time("2026-01-29 10:06:00"):
        run(tasks.reply_email_send, failed_once.id)
        run(tasks.reply_email_send, failed_once.id)

    assert len(mailoutbox) == 1
    failed_once.refresh_from_db()
    assert failed_once.status == EmailStatus.SENT
    assert failed_once.attempts == 2


def test_a_retry_that_arrives_early_does_nothing(
    failed_once: ReplyEmail, recover: Callable[[], None], run: Run, mailoutbox: list[Any]
) -> None:
    recover()
    with freeze_time("2026-01-29 10:05:59"):
        run(tasks.reply_email_send, failed_once.id)

    assert mailoutbox == []
    failed_once.refresh_from_db()
    assert (failed_once.status, failed_once.attempts) == (EmailStatus.QUEUED, 1)


def test_the_wait_doubles_after_each_failed_attempt(settings: Any) -> None:
    settings.DESK_REPLY_EMAIL_RETRY_DELAY = 60

    assert [services.retry_delay(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]


def test_an_email_is_recorded_as_failed_after_its_last_attempt(
    failed_once: ReplyEmail, run: Run, settings: Any, broker: Broker, mailoutbox: list[Any]
) -> None:
    settings.DESK_REPLY_EMAIL_MAX_ATTEMPTS = 3
    with freeze_time("2026-01-29 10:06:00") as clock:
        run(tasks.reply_email_send, failed_once.id)
        clock.move_to("2026-01-29 10:08:00")
        run(tasks.reply_email_send, failed_once.id)

    failed_once.refresh_from_db()
    assert (failed_once.status, failed_once.attempts) == (EmailStatus.FAILED, 3)
    assert "503" in failed_once.last_error
    assert [task.name for task in broker.take()] == ["notifications.reply_email_send"] * 2
    assert mailoutbox == []


def test_a_refused_recipient_fails_at_once_without_a_retry(
    mailer: Callable[..., None], reply: Reply, notify: Notify, broker: Broker
) -> None:
    mailer("tests.notifications.backends.RecipientRefusedBackend")

    notify(reply("Your refund is on its way."))

    email = ReplyEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 1)
    assert "AnymailRecipientsRefused" in email.last_error
    assert broker.take() == []


def test_a_send_cut_short_by_the_time_limit_is_failed_and_not_retried(
    mailer: Callable[..., None], reply: Reply, notify: Notify, broker: Broker
) -> None:
    mailer("tests.notifications.backends.TimeLimitMidSendBackend")

    notify(reply("Your refund is on its way."))

    email = ReplyEmail.objects.get()
    assert email.status == EmailStatus.FAILED
    assert "Not retried" in email.last_error
    assert broker.take() == []


def test_a_retry_after_the_user_read_the_replies_is_cancelled(
    failed_once: ReplyEmail,
    recover: Callable[[], None],
    mark_read: Callable[[], int],
    run: Run,
    mailoutbox: list[Any],
) -> None:
    recover()
    with freeze_time("2026-01-29 10:05:30") as clock:
        mark_read()
        clock.move_to("2026-01-29 10:06:00")
        run(tasks.reply_email_send, failed_once.id)

    assert mailoutbox == []
    failed_once.refresh_from_db()
    assert (failed_once.status, failed_once.cancel_reason) == (
        EmailStatus.CANCELLED,
        SkipReason.READ,
    )


def test_a_retry_after_the_chat_was_archived_is_cancelled(
    failed_once: ReplyEmail,
    recover: Callable[[], None],
    admin: Any,
    chat: SupportChat,
    run: Run,
    mailoutbox: list[Any],
) -> None:
    recover()
    with freeze_time("2026-01-29 10:05:30") as clock:
        chat_services.chat_archive(admin=admin, chat_id=chat.id)
        clock.move_to("2026-01-29 10:06:00")
        run(tasks.reply_email_send, failed_once.id)

    assert mailoutbox == []
    failed_once.refresh_from_db()
    assert failed_once.cancel_reason == SkipReason.ARCHIVED


def test_an_email_a_dead_worker_left_sending_is_never_sent_again(
    reply: Reply, run: Run, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:00")
        # The worker decides and claims the send, then dies before it records anything.
        email = services.reply_email_claim(message_id=message.id)
        assert email is not None
        ReplyEmail.objects.filter(id=email.id).update(
            status=EmailStatus.SENDING, attempts=1, sending_since=timezone.now()
        )
        # Redis delivers the unacknowledged task again, and the sweep looks at the email too.
        clock.move_to("2026-01-29 10:05:10")
        run(tasks.reply_notify, message.id)
        run(tasks.reply_email_send, email.id)
        run(tasks.reply_emails_sweep)

    assert mailoutbox == []
    email.refresh_from_db()
    assert email.status == EmailStatus.SENDING


def test_the_sweep_records_a_send_a_dead_worker_left_as_failed(
    reply: Reply, run: Run, settings: Any, broker: Broker, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:00")
        email = services.reply_email_claim(message_id=message.id)
        assert email is not None
        ReplyEmail.objects.filter(id=email.id).update(
            status=EmailStatus.SENDING, attempts=1, sending_since=timezone.now()
        )
        # Past the hard time limit and one sweep interval, no live attempt can still own it.
        limit = settings.CELERY_TASK_TIME_LIMIT + settings.DESK_REPLY_SWEEP_INTERVAL
        clock.tick(timedelta(seconds=limit))
        run(tasks.reply_emails_sweep)

    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED
    assert "Not retried" in email.last_error
    assert broker.take() == []
    assert mailoutbox == []


def test_each_attempts_outcome_is_counted_for_prometheus(
    reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    def sent() -> float:
        labels = {"kind": "reply", "outcome": "sent"}
        return REGISTRY.get_sample_value("desk_emails_total", labels) or 0.0

    before = sent()

    notify(reply("Your refund is on its way."))

    assert sent() == before + 1
