"""The periodic sweep: replies whose task was lost still get their one email."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from freezegun import freeze_time

from celery_app import app
from chats import services as chat_services
from chats.models import SupportMessage
from notifications import services, tasks
from notifications.models import EmailStatus, ReplyEmail
from tests.notifications.conftest import START, Broker

Reply = Callable[[str], SupportMessage]
Run = Callable[..., None]


@pytest.fixture(autouse=True)
def timing(settings: Any) -> None:
    # A reply counts as lost one interval after its 5-minute window: from 10:06:00 for 10:00:00.
    settings.DESK_REPLY_NOTIFICATION_DELAY = 300
    settings.DESK_REPLY_SWEEP_INTERVAL = 60
    settings.DESK_REPLY_SWEEP_LOOKBACK = 86400


def swept(broker: Broker) -> list[tuple[str, list[Any]]]:
    return [(task.name, task.args) for task in broker.take()]


def test_a_reply_whose_task_was_lost_is_emailed_after_the_sweep(
    reply: Reply, run: Run, broker: Broker, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:06:00")
        run(tasks.reply_emails_sweep)
        [(name, args)] = swept(broker)
        run(app.tasks[name], *args)

    assert (name, args) == ("notifications.reply_notify", [str(message.id)])
    assert len(mailoutbox) == 1


def test_the_sweep_leaves_a_reply_whose_task_may_still_come(
    reply: Reply, run: Run, broker: Broker
) -> None:
    with freeze_time(START) as clock:
        reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:59")
        run(tasks.reply_emails_sweep)

    assert swept(broker) == []


def test_the_sweep_leaves_a_decided_reply_alone(
    reply: Reply, run: Run, notify: Callable[[SupportMessage], None], broker: Broker
) -> None:
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:00")
        notify(message)
        clock.move_to("2026-01-29 10:10:00")
        run(tasks.reply_emails_sweep)

    assert swept(broker) == []


def test_the_sweep_leaves_a_read_reply_alone(
    reply: Reply, run: Run, mark_read: Callable[[], int], broker: Broker
) -> None:
    with freeze_time(START) as clock:
        reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:01:00")
        mark_read()
        clock.move_to("2026-01-29 10:10:00")
        run(tasks.reply_emails_sweep)

    assert swept(broker) == []


def test_the_sweep_leaves_replies_older_than_its_lookback_alone(
    reply: Reply, run: Run, broker: Broker
) -> None:
    with freeze_time(START) as clock:
        reply("Your refund is on its way.")
        clock.move_to("2026-01-30 10:00:01")
        run(tasks.reply_emails_sweep)

    assert swept(broker) == []


def test_the_sweep_schedules_one_task_per_chat_for_its_oldest_lost_reply(
    reply: Reply, admin: Any, other_user: Any, run: Run, broker: Broker
) -> None:
    other_chat = chat_services.chat_get_or_create(user=other_user)
    with freeze_time(START) as clock:
        first = reply("Hi Ann!")
        reply("It ships tomorrow.")
        clock.move_to("2026-01-29 10:00:30")
        other = chat_services.admin_reply_post(admin=admin, chat_id=other_chat.id, content="Hi!")
        clock.move_to("2026-01-29 10:07:00")
        run(tasks.reply_emails_sweep)

    assert swept(broker) == [
        ("notifications.reply_notify", [str(first.id)]),
        ("notifications.reply_notify", [str(other.id)]),
    ]


def test_a_swept_reply_whose_own_task_turns_up_too_is_emailed_once(
    reply: Reply, run: Run, broker: Broker, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:06:00")
        run(tasks.reply_emails_sweep)
        for name, args in swept(broker):
            run(app.tasks[name], *args)
        run(tasks.reply_notify, message.id)

    assert len(mailoutbox) == 1


def test_the_sweep_resends_an_email_whose_retry_was_lost(
    reply: Reply,
    run: Run,
    mailer: Callable[..., None],
    broker: Broker,
    mailoutbox: list[Any],
) -> None:
    mailer("tests.notifications.backends.ProviderDownBackend")
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:00")
        run(tasks.reply_notify, message.id)
        broker.purge()  # the retry, due at 10:06:00, is lost with Redis
        mailer("django.core.mail.backends.locmem.EmailBackend")
        clock.move_to("2026-01-29 10:07:00")
        run(tasks.reply_emails_sweep)
        [(name, args)] = swept(broker)
        run(app.tasks[name], *args)

    email = ReplyEmail.objects.get()
    assert (name, args) == ("notifications.reply_email_send", [str(email.id)])
    assert email.status == EmailStatus.SENT
    assert len(mailoutbox) == 1


def test_the_sweep_runs_a_fixed_number_of_queries(
    reply: Reply, django_assert_num_queries: Any
) -> None:
    with freeze_time(START) as clock:
        for n in range(5):
            reply(f"Reply {n}")
        clock.move_to("2026-01-29 10:07:00")
        # Lost replies, overdue emails, interrupted sends.
        with django_assert_num_queries(3):
            found = services.reply_emails_sweep()

    assert len(found.replies) == 1


def test_beat_runs_the_sweep_every_interval() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["reply-emails-sweep"]

    assert entry["task"] == tasks.reply_emails_sweep.name
    assert entry["schedule"] == django_settings.DESK_REPLY_SWEEP_INTERVAL
    assert app.conf.beat_schedule == django_settings.CELERY_BEAT_SCHEDULE
