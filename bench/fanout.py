"""Scenarios 1 and 2: how fast a posted message reaches its sockets, and at what rate that holds.

Open loop: messages are sent on a fixed schedule whatever the servers' pace, so a slow server shows
up as latency, never as a politely lower rate. Each message's latency runs from the moment it was
due to the moment a socket received it, so queueing anywhere (client, server, database, Redis)
counts. Every message carries a unique content, which is how a received event is matched to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.clients import (
    ADMIN_SOCKET,
    Http,
    chat_socket,
    close_sockets,
    median_of,
    open_socket,
    open_sockets,
    summary,
)
from bench.cpu import CpuMeter
from tests.live import LiveDesk, Server

# How long after the last message was due its deliveries are awaited before counting as lost.
DRAIN_SECONDS = 10.0
# Throughput: a rate passes when every message is stored and delivered with p99 under this.
P99_LIMIT_MS = 100.0
_runs = itertools.count()


@dataclass
class Arrivals:
    """When each message (by content) reached a user's socket and the admin's socket."""

    user: dict[str, float] = field(default_factory=dict)
    admin: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Audience:
    """Open sockets: each user's chat socket, and one admin's dashboard socket."""

    users: list[str]
    sessions: list[str]
    user_sockets: list[ClientConnection]
    admin_socket: ClientConnection
    cpu: CpuMeter
    arrivals: Arrivals = field(default_factory=Arrivals)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.readers = [
            asyncio.create_task(self._read(ws, self.arrivals.user, "new_message"))
            for ws in self.user_sockets
        ]
        self.readers.append(
            asyncio.create_task(
                self._read(self.admin_socket, self.arrivals.admin, "new_user_message")
            )
        )

    async def _read(self, websocket: ClientConnection, into: dict[str, float], kind: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in websocket:
                now = time.perf_counter()
                event = json.loads(frame)
                if event.get("type") == kind:
                    into[event["message"]["content"]] = now
                elif event.get("type") == "error":
                    self.arrivals.errors.append(event.get("code", "error"))


@contextlib.asynccontextmanager
async def audience(
    desk: LiveDesk,
    users: Sequence[str],
    *,
    user_servers: Sequence[Server],
    admin_server: Server,
    admin: str,
) -> AsyncIterator[Audience]:
    """Each user's chat socket on `user_servers[i % len]`, the admin's dashboard on its server."""
    # Users grouped by the server their socket is on, so `users[i]` owns `user_sockets[i]`.
    ordered_users = [u for n in range(len(user_servers)) for u in users[n :: len(user_servers)]]
    sockets: list[ClientConnection] = []
    for n, server in enumerate(user_servers):
        sockets += await open_sockets(
            server,
            [(chat_socket(desk.chats[u]), desk.cookies[u]) for u in users[n :: len(user_servers)]],
        )
    dashboard = await open_socket(admin_server, ADMIN_SOCKET, desk.cookies[admin])
    crowd = Audience(
        users=ordered_users,
        sessions=[desk.cookies[u] for u in ordered_users],
        user_sockets=sockets,
        admin_socket=dashboard,
        cpu=CpuMeter(desk),
    )
    crowd.start()
    try:
        yield crowd
    finally:
        for reader in crowd.readers:
            reader.cancel()
        await close_sockets([*sockets, dashboard])


async def run_rate(
    crowd: Audience,
    *,
    rate: float,
    seconds: float,
    via: str,
    post_servers: Sequence[Server],
) -> dict[str, Any]:
    """Post `rate` messages a second for `seconds`, spread over the audience's users, through
    REST (`via="rest"`, user i posting to `post_servers[i % len]`) or their own sockets."""
    run = next(_runs)
    total = max(1, int(rate * seconds))
    https = [Http(server) for server in post_servers]
    due: dict[str, float] = {}
    post_ms: list[float] = []
    failures: dict[str, int] = {}
    before = await crowd.cpu.snapshot_async()
    start = time.perf_counter() + 0.2

    async def send(n: int) -> None:
        index = n % len(crowd.users)
        content = f"bench {run}.{n}"
        when = start + n / rate
        await asyncio.sleep(max(0.0, when - time.perf_counter()))
        due[content] = when
        try:
            if via == "socket":
                frame = json.dumps({"action": "send_message", "content": content})
                await crowd.user_sockets[index].send(frame)
                return
            http = https[index % len(https)]
            status, _ = await http.request(
                "POST", "/api/support_chat/messages", crowd.sessions[index], {"content": content}
            )
        except (OSError, ConnectionClosed, asyncio.IncompleteReadError) as error:
            status = type(error).__name__
        if status == 201:
            post_ms.append((time.perf_counter() - when) * 1000)
        else:
            failures[str(status)] = failures.get(str(status), 0) + 1
            due.pop(content, None)

    await asyncio.gather(*(send(n) for n in range(total)))
    arrivals = crowd.arrivals
    deadline = time.perf_counter() + DRAIN_SECONDS
    # Polled rather than signalled: the readers would otherwise check the whole set per event.
    while time.perf_counter() < deadline and not (  # noqa: ASYNC110
        due.keys() <= arrivals.user.keys() and due.keys() <= arrivals.admin.keys()
    ):
        await asyncio.sleep(0.05)
    for http in https:
        http.close()
    cpu = await crowd.cpu.per_message_ms_async(before, len(due))

    def latencies(received: dict[str, float]) -> list[float]:
        return [(received[c] - t) * 1000 for c, t in due.items() if c in received]

    to_user = latencies(arrivals.user)
    to_admin = latencies(arrivals.admin)
    both = [
        (max(arrivals.user[c], arrivals.admin[c]) - t) * 1000
        for c, t in due.items()
        if c in arrivals.user and c in arrivals.admin
    ]
    return {
        "rate": rate,
        "via": via,
        "sent": total,
        "errors": sum(failures.values()) + len(arrivals.errors),
        "lost_user": len(due) - len(to_user),
        "lost_admin": len(due) - len(to_admin),
        "user": summary(to_user),
        "admin": summary(to_admin),
        "both": summary(both),
        "post": summary(post_ms) if via == "rest" else None,
        "cpu_ms_per_message": cpu,
    }


async def warm_up(crowd: Audience, post_servers: Sequence[Server]) -> None:
    """A second of light traffic, not recorded: a process's first requests open its database
    connections and fill its caches, which is not what the figures are about."""
    await run_rate(crowd, rate=10, seconds=1, via="rest", post_servers=post_servers)


def _median_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged = {key: runs[0][key] for key in ("rate", "via")}
    merged["sent"] = sum(r["sent"] for r in runs)
    for key in ("errors", "lost_user", "lost_admin"):
        merged[key] = sum(r[key] for r in runs)
    for key in ("user", "admin", "both", "post", "cpu_ms_per_message"):
        merged[key] = median_of([r[key] for r in runs]) if runs[0][key] else None
    merged["repetitions"] = len(runs)
    return merged


async def fanout(
    desk: LiveDesk,
    *,
    users: Sequence[str],
    admin: str,
    rates: Sequence[float],
    seconds: float,
    repetitions: int,
) -> list[dict[str, Any]]:
    """Scenario 1: users' sockets and REST posts on server A, the admin's dashboard on server B."""
    results = []
    async with audience(
        desk, users, user_servers=[desk.a], admin_server=desk.b, admin=admin
    ) as crowd:
        await warm_up(crowd, [desk.a])
        for via in ("rest", "socket"):
            for rate in rates:
                runs = [
                    await run_rate(
                        crowd, rate=rate, seconds=seconds, via=via, post_servers=[desk.a]
                    )
                    for _ in range(repetitions)
                ]
                results.append(_median_runs(runs))
    return results


def passes(result: dict[str, Any]) -> bool:
    return (
        result["errors"] == 0
        and result["lost_user"] == 0
        and result["lost_admin"] == 0
        and result["both"]["p99_ms"] < P99_LIMIT_MS
    )


async def throughput(
    desk: LiveDesk,
    *,
    users: Sequence[str],
    admin: str,
    processes: int,
    ladder: Sequence[float],
    seconds: float,
) -> dict[str, Any]:
    """Scenario 2: climb the ladder of rates until one fails; report the highest that passed.

    With two processes, users' sockets and posts are spread over both and the admin's dashboard
    is on the second; with one, everything is on the first.
    """
    servers = desk.servers[:processes]
    steps: list[dict[str, Any]] = []
    async with audience(
        desk, users, user_servers=servers, admin_server=servers[-1], admin=admin
    ) as crowd:
        await warm_up(crowd, servers)
        for rate in ladder:
            step = await run_rate(
                crowd, rate=rate, seconds=seconds, via="rest", post_servers=servers
            )
            steps.append(step)
            if not passes(step):
                break
    passed = [step for step in steps if passes(step)]
    return {
        "processes": processes,
        "max_rate": passed[-1]["rate"] if passed else 0,
        "p99_at_max_ms": passed[-1]["both"]["p99_ms"] if passed else None,
        "steps": steps,
    }
