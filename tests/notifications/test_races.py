"""Workers racing on the same replies, each on its own database connection: one email."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from chats.models import SupportMessage
from notifications import services, tasks
from notifications.models import EmailStatus, ReplyDecision, ReplyEmail
from tests.notifications.conftest import Broker

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8


def race(job: Callable[[int], Any], count: int = WORKERS) -> list[Any]:
    """Run job(0..count-1) on `count` threads released at the same instant."""
    start = threading.Barrier(count)

    def run(i: int) -> Any:
        try:
            start.wait()
            return job(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_workers_running_one_replys_task_at_once_send_one_email(
    broker: Broker, reply: Callable[[str], SupportMessage], mailoutbox: list[Any]
) -> None:
    message = reply("Your refund is on its way.")

    race(lambda _: tasks.reply_notify.apply(args=[str(message.id)]).get())

    assert len(mailoutbox) == 1
    assert ReplyEmail.objects.get().status == EmailStatus.SENT


def test_the_tasks_of_a_whole_burst_running_at_once_send_one_email_listing_all(
    broker: Broker, reply: Callable[[str], SupportMessage], mailoutbox: list[Any]
) -> None:
    burst = [reply(f"Reply {n}") for n in range(WORKERS)]

    race(lambda i: tasks.reply_notify.apply(args=[str(burst[i].id)]).get())

    assert len(mailoutbox) == 1
    assert mailoutbox[0].body.count("\n> ") == WORKERS
    email = ReplyEmail.objects.get()
    assert ReplyDecision.objects.filter(email=email).count() == WORKERS


def test_workers_sending_one_queued_email_at_once_send_it_once(
    broker: Broker, reply: Callable[[str], SupportMessage], mailoutbox: list[Any]
) -> None:
    message = reply("Your refund is on its way.")
    email = services.reply_email_claim(message_id=message.id)
    assert email is not None

    outcomes = race(lambda _: services.reply_email_deliver(email_id=email.id).outcome)

    assert len(mailoutbox) == 1
    assert sorted(outcomes) == sorted(
        [services.Outcome.SENT] + [services.Outcome.NOT_CLAIMED] * (WORKERS - 1)
    )
