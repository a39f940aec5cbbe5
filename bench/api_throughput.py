"""REST hot paths under open-loop load against real ASGI server processes.

    .venv/bin/python -m bench.api_throughput [--rates 20,100,300] [--seconds 10] [--users 200]
                                             [--processes 1]

Starts uvicorn (--processes workers) on a free loopback port with this environment (set
DATABASE_URL and REDIS_URL for PostgreSQL and a real Redis; unset, the embedded SQLite and Redis
are used), logs in --users users, then for each rate sends requests on a fixed schedule, whatever
the server's pace (open loop: a slow server shows up as latency, not as a politely lower rate).
Latency runs from the moment a request was due to its response, so queueing in the client or the
server counts.

Scenarios: POST /api/support_chat/messages (each user posting to their chat), GET
/api/support_chat/messages?after= (polling), GET /api/admin/chats (the dashboard list).
Afterwards the posted messages are counted in the database: every 201 must be stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = BASE_DIR / "bench" / "results"


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        ordered = sorted(self.latencies_ms) or [float("nan")]

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

        return {
            "ok": len(self.latencies_ms),
            "errors": self.errors,
            "p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1], 1),
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_users(count: int) -> tuple[list[dict[str, str]], dict[str, str], list[str]]:
    """Users with logged-in sessions and CSRF tokens, an admin, and each user's newest message."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.middleware.csrf import _get_new_csrf_string

    from chats import services

    call_command("migrate", verbosity=0)
    user_model = get_user_model()

    def session_for(user: object) -> dict[str, str]:
        store = SessionStore()
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store.create()
        return {"sessionid": store.session_key, "csrftoken": _get_new_csrf_string()}

    sessions, anchors = [], []
    for i in range(count):
        user, _ = user_model.objects.get_or_create(
            username=f"bench{i}@example.com", defaults={"email": f"bench{i}@example.com"}
        )
        sessions.append(session_for(user))
        anchors.append(str(services.user_message_post(user=user, content="bench anchor").id))
    admin, _ = user_model.objects.get_or_create(
        username="bench-admin@example.com",
        defaults={"email": "bench-admin@example.com", "is_staff": True},
    )
    return sessions, session_for(admin), anchors


def count_messages() -> int:
    from chats.models import SupportMessage

    return SupportMessage.objects.filter(chat__user__username__startswith="bench").count()


class Connections:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    The load generator shares the machine's cores with the server and the database; a full
    client library spends more CPU per request than the server's fast paths, and would make the
    server look slower than it is.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, path: str, cookies: dict[str, str], body: object) -> int:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        data = json.dumps(body).encode() if body is not None else b""
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            f"X-CSRFToken: {cookies['csrftoken']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        writer.write(head.encode() + data)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return int(status_line.split()[1])

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def open_loop(port: int, rate: int, seconds: float, request_for: object) -> Outcome:
    outcome = Outcome()
    connections = Connections(port)
    start = time.perf_counter() + 0.2
    total = int(rate * seconds)

    async def fire(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        method, path, cookies, body, expect = request_for(i)
        try:
            status: int | str = await connections.request(method, path, cookies, body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            status = type(error).__name__
        if status == expect:
            outcome.latencies_ms.append((time.perf_counter() - due) * 1000)
        else:
            outcome.errors[str(status)] = outcome.errors.get(str(status), 0) + 1

    await asyncio.gather(*(fire(i) for i in range(total)))
    connections.close()
    return outcome


def wait_until_serving(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json") as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="20,100,300")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--processes", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    data_dir = tempfile.mkdtemp(prefix="desk-bench-")
    os.environ.setdefault("DESK_DATA_DIR", data_dir)
    redis = None
    if not os.environ.get("REDIS_URL"):
        from desk.embedded import start_redis

        redis = start_redis(Path(data_dir) / "redis.sock")
    from desk.embedded import backing_services_summary

    sessions, admin, anchors = prepare_users(args.users)
    before = count_messages()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "desk.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.processes),
            "--no-access-log", "--lifespan", "off", "--log-level", "warning",
        ],
        cwd=BASE_DIR,
    )  # fmt: skip
    try:
        wait_until_serving(port, server)

        scenarios = {
            "post": lambda i: (
                "POST",
                "/api/support_chat/messages",
                sessions[i % len(sessions)],
                {"content": f"load message {i}"},
                201,
            ),
            "poll": lambda i: (
                "GET",
                f"/api/support_chat/messages?after={anchors[i % len(anchors)]}&limit=5",
                sessions[i % len(sessions)],
                None,
                200,
            ),
            "admin_list": lambda i: (
                "GET",
                f"/api/admin/chats?limit=50&q={random.choice(['', 'bench1'])}",
                admin,
                None,
                200,
            ),
        }
        results: dict[str, dict[str, object]] = {}
        posted = 0
        for name, request_for in scenarios.items():
            for rate in rates:
                outcome = asyncio.run(open_loop(port, rate, args.seconds, request_for))
                results[f"{name}@{rate}/s"] = outcome.summary()
                if name == "post":
                    posted += len(outcome.latencies_ms)
        stored = count_messages() - before
    finally:
        server.terminate()
        server.wait(timeout=15)
        if redis is not None:
            from desk.embedded import stop_redis

            stop_redis(redis)

    print(
        f"\n{backing_services_summary()}; uvicorn processes: {args.processes}; "
        f"{args.seconds:g} s per rate"
    )
    print(f"{'scenario':<22}{'ok':>7}{'errors':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, row in results.items():
        errors = sum(row["errors"].values()) if row["errors"] else 0
        print(
            f"{name:<22}{row['ok']:>7}{errors:>10}{row['p50_ms']:>9}{row['p99_ms']:>9}"
            f"{row['max_ms']:>9}"
        )
    print(f"messages answered 201: {posted}; stored: {stored}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api_throughput.json").write_text(
        json.dumps(
            {
                "backing": backing_services_summary(),
                "results": results,
                "posted": posted,
                "stored": stored,
            },
            indent=2,
        )
    )
    if stored != posted:
        raise SystemExit(f"lost messages: {posted} answered 201 but {stored} stored")


if __name__ == "__main__":
    main()
