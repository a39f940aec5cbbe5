"""A real Celery worker on the real Redis broker, with the delay cut to 2 seconds.

The worker runs in a thread of this process (pool "solo"), so Django's locmem outbox sees what it
sends. Every wait is bounded; a stuck test fails instead of hanging.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from celery.beat import EmbeddedService, Scheduler
from celery.contrib.testing.worker import start_worker
from celery.fixups.django import DjangoFixup
from django.conf import settings as django_settings

from celery_app import app
from chats.models import SupportMessage
from notifications.models import EmailStatus, ReplyEmail
from tests.notifications.conftest import Broker

pytestmark = pytest.mark.django_db(transaction=True)

DELAY = 2
SWEEP_INTERVAL = 1
# Generous: a loaded CI machine may be slow to start a worker, never this slow.
PATIENCE = 15.0


@pytest.fixture(autouse=True)
def short_delay(settings: Any) -> None:
    settings.DESK_REPLY_NOTIFICATION_DELAY = DELAY
    settings.DESK_REPLY_SWEEP_INTERVAL = SWEEP_INTERVAL


@pytest.fixture(autouse=True)
def connections_closed_after_each_task(monkeypatch: pytest.MonkeyPatch) -> None:
    # CELERY_DB_REUSE_MAX keeps a worker's connection from task to task, which suits a worker
    # process of its own. This worker is a thread in the test process, sharing its connection pool
    # with the test's own thread, and on PostgreSQL that sharing hung the pool's connection check
    # (tests/faults run real worker processes with the setting as deployed).
    for fixup in app._fixups:
        if isinstance(fixup, DjangoFixup):
            monkeypatch.setattr(fixup.worker_fixup, "db_reuse_max", None)


@contextmanager
def worker() -> Iterator[None]:
    # Celery's test worker sets the root logger to its own level (ERROR) for the rest of the
    # process: later tests that look for a warning in the log would find none.
    root = logging.getLogger()
    level = root.level
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=PATIENCE):
            yield
    finally:
        root.setLevel(level)


@contextmanager
def beat() -> Iterator[None]:
    """Celery beat in a thread, running the configured sweep entry every SWEEP_INTERVAL."""
    configured = app.conf.beat_schedule
    app.conf.beat_schedule = {
        name: {**entry, "schedule": float(SWEEP_INTERVAL), "options": {}}
        for name, entry in configured.items()
    }
    service = EmbeddedService(app, thread=True, scheduler_cls=Scheduler)
    service.start()
    try:
        yield
    finally:
        service.stop()
        service.join(PATIENCE)
        app.conf.beat_schedule = configured


def wait_until(condition: Callable[[], bool], *, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {timeout} seconds")
        time.sleep(0.05)


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
