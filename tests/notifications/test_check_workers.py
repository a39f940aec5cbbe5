"""`manage.py check_workers` against a real Celery worker and beat on the real broker."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from celery_app import app
from notifications import heartbeat
from tests.notifications.conftest import Broker
from tests.notifications.workers import (  # noqa: F401 (an autouse fixture)
    SWEEP_INTERVAL,
    beat,
    connections_closed_after_each_task,
    wait_until,
    worker,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_sweep_yet(settings: Any) -> None:
    settings.DESK_REPLY_SWEEP_INTERVAL = SWEEP_INTERVAL
    with redis.Redis.from_url(django_settings.REDIS_URL) as client:
        client.delete(heartbeat.key())


def answering() -> bool:
    """The worker in a thread is up once its remote control answers (it starts unwaited)."""
    return bool(app.control.ping(timeout=0.5))


def check() -> str:
    output = io.StringIO()
    call_command("check_workers", "--timeout", "2", stdout=output)
    return output.getvalue()


def test_with_no_worker_and_no_beat_both_are_reported_not_running(broker: Broker) -> None:
    with pytest.raises(CommandError, match="not running: workers, beat"):
        check()


def test_with_a_worker_and_beat_running_the_check_passes(broker: Broker) -> None:
    with worker(), beat():
        wait_until(answering)
        wait_until(lambda: heartbeat.seconds_since_sweep() is not None)
        output = check()

    assert f"workers: 1 consuming {django_settings.CELERY_TASK_DEFAULT_QUEUE!r}" in output
    assert "beat: the last sweep ran" in output


def test_a_worker_without_beat_is_reported(broker: Broker) -> None:
    with worker():
        wait_until(answering)
        with pytest.raises(CommandError, match=r"not running: beat$"):
            check()


def test_a_sweep_three_intervals_old_means_beat_stopped(broker: Broker) -> None:
    with redis.Redis.from_url(django_settings.REDIS_URL) as client:
        client.set(heartbeat.key(), repr(time.time() - 4 * SWEEP_INTERVAL))

    with worker():
        wait_until(answering)
        with pytest.raises(CommandError, match=r"not running: beat$"):
            check()
