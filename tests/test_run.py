"""`python -m desk.run` as a user runs it: a real subprocess with its own data directory.

The subprocess always gets a private SQLite file and embedded Redis (DATABASE_URL and REDIS_URL are
removed from its environment), even when the suite itself runs on PostgreSQL and Redis:
pytest-django renames the test database only inside this process.

Each desk runs in a session of its own, so its process group holds exactly the processes it
started; "no orphans" means that group is empty once it has exited.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.embedded import start_redis, stop_redis

BASE_DIR = Path(__file__).resolve().parent.parent

START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def group_members(pgid: int) -> dict[int, str]:
    """Live (non-zombie) processes in the process group, with their command lines."""
    members: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members[int(entry.name)] = cmdline
    return members


def wait_for_empty_group(pgid: int, timeout: float) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (members := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return members


@pytest.fixture
def desk_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "SITE_URL", "ALLOWED_HOSTS", "HOST"):
        env.pop(name, None)
    env.update(
        DESK_DATA_DIR=str(tmp_path / "data"),
        PORT=str(free_port()),
        DEBUG="true",
        PYTHONUNBUFFERED="1",
    )
    return env


class Desk:
    def __init__(self, process: subprocess.Popen[bytes], log: Path, port: str) -> None:
        self.process = process
        self.log = log
        self.port = port

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_serving(self, path: str = "/api/openapi.json") -> int:
        deadline = time.monotonic() + START_TIMEOUT
        url = f"http://127.0.0.1:{self.port}{path}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"desk exited with {self.process.returncode}:\n{self.output}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                time.sleep(0.25)
        pytest.fail(f"desk did not answer {url} within {START_TIMEOUT:g} s:\n{self.output}")

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"desk did not exit within {timeout:g} s:\n{self.output}")


@contextlib.contextmanager
def running_desk(env: dict[str, str], tmp_path: Path) -> Iterator[Desk]:
    log = tmp_path / "desk.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "desk.run"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Desk(process, log, env["PORT"])
    finally:
        # Whatever the test did, nothing it started may outlive it.
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(ProcessLookupError):
            if wait_for_empty_group(process.pid, timeout=STOP_TIMEOUT):
                os.killpg(process.pid, signal.SIGKILL)


def test_desk_serves_the_api_and_sigterm_stops_every_process(
    desk_env: dict[str, str], tmp_path: Path
) -> None:
    with running_desk(desk_env, tmp_path) as desk:
        assert desk.wait_until_serving("/api/openapi.json") == 200
        started = " | ".join(group_members(desk.process.pid).values())
        for name in ("uvicorn", "celery_app worker", "celery_app beat", "redis-server"):
            assert name in started, f"{name} is not running: {started}"

        # Only the supervisor is signalled: stopping the rest is its job.
        desk.process.send_signal(signal.SIGTERM)

        assert desk.wait() == 0, desk.output
        assert wait_for_empty_group(desk.process.pid, timeout=10) == {}
        assert "http://127.0.0.1:" in desk.output
        assert "/api/docs" in desk.output
        assert "/desk/" in desk.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_killing_desk_outright_takes_its_children_down(
    desk_env: dict[str, str], tmp_path: Path
) -> None:
    with running_desk(desk_env, tmp_path) as desk:
        desk.wait_until_serving()

        desk.process.kill()
        desk.wait()

        assert wait_for_empty_group(desk.process.pid, timeout=STOP_TIMEOUT) == {}


def test_a_child_that_dies_stops_desk_with_an_error_naming_it(
    desk_env: dict[str, str], tmp_path: Path
) -> None:
    with running_desk(desk_env, tmp_path) as desk:
        desk.wait_until_serving()
        beat = [
            pid
            for pid, command in group_members(desk.process.pid).items()
            if "celery_app beat" in command
        ]
        assert len(beat) == 1

        os.kill(beat[0], signal.SIGKILL)

        assert desk.wait() != 0
        assert "Celery beat exited" in desk.output
        assert wait_for_empty_group(desk.process.pid, timeout=10) == {}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("DEBUG", "maybe"),
        ("DESK_REPLY_NOTIFICATION_DELAY", "-1"),
    ],
)
def test_a_bad_setting_stops_desk_with_a_message_naming_it(
    desk_env: dict[str, str], tmp_path: Path, setting: str, value: str
) -> None:
    desk_env[setting] = value
    with running_desk(desk_env, tmp_path) as desk:
        assert desk.wait() != 0
        assert f"{setting}=" in desk.output
        assert "Traceback" not in desk.output


def test_debug_off_without_a_secret_key_is_refused(
    desk_env: dict[str, str], tmp_path: Path
) -> None:
    desk_env["DEBUG"] = "false"
    desk_env.pop("SECRET_KEY", None)
    with running_desk(desk_env, tmp_path) as desk:
        assert desk.wait() != 0
        assert "SECRET_KEY" in desk.output


def test_a_port_in_use_is_refused_before_anything_starts(
    desk_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        desk_env["PORT"] = str(occupant.getsockname()[1])
        with running_desk(desk_env, tmp_path) as desk:
            assert desk.wait() == 1
            assert "PORT (or HOST)" in desk.output
            assert not (Path(desk_env["DESK_DATA_DIR"]) / "redis.sock").exists()


def test_a_second_desk_on_the_same_data_dir_is_refused(
    desk_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = Path(desk_env["DESK_DATA_DIR"])
    # A live Redis on the data directory's socket is what a first desk leaves running.
    first = start_redis(data_dir / "redis.sock")
    try:
        with running_desk(desk_env, tmp_path) as desk:
            assert desk.wait() == 1
            assert "another desk seems to be running" in desk.output
            assert "DESK_DATA_DIR" in desk.output
        assert first.poll() is None, "the second desk stopped the first one's Redis"
    finally:
        stop_redis(first)
