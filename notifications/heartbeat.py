"""Proof that Celery beat and a worker are both running: every reply-email sweep (which beat
schedules and a worker runs) leaves the time it ran in Redis, and `manage.py check_workers`
reads it back (notifications/management/commands/check_workers.py).
"""

from __future__ import annotations

import time

from django.conf import settings

from desk.redis_client import sync_redis

# Long enough to outlive any sweep interval a check would accept.
TTL = 86400


def key() -> str:
    """The Redis key holding when the last sweep ran."""
    return f"{settings.DESK_CHANNEL_PREFIX}:celery:last-sweep"


def sweep_ran() -> None:
    """Called by the sweep task when it has run."""
    sync_redis().set(key(), repr(time.time()), ex=TTL)


def seconds_since_sweep() -> float | None:
    """How long ago a sweep last ran, or None if none ran since Redis last started empty."""
    value = sync_redis().get(key())
    return None if value is None else max(0.0, time.time() - float(value))
