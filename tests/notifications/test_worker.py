"""A real Celery worker on the real Redis broker (tests/notifications/workers.py), with the delay
cut to 2 seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings

from chats.models import SupportMessage
from notifications.models import EmailStatus, ReplyEmail
from tests.notifications.conftest import Broker
from tests.notifications.workers import (  # noqa: F401 (an autouse fixture)
    PATIENCE,
    SWEEP_INTERVAL,
    beat,
    connections_closed_after_each_task,
    wait_until,
    worker,
)

pytestmark = pytest.mark.django_db(transaction=True)

DELAY = 2


@pytest.fixture(autouse=True)
def short_delay(settings: Any) -> None:
    settings.DESK_REPLY_NOTIFICATION_DELAY = DELAY
    settings.DESK_REPLY_SWEEP_INTERVAL = SWEEP_INTERVAL


def sent() -> bool:
    return ReplyEmail.objects.filter(status=EmailStatus.SENT).exists()


def test_a_real_worker_sends_nothing_before_the_delay_and_the_email_after_it(
    broker: Broker, reply: Callable[[str], SupportMessage], mailoutbox: list[Any]
) -> None:
    with worker():
        replied = time.monotonic()
        reply("Your refund is on its way.")

        time.sleep(DELAY - 0.5)
        assert mailoutbox == [], "an email went out before the delay"
        wait_until(sent)
        emailed = time.monotonic()

    assert len(mailoutbox) == 1
    assert DELAY <= emailed - replied < DELAY + PATIENCE


def test_a_task_lost_with_a_flushed_redis_is_recovered_by_beats_sweep(
    broker: Broker, reply: Callable[[str], SupportMessage], mailoutbox: list[Any]
) -> None:
    # No worker yet: the scheduled task sits in Redis, and is then wiped with it.
    replied = time.monotonic()
    reply("Your refund is on its way.")
    assert broker.count() == 1
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        client.flushdb()  # this test run's Redis database only, never FLUSHALL
    finally:
        client.close()
    assert broker.count() == 0

    with worker(), beat():
        time.sleep(DELAY - 0.5)
        assert mailoutbox == [], "an email went out before the delay"
        wait_until(sent)
        emailed = time.monotonic()

    assert len(mailoutbox) == 1
    # Lost replies are swept one interval after their window: never before the delay.
    assert emailed - replied >= DELAY + SWEEP_INTERVAL
