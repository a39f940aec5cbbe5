"""`python -m desk.run`: the whole desk in one command.

Prepares the data directory, the embedded Redis (unless REDIS_URL is set), the database schema and,
with DEBUG on, the demo data; then runs the web server (HTTP and websockets), a Celery worker and
Celery beat as child processes and watches them. Everything stops together: on SIGINT or SIGTERM,
or as soon as any child exits, in which case the exit status is non-zero and names the child.

Settings come from the environment exactly as for any other desk process: the children inherit it,
with DESK_DATA_DIR resolved so that all of them find the same SQLite file and Redis socket.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from desk.embedded import (
    EmbeddedRedisError,
    backing_services_summary,
    dies_with_parent,
    start_redis,
    stop_redis,
)

logger = logging.getLogger("desk.run")

BASE_DIR = Path(__file__).resolve().parent.parent

# Long enough for a Celery task to finish on a warm shutdown (acks are late, so a task cut short
# is redelivered rather than lost) and for uvicorn to close its websockets.
STOP_TIMEOUT = 15.0
# uvicorn imports Django and every app before it binds; on a cold disk that takes a few seconds.
HTTP_START_TIMEOUT = 60.0
POLL_INTERVAL = 0.2

EXIT_CONFIG_ERROR = 2


class StartupError(Exception):
    """desk cannot start; the message says why and what to change."""


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived while desk was still starting."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


class Supervisor:
    """Owns every process desk starts, so that none outlives `python -m desk.run`."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self.redis: subprocess.Popen[bytes] | None = None
        self.stop_signal: int | None = None
        self._stopping = False
        self._hurry = False

    def install_signal_handlers(self) -> None:
        # Handlers only record the signal: an exception raised at an arbitrary point (half-way
        # through Popen, say) could lose a child's pid and leave it running.
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            # A second Ctrl-C while stopping means "now": stop waiting for a graceful exit.
            self._hurry = True
        elif self.stop_signal is None:
            self.stop_signal = signum

    def raise_if_stop_requested(self) -> None:
        if self.stop_signal is not None:
            raise StopRequested

    def spawn(self, name: str, argv: list[str], *, env: dict[str, str]) -> None:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=BASE_DIR,
            stdin=subprocess.DEVNULL,
            preexec_fn=dies_with_parent(),
        )
        self.children.append(Child(name, process))
        logger.info("started %s (pid %d)", name, process.pid)

    def exited_child(self) -> Child | None:
        for child in self.children:
            if child.process.poll() is not None:
                return child
        if self.redis is not None and self.redis.poll() is not None:
            return Child("embedded redis-server", self.redis)
        return None

    def shutdown(self) -> None:
        """Stop the children, then Redis, which the children use until they are gone."""
        self._stopping = True
        running = [child for child in self.children if child.process.poll() is None]
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                child.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        while (
            any(child.process.poll() is None for child in running)
            and time.monotonic() < deadline
            and not self._hurry
        ):
            time.sleep(0.05)
        for child in running:
            if child.process.poll() is None:
                logger.warning("%s did not stop within %g s: killing it", child.name, STOP_TIMEOUT)
                _kill_tree(child.process.pid)
                child.process.wait()
        if self.redis is not None:
            stop_redis(self.redis, timeout=0 if self._hurry else 5.0)
            self.redis = None


def _kill_tree(pid: int) -> None:
    # A Celery worker killed with SIGKILL cannot stop its pool processes: kill them as well.
    for victim in [*_descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in field 2 may contain spaces and parentheses; the ppid follows the
        # last closing parenthesis.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def _check_port_free(host: str, port: int) -> None:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise StartupError(f"HOST={host!r} is not an address to listen on ({exc}).") from None
    with socket.socket(family, kind, proto) as probe:
        # uvicorn sets SO_REUSEADDR too: a port in TIME_WAIT is fine, one with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise StartupError(
                f"Cannot listen on {host}:{port} ({exc.strerror}). Is another desk or server "
                "using it? Set PORT (or HOST) to a free one."
            ) from None


def _connect_host(host: str) -> str:
    # A wildcard address is where the server listens, not somewhere one can connect to.
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _url_host(host: str) -> str:
    host = _connect_host(host)
    return f"[{host}]" if ":" in host else host


def _wait_for_http(supervisor: Supervisor, host: str, port: int) -> None:
    deadline = time.monotonic() + HTTP_START_TIMEOUT
    while True:
        supervisor.raise_if_stop_requested()
        exited = supervisor.exited_child()
        if exited is not None:
            raise StartupError(
                f"{exited.name} exited with code {exited.process.returncode} during start-up "
                "(its output is above)."
            )
        with contextlib.suppress(OSError):
            socket.create_connection((_connect_host(host), port), timeout=1).close()
            return
        if time.monotonic() > deadline:
            raise StartupError(
                f"The web server did not answer on {host}:{port} within {HTTP_START_TIMEOUT:g} s."
            )
        time.sleep(POLL_INTERVAL)


def _child_environment(settings: Any) -> dict[str, str]:
    env = dict(os.environ)
    # A relative DESK_DATA_DIR (or the default) must mean the same folder to every child.
    env["DESK_DATA_DIR"] = str(settings.DESK_DATA_DIR)
    env["DJANGO_SETTINGS_MODULE"] = os.environ["DJANGO_SETTINGS_MODULE"]
    # Children share our terminal; unbuffered output keeps their lines in order and visible.
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _start_children(supervisor: Supervisor, settings: Any) -> None:
    from desk.runtime.server import uvicorn_command

    env = _child_environment(settings)
    python = sys.executable
    supervisor.spawn(
        "web server (uvicorn)",
        # Below STOP_TIMEOUT, so open websockets never turn a clean stop into a kill.
        uvicorn_command(host=settings.HOST, port=settings.PORT, graceful_shutdown=5),
        env=env,
    )
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    supervisor.spawn(
        "Celery worker",
        [
            python, "-m", "celery", "-A", "celery_app", "worker",
            "--loglevel", "INFO",
            "--concurrency", "2",
            "--queues", queue,
            # Named after the queue, so two desks sharing one Redis do not clash as nodes.
            "--hostname", f"{queue}@%h",
        ],
        env=env,
    )  # fmt: skip
    supervisor.spawn(
        "Celery beat",
        [
            python, "-m", "celery", "-A", "celery_app", "beat",
            "--loglevel", "INFO",
            "--schedule", str(Path(settings.DESK_DATA_DIR) / "celerybeat-schedule"),
        ],
        env=env,
    )  # fmt: skip


# The quick start runs with DEBUG on (make run's default): friendly on a laptop, and said plainly
# on every start, so that nobody serves it to a network as it is.
DEBUG_WARNING = (
    "DEBUG is on: for a laptop only. Its error pages show code and settings, and the demo\n"
    "accounts share a published password. To serve desk to anyone else, set DEBUG=false,\n"
    "SECRET_KEY, ALLOWED_HOSTS and an https SITE_URL (see the README)."
)


def _print_banner(host: str, port: int) -> None:
    from django.conf import settings
    from django.urls import reverse

    base = f"http://{_url_host(host)}:{port}"
    lines = [
        "",
        "desk is running:",
        f"  site          {base}/",
        f"  dashboard     {base}{reverse('chats:list')}",
    ]
    if settings.DESK_API_DOCS != "off":
        who = " (support staff only)" if settings.DESK_API_DOCS == "staff" else ""
        lines += [
            f"  API docs      {base}/api/docs{who}",
            f"  OpenAPI       {base}/api/openapi.json{who}",
        ]
    lines += [
        f"  Django admin  {base}/admin/",
        f"  login         {base}/accounts/login/",
        "Press Ctrl-C to stop.",
    ]
    if settings.DEBUG:
        lines.append(DEBUG_WARNING)
    print("\n".join([*lines, ""]), flush=True)


def _prepare(supervisor: Supervisor) -> Any:
    """Everything before the children start; returns Django's settings."""
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import DatabaseError, connections

    django.setup()
    data_dir = Path(settings.DESK_DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    logger.info("desk in %s; %s", data_dir, backing_services_summary(settings))

    _check_port_free(settings.HOST, settings.PORT)

    if settings.REDIS_EMBEDDED:
        # Decision: a second desk on the same data directory fails rather than sharing the first
        # one's Redis; it would share its SQLite file and beat schedule too, and stopping either
        # would pull the broker from under the other.
        try:
            supervisor.redis = start_redis(settings.REDIS_SOCKET, data_dir=data_dir)
        except EmbeddedRedisError as exc:
            raise StartupError(str(exc)) from None
        logger.info("embedded Redis answering on %s", settings.REDIS_SOCKET)
    supervisor.raise_if_stop_requested()

    try:
        call_command("migrate", interactive=False)
    except DatabaseError as exc:
        raise StartupError(
            f"Cannot prepare the database ({backing_services_summary(settings)}): {exc}"
        ) from None
    supervisor.raise_if_stop_requested()

    if settings.DEBUG:
        # Demo data is what makes the quick start useful; a failure here is a bug to see, not
        # something to start without.
        try:
            call_command("seed_demo")
        except Exception as exc:
            raise StartupError(f"seed_demo failed (DEBUG is on): {exc}") from exc
        supervisor.raise_if_stop_requested()

    for connection in connections.all():
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            # The pool's threads are of no use to a supervisor and make forking riskier.
            close_pool()
    return settings


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    from django.core.exceptions import ImproperlyConfigured

    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    try:
        settings = _prepare(supervisor)
        _start_children(supervisor, settings)
        _wait_for_http(supervisor, settings.HOST, settings.PORT)
        _print_banner(settings.HOST, settings.PORT)
        while True:
            supervisor.raise_if_stop_requested()
            exited = supervisor.exited_child()
            if exited is not None:
                print(
                    f"desk: {exited.name} exited with code {exited.process.returncode}; "
                    "stopping everything.",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
            time.sleep(POLL_INTERVAL)
    except StopRequested:
        name = signal.Signals(supervisor.stop_signal or signal.SIGTERM).name
        print(f"desk: {name} received, stopping.", file=sys.stderr, flush=True)
        return 0
    except ImproperlyConfigured as exc:
        print(f"desk: configuration error: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG_ERROR
    except StartupError as exc:
        print(f"desk: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        supervisor.shutdown()


if __name__ == "__main__":
    sys.exit(main())
