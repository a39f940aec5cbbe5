"""The stack the benchmarks measure, on loopback: PostgreSQL, Redis, desk's uvicorn processes and a
Celery worker, started by tests/live.py as `make run` starts them.

The benchmark process itself is a Django process on a database of its own (`desk_bench`: the
floor's INSERTs land there); the servers get a fresh database each run, dropped afterwards; the
admin list's large datasets live in databases of their own that are kept between runs.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tests.live import LiveDesk, live_desk

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/desk_bench"
# A database number of its own on the machine's Redis; the servers' keys carry a per-run prefix too.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"

# What the servers and the worker run with. The per-user message limit would cap a benchmark that
# posts as 200 users at 300 messages/s; it still runs (its Redis script is part of every post's
# cost), it only never refuses.
SERVER_ENV = {
    "DESK_MESSAGES_PER_MINUTE": "1000000",
    "DESK_REPLY_NOTIFICATION_DELAY": "5",
    "LOG_LEVEL": "WARNING",
}


class StackError(RuntimeError):
    """PostgreSQL or Redis does not answer."""


def configure() -> None:
    """Point this process's Django at the benchmark's database and Redis (DATABASE_URL and
    REDIS_URL, else the machine's own), checking both answer. Must run before Django is set up."""
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if database_url.startswith("postgres"):
        database_create(database_url)
    _redis_check(redis_url)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "desk.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "desk-bench-not-a-secret",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()


def database_create(database_url: str) -> bool:
    """Create the database the URL names unless it exists; True if it was created."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')
            return not exists
    except psycopg.OperationalError as error:
        raise StackError(
            f"PostgreSQL does not answer at {_redacted(maintenance)}: {error}\n"
            "make bench needs PostgreSQL and Redis: start them, or set DATABASE_URL "
            "(postgres://...) and REDIS_URL (redis://...)."
        ) from None


def sibling_database(database_url: str, name: str) -> str:
    """The URL of another database on the same PostgreSQL server."""
    return urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))


def _redis_check(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        raise StackError(
            f"Redis does not answer at {_redacted(redis_url)}: {error}\n"
            "make bench needs PostgreSQL and Redis: start them, or set REDIS_URL (redis://...)."
        ) from None
    finally:
        client.close()


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; the servers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1_048_576 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@contextlib.contextmanager
def desk_stack(
    workdir: Path, *, users: Sequence[str], admins: Sequence[str], servers: int = 2
) -> Iterator[LiveDesk]:
    """Two uvicorn processes (one is used alone for the single-process figures) on a fresh
    database with these people; a Celery worker is started by the scenario that needs it."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**SERVER_ENV, "EMAIL_FILE_PATH": str(workdir / "emails")}
    env["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
    with live_desk(workdir, servers=servers, users=users, admins=admins, env=env) as desk:
        yield desk


def machine() -> dict[str, Any]:
    """What the figures were measured on, and how busy it was."""
    import redis
    from django.conf import settings
    from django.db import connection

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    described: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "database": connection.vendor,
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            described["postgresql"] = cursor.fetchone()[0]
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        described["redis"] = client.info("server")["redis_version"]
    finally:
        client.close()
    return described


def other_processes(limit: int = 8) -> dict[str, Any]:
    """How busy the machine is apart from this benchmark: the whole machine's CPU use over one
    second, and the processes not started by this run that used more than 5 % of a core."""
    import psutil

    ours = {os.getpid(), *(p.pid for p in psutil.Process().children(recursive=True))}
    others = [p for p in psutil.process_iter(["pid", "name", "cmdline"]) if p.pid not in ours]
    for process in others:
        with contextlib.suppress(psutil.Error):
            process.cpu_percent(None)
    psutil.cpu_percent(None)
    time.sleep(1.0)
    machine_percent = psutil.cpu_percent(None)
    rows = []
    for process in others:
        with contextlib.suppress(psutil.Error):
            usage = process.cpu_percent(None)
            if usage >= 5:
                command = " ".join(process.info["cmdline"] or [process.info["name"] or ""])[:80]
                rows.append((usage, command))
    return {
        "machine_cpu_percent": machine_percent,
        "processes": [f"{u:.0f}% {c}" for u, c in sorted(rows, reverse=True)[:limit]],
    }


def spawn_in_desk(env: dict[str, str], module: str, *args: str) -> subprocess.Popen[str]:
    """`python -m <module> <args>` in the live desk's environment (its database, its Redis);
    `communicate()` collects its output."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
