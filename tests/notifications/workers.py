"""A real Celery worker and beat, each in a thread of the test process, on the real broker.

The worker's pool is "solo", so Django's locmem outbox sees what it sends. Every wait is bounded;
a stuck test fails instead of hanging.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from celery.beat import EmbeddedService, Scheduler
from celery.contrib.testing.worker import start_worker
from celery.fixups.django import DjangoFixup

from celery_app import app

SWEEP_INTERVAL = 1
# Generous: a loaded CI machine may be slow to start a worker, never this slow.
PATIENCE = 15.0


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
