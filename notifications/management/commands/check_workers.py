"""`manage.py check_workers`: are a Celery worker and beat running? For a monitor or a deploy.

- Workers: at least one answers a ping through the broker within `--timeout` seconds and consumes
  desk's queue (DESK_CELERY_QUEUE). Without one, reply emails wait in Redis.
- Beat: the reply-email sweep, which beat schedules every DESK_REPLY_SWEEP_INTERVAL seconds and a
  worker runs, ran within the last three intervals (notifications/heartbeat.py). Without beat,
  work a lost task left behind is never picked up.

Prints one line per check and exits 0 when both pass, 1 otherwise.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from celery_app import app
from notifications import heartbeat

# A sweep may be this many intervals overdue before beat counts as stopped.
SWEEPS_MISSED = 3


class Command(BaseCommand):
    help = "Check that a Celery worker consumes desk's queue and that beat's sweep runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout", type=float, default=5.0, help="Seconds to wait for workers to answer."
        )

    def handle(self, *args: Any, timeout: float, **options: Any) -> None:
        failures = [
            name
            for name, passed in (("workers", self.workers(timeout)), ("beat", self.beat()))
            if not passed
        ]
        if failures:
            raise CommandError(f"not running: {', '.join(failures)}")

    def workers(self, timeout: float) -> bool:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        queues = app.control.inspect(timeout=timeout).active_queues() or {}
        consuming = sorted(name for name, found in queues.items() if _consumes(found, queue))
        if not consuming:
            self.stdout.write(f"workers: none consuming {queue!r} answered within {timeout:g} s")
            return False
        self.stdout.write(f"workers: {len(consuming)} consuming {queue!r} ({', '.join(consuming)})")
        return True

    def beat(self) -> bool:
        interval = settings.DESK_REPLY_SWEEP_INTERVAL
        since = heartbeat.seconds_since_sweep()
        if since is None:
            self.stdout.write("beat: no sweep has run since Redis started")
            return False
        self.stdout.write(f"beat: the last sweep ran {since:.0f} s ago (every {interval} s)")
        return since <= SWEEPS_MISSED * interval


def _consumes(queues: list[dict[str, Any]], queue: str) -> bool:
    return any(found.get("name") == queue for found in queues)
