"""Every scenario in one run: `make bench` (or `.venv/bin/python -m bench`).

    python -m bench [--tiny] [--only fanout,throughput,connections,admin_list,email,quickstart]

Starts the stack on loopback (tests/live.py: PostgreSQL database, two uvicorn processes, a Celery
worker when the email scenario runs), runs each scenario bounded in time, stops everything it
started, prints one table, and writes bench/results/latest.json and docs/performance.md.
DATABASE_URL and REDIS_URL name the services (default: the machine's local PostgreSQL and Redis
database 12); the run stops at once, saying which, if one does not answer. `--tiny` runs each
scenario at a toy size (the smoke test's sizes) and writes its files under bench/results/tiny/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.stack import BASE_DIR, StackError, configure, raise_fd_limit

SCENARIOS = ("fanout", "throughput", "connections", "admin_list", "email", "quickstart")


@dataclass(frozen=True)
class Sizes:
    users: int  # seeded users: the most any scenario needs
    fanout_users: int
    rates: tuple[float, ...]
    seconds: float
    repetitions: int
    floor_samples: int
    ladder: tuple[float, ...]
    ladder_seconds: float
    socket_steps: tuple[int, ...]
    broadcasts: int
    list_sizes: tuple[int, ...]
    list_samples: int
    email_chats: int
    email_timeout: float
    quickstart_users: int
    quickstart_rate: float
    quickstart_seconds: float


FULL = Sizes(
    users=10_000,
    fanout_users=200,
    rates=(10, 100, 300),
    seconds=3,
    repetitions=3,
    floor_samples=300,
    ladder=(25, 50, 75, 100, 125, 150, 200, 300, 400, 600, 800, 1000),
    ladder_seconds=3,
    socket_steps=(1_000, 5_000, 10_000),
    broadcasts=20,
    list_sizes=(1_000, 10_000, 100_000),
    list_samples=20,
    email_chats=10_000,
    email_timeout=150,
    # 6,000 messages a minute from 600 people: 10 each, a third of the default allowance.
    quickstart_users=600,
    quickstart_rate=100,
    quickstart_seconds=60,
)
TINY = Sizes(
    users=12,
    fanout_users=4,
    rates=(5,),
    seconds=1,
    repetitions=1,
    floor_samples=20,
    ladder=(5, 10),
    ladder_seconds=1,
    socket_steps=(4, 8),
    broadcasts=2,
    list_sizes=(60,),
    list_samples=3,
    email_chats=9,
    email_timeout=60,
    quickstart_users=4,
    quickstart_rate=5,
    quickstart_seconds=1,
)


def list_database(size: int, workdir: Path) -> str:
    """The kept database of the admin list's dataset of this size."""
    from django.conf import settings

    from bench.stack import database_create, sibling_database

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{workdir / f'list-{size}.sqlite3'}"
    url = sibling_database(settings.DATABASE_URL, f"desk_bench_data_{size}")
    database_create(url)
    return url


def admin_list(sizes: Sizes, workdir: Path) -> list[dict[str, Any]]:
    import os

    results = []
    for size in sizes.list_sizes:
        env = {**os.environ, "DATABASE_URL": list_database(size, workdir), "LOG_LEVEL": "WARNING"}
        measured = subprocess.run(
            [sys.executable, "-m", "bench.admin_list", str(size), str(sizes.list_samples),
             str(sizes.repetitions)],
            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=400, check=False,
        )  # fmt: skip
        if measured.returncode != 0:
            raise RuntimeError(f"admin list at {size} chats failed:\n{measured.stderr}")
        results.append(json.loads(measured.stdout.strip().splitlines()[-1]))
    return results


def run(sizes: Sizes, only: tuple[str, ...], workdir: Path) -> dict[str, Any]:
    """Run the scenarios named in `only` at these sizes; Django must be configured.

    A scenario that fails is recorded under "failed" and the others still run: a run of several
    minutes should not lose every figure to one error.
    """
    from bench import connections, email_pipeline, fanout, floor, quickstart
    from bench.stack import desk_stack, machine, other_processes

    started = time.time()
    results: dict[str, Any] = {
        "machine": machine(),
        "busy_at_start": other_processes(),
        "sizes": asdict(sizes),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        "scenario_seconds": {},
        "failed": {},
    }

    def step(name: str, measure: Callable[[], Any]) -> None:
        if name not in only:
            return
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            results[name] = measure()
        except Exception as error:
            results["failed"][name] = f"{type(error).__name__}: {error}"[:2000]
            traceback.print_exc()
        took = round(time.perf_counter() - began, 1)
        results["scenario_seconds"][name] = took
        print(f"[bench] {name} took {took} s", file=sys.stderr, flush=True)

    users = [f"u{n}" for n in range(sizes.users)]
    crowd = users[: sizes.fanout_users]
    if {"fanout", "throughput", "connections", "email"} & set(only):
        began = time.perf_counter()
        with desk_stack(workdir / "desk", users=users, admins=["admin0", "admin1"]) as desk:
            results["scenario_seconds"]["start"] = round(time.perf_counter() - began, 1)

            def fanout_beside_its_floor() -> list[dict[str, Any]]:
                # The floor before and twice after: it moves with the machine's load, and the
                # report takes the median of the three.
                results["floor"] = [floor.measure(sizes.floor_samples)]
                measured = asyncio.run(
                    fanout.fanout(
                        desk, users=crowd, admin="admin0", rates=sizes.rates,
                        seconds=sizes.seconds, repetitions=sizes.repetitions,
                    )
                )  # fmt: skip
                results["floor"] += [floor.measure(sizes.floor_samples) for _ in range(2)]
                return measured

            step("fanout", fanout_beside_its_floor)
            step(
                "throughput",
                lambda: [
                    asyncio.run(
                        fanout.throughput(
                            desk, users=crowd, admin="admin0", processes=processes,
                            ladder=sizes.ladder, seconds=sizes.ladder_seconds,
                        )
                    )
                    for processes in (1, 2)
                ],
            )  # fmt: skip
            step(
                "connections",
                lambda: asyncio.run(
                    connections.connections(
                        desk, users=users, admin="admin1", steps=sizes.socket_steps,
                        broadcasts=sizes.broadcasts,
                    )
                ),
            )  # fmt: skip
            step(
                "email",
                lambda: email_pipeline.pipeline(
                    desk, chats=sizes.email_chats, admin="admin1", timeout=sizes.email_timeout
                ),
            )
    step("admin_list", lambda: admin_list(sizes, workdir))
    step(
        "quickstart",
        lambda: quickstart.measure(
            workdir, users=[f"q{n}" for n in range(sizes.quickstart_users)],
            rate=sizes.quickstart_rate, seconds=sizes.quickstart_seconds,
            repetitions=sizes.repetitions,
        ),
    )  # fmt: skip
    results["busy_at_end"] = other_processes()
    results["seconds"] = round(time.time() - started, 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="desk's benchmarks against their floors")
    parser.add_argument("--tiny", action="store_true", help="toy sizes: checks, not figures")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    args = parser.parse_args()
    only = tuple(s for s in args.only.split(",") if s)
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    try:
        configure()
    except StackError as error:
        raise SystemExit(str(error)) from None
    raise_fd_limit()
    sizes = TINY if args.tiny else FULL
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as workdir:
        results = run(sizes, only, Path(workdir))
    out = BASE_DIR / "bench" / "results" / ("tiny" if args.tiny else "")
    print(report.table(results))
    report.write(results, out / "latest.json", None if args.tiny else report.DOCS)
    print(f"\nwritten: {out / 'latest.json'}" + ("" if args.tiny else f", {report.DOCS}"))
