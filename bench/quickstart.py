"""Scenario 6: the quick start under a sustained load, `make run` exactly as the README starts it.

`make run` in a folder of its own (DESK_DATA_DIR and PORT are the only settings given, so DEBUG is
on, the database is SQLite and Redis is the embedded one, with one web process, a Celery worker and
beat), then its users post over REST at a fixed rate for a minute while each has their chat socket
open and an admin's dashboard socket receives. Open loop, as in scenario 1: latency runs from the
moment a message was due until both the user's socket and the admin's had it.

The people are seeded into the quick start's own SQLite database before it starts (tests/live_seed,
as the other scenarios seed theirs); enough of them that the default allowance of messages per
person and minute never refuses one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil

from bench.fanout import _median_runs, audience, run_rate, warm_up
from tests.live import BASE_DIR, LiveDesk, Server, free_port, seed, stop, wait_until_listening

# Settings a person running the quick start could have in their shell; none of them is the quick
# start's own, so they are left out of its environment.
NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_SETTINGS_MODULE", "LOG_LEVEL")


def quickstart_environment(data_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in NOT_INHERITED and not k.startswith("DESK_")
    }
    return {**env, "DESK_DATA_DIR": str(data_dir), "PORT": str(port)}


@contextlib.contextmanager
def quickstart(workdir: Path, *, users: Sequence[str], admins: Sequence[str]) -> Iterator[LiveDesk]:
    """`make run` on a fresh data directory with these people seeded; stopped afterwards."""
    data_dir = workdir / "quickstart"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = quickstart_environment(data_dir, port)
    # The seed runs as the quick start will (DEBUG on, its SQLite file), before it starts.
    people = seed({**env, "DEBUG": "true"}, users, admins)
    log = workdir / "quickstart.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("make-run", port, process, log)
    try:
        wait_until_listening(server, timeout=120)
        yield LiveDesk([server], env, workdir, people["cookies"], people["chats"])
    finally:
        stop(process)


def tree_cpu_seconds(root: int) -> dict[str, float]:
    """CPU seconds of the quick start's processes by role: the web server, Redis, the rest."""
    parts = {"web": 0.0, "redis": 0.0, "rest": 0.0}
    with contextlib.suppress(psutil.Error):
        top = psutil.Process(root)
        for process in [top, *top.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                command = " ".join(process.cmdline())
                times = process.cpu_times()
                role = "web" if "uvicorn" in command else "redis" if "redis" in command else "rest"
                parts[role] += times.user + times.system
    return parts


async def sustained(
    desk: LiveDesk,
    *,
    users: Sequence[str],
    admin: str,
    rate: float,
    seconds: float,
    repetitions: int,
) -> dict[str, Any]:
    server = desk.servers[0]
    async with audience(
        desk, users, user_servers=[server], admin_server=server, admin=admin
    ) as crowd:
        await warm_up(crowd, [server])
        runs = []
        for _ in range(repetitions):
            before = tree_cpu_seconds(server.process.pid)
            run = await run_rate(
                crowd, rate=rate, seconds=seconds, via="rest", post_servers=[server]
            )
            after = tree_cpu_seconds(server.process.pid)
            stored = max(1, run["sent"] - run["errors"])
            run["quickstart_cpu_ms_per_message"] = {
                role: round((after[role] - before[role]) * 1000 / stored, 2) for role in after
            }
            runs.append(run)
    merged = _median_runs(runs)
    merged["quickstart_cpu_ms_per_message"] = {
        role: sorted(r["quickstart_cpu_ms_per_message"][role] for r in runs)[len(runs) // 2]
        for role in runs[0]["quickstart_cpu_ms_per_message"]
    }
    merged["seconds"] = seconds
    merged["users"] = len(users)
    return merged


def measure(workdir: Path, *, users: Sequence[str], rate: float, seconds: float,
            repetitions: int) -> dict[str, Any]:  # fmt: skip
    import asyncio

    started = time.perf_counter()
    with quickstart(workdir, users=users, admins=["admin0"]) as desk:
        result = asyncio.run(
            sustained(
                desk, users=users, admin="admin0", rate=rate, seconds=seconds,
                repetitions=repetitions,
            )
        )  # fmt: skip
    result["took_s"] = round(time.perf_counter() - started, 1)
    return result
