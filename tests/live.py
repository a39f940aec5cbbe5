"""Real desk processes for tests that need them: uvicorn servers and Celery workers as subprocesses.

`live_desk()` gives a desk of its own: a database no other test uses (a temporary SQLite file, or a
fresh PostgreSQL database when the suite runs on PostgreSQL, dropped afterwards), a channel prefix
and Celery queue of its own on the suite's Redis, the people it is asked for (logged in, with their
session cookies and chat ids), and as many server processes as wanted. Every process it starts is
stopped when the block ends, and dies with the test process if that is killed.

Used by the end-to-end, browser, fault and load tests, and by the benchmarks' smoke test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import redis
from django.conf import settings

from desk.embedded import dies_with_parent
from desk.runtime.server import uvicorn_command

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

BASE_DIR = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    # Where it listens: loopback, or a test host's address (tests/hosts).
    host: str = "127.0.0.1"

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"ws://{self.host}:{self.port}{path}"


@dataclass
class LiveDesk:
    """What `live_desk()` started: its servers, environment, and the seeded people."""

    servers: list[Server]
    env: dict[str, str]
    workdir: Path
    cookies: dict[str, str]
    chats: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def a(self) -> Server:
        return self.servers[0]

    @property
    def b(self) -> Server:
        return self.servers[1]

    def start_worker(self, name: str = "worker", *extra: str) -> subprocess.Popen[bytes]:
        """A Celery worker (solo pool) on this desk's queue; stopped with the desk."""
        worker = spawn(
            name,
            [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", *extra],
            self.env,
            self.workdir,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def start_beat(self, name: str = "beat") -> subprocess.Popen[bytes]:
        """Celery beat, with its schedule file in this desk's folder; stopped with the desk."""
        beat = spawn(
            name,
            [sys.executable, "-m", "celery", "-A", "celery_app", "beat", "--loglevel", "INFO",
             "--schedule", str(self.workdir / "celerybeat-schedule")],
            self.env,
            self.workdir,
        )  # fmt: skip
        self.workers.append(beat)
        return beat


REQUEST_TIMEOUT = 30.0
# Any 32 letters or digits: Django only checks that the cookie and the header agree.
CSRF = "desklivetestscsrftoken0000000000"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def rest(
    server: Server,
    method: str,
    path: str,
    cookie: str,
    body: Any = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Answer:
    """One request with this session, CSRF token included; never raises for an HTTP status."""
    request = urllib.request.Request(
        f"{server.origin}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Cookie": f"sessionid={cookie}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Content-Type": "application/json",
            "Origin": server.origin,
            "Referer": server.origin + "/",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status, headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, headers = error.read(), error.code, dict(error.headers)
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        decoded = raw.decode(errors="replace")
    return Answer(status, decoded, headers)


# Generous: an event between two servers crosses Redis; a slow CI machine must not flake.
EVENT_TIMEOUT = 10.0


async def next_event(
    websocket: ClientConnection, *, within: float = EVENT_TIMEOUT, **match: Any
) -> dict[str, Any]:
    """The next event with these values; events of other kinds in between are skipped.

    `message__content="Hi"` matches a nested value (see `event_value`).
    """
    async with asyncio.timeout(within):
        while True:
            event = json.loads(await websocket.recv())
            if all(event_value(event, key) == value for key, value in match.items()):
                return dict(event)


def event_value(event: dict[str, Any], key: str) -> Any:
    """`event["message"]["content"]` for the key `message__content`; None if a part is missing."""
    value: Any = event
    for part in key.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_delete(url: str, pattern: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextlib.contextmanager
def servers_database(workdir: Path) -> Iterator[str]:
    """A DATABASE_URL for the live processes alone, removed afterwards."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{workdir / 'live.sqlite3'}"
        return
    import psycopg

    name = f"desk_live_{uuid.uuid4().hex[:12]}"
    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as maintenance:
        maintenance.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "localhost"
    port = db.get("PORT") or 5432
    try:
        yield f"postgres://{credentials}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(**params) as maintenance:
            maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def spawn(
    name: str,
    command: Sequence[str],
    env: Mapping[str, str],
    workdir: Path,
    inside: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """A subprocess whose output goes to `<workdir>/<name>.log`, killed if the tests die.

    `inside` runs in the child before the command (a test host's `Host.move_here`)."""
    with (workdir / f"{name}.log").open("ab") as output:
        return subprocess.Popen(
            list(command),
            cwd=BASE_DIR,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=child_setup(inside),
        )


def child_setup(inside: Callable[[], None] | None) -> Callable[[], None] | None:
    """A `preexec_fn`: `inside` (if any), then dying with the test process."""
    dies = dies_with_parent()
    if inside is None:
        return dies

    def setup() -> None:
        inside()
        if dies is not None:
            dies()

    return setup


def start_server(name: str, env: Mapping[str, str], workdir: Path, port: int = 0) -> Server:
    """`python -m uvicorn desk.asgi:application`, as `make run` starts it (desk.runtime.server)."""
    port = port or free_port()
    process = spawn(
        name,
        uvicorn_command(host="127.0.0.1", port=port, graceful_shutdown=2),
        env,
        workdir,
    )
    return Server(name, port, process, workdir / f"{name}.log")


def wait_until_listening(server: Server, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"server {server.name} exited with {server.process.returncode}:\n"
                + server.log.read_text(errors="replace")
            )
        with contextlib.suppress(OSError):
            socket.create_connection((server.host, server.port), timeout=1).close()
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"server {server.name} did not listen within {timeout:g} s:\n"
                + server.log.read_text(errors="replace")
            )
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed(
    env: Mapping[str, str],
    users: Sequence[str],
    admins: Sequence[str],
    inside: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Migrate the live database and create these people: see tests/live_seed.py."""
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.live_seed", json.dumps({"users": users, "admins": admins})],
        cwd=BASE_DIR,
        env=dict(env),
        capture_output=True,
        timeout=START_TIMEOUT + len(users) / 10,
        check=False,
        preexec_fn=inside,
    )
    if seeded.returncode != 0:
        raise RuntimeError(seeded.stderr.decode(errors="replace"))
    return dict(json.loads(seeded.stdout.decode().strip().splitlines()[-1]))


@contextlib.contextmanager
def live_desk(
    workdir: Path,
    *,
    servers: int = 2,
    users: Sequence[str] = (),
    admins: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
    ports: Sequence[int] = (),
) -> Iterator[LiveDesk]:
    """Real desk server processes on a database of their own, with these people seeded.

    `users` get a chat each (`chats[name]`); everyone gets a session cookie (`cookies[name]`),
    their email is `<name>@example.com` and their password `pw`. `env` overrides or adds settings
    (a REDIS_URL there points the desk at a private Redis); `database_url` is an empty database of
    the caller's (a private PostgreSQL server) to use instead of one made here. `ports` are the
    servers' ports, in order, where the caller needs them before the start (SITE_URL); the others
    get a free one.
    """
    prefix = f"desk-live-{uuid.uuid4().hex[:10]}"
    (workdir / "data").mkdir(exist_ok=True)
    database = contextlib.nullcontext(database_url) if database_url else servers_database(workdir)
    with database as url:
        live_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "desk.settings",
            "DATABASE_URL": url,
            "REDIS_URL": settings.REDIS_URL,
            "DESK_CHANNEL_PREFIX": prefix,
            "DESK_CELERY_QUEUE": prefix,
            "DESK_DATA_DIR": str(workdir / "data"),
            "SECRET_KEY": "desk-live-not-a-secret",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        people = seed(live_env, users, admins)
        desk = LiveDesk([], live_env, workdir, people["cookies"], people["chats"])
        try:
            desk.servers = [
                start_server(f"server-{n}", live_env, workdir, *ports[n : n + 1])
                for n in range(servers)
            ]
            for server in desk.servers:
                wait_until_listening(server)
            yield desk
        finally:
            for server in desk.servers:
                stop(server.process)
            for worker in desk.workers:
                stop(worker)
            # A private Redis may be down by now; whatever it held went with it.
            with contextlib.suppress(redis.RedisError):
                redis_delete(live_env["REDIS_URL"], f"{prefix}*")
