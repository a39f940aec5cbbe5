"""Lean clients for the load generator, and the statistics every scenario reports.

The load generator shares the machine's two cores with the servers, PostgreSQL and Redis. A full
HTTP client library spends more CPU per request than desk's fast paths do, and would make the
server look slower than it is; so HTTP is a few lines of keep-alive HTTP/1.1 on asyncio streams.
Websockets use the `websockets` library, whose per-frame cost is small.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.live import Server

# Any 32 letters or digits: Django's CSRF check only needs the cookie and the header to agree.
CSRF_TOKEN = "deskbenchcsrftoken00000000000000"
ADMIN_SOCKET = "/ws/admin/notifications/"


def chat_socket(chat_id: str) -> str:
    return f"/ws/support_chat/{chat_id}/"


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank percentile of an already sorted list (p in 0..1)."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def summary(samples: Iterable[float]) -> dict[str, float | int]:
    """n, p50, p95, p99 and max of latencies in milliseconds, rounded for reading."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50), 2),
        "p95_ms": round(percentile(ordered, 0.95), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1], 2) if ordered else float("nan"),
    }


def median_of(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure across repetitions (counts are summed)."""
    merged: dict[str, Any] = {}
    for key in runs[0]:
        values = [run[key] for run in runs]
        if key == "n" or key.startswith(("lost", "errors", "sent")):
            merged[key] = sum(values)
        elif all(isinstance(v, int | float) for v in values):
            merged[key] = round(statistics.median(values), 2)
        else:
            merged[key] = values[0]
    return merged


class Http:
    """Keep-alive HTTP/1.1 connections to one server, opened as concurrency demands.

    A connection idle for longer than KEEP_IDLE is not reused: the server closes idle ones after
    its keep-alive timeout (uvicorn's 5 s), and a request on one it is closing would fail.
    """

    KEEP_IDLE = 3.0

    def __init__(self, server: Server) -> None:
        self.port = server.port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < self.KEEP_IDLE and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def request(
        self, method: str, path: str, session: str, body: object = None
    ) -> tuple[int, bytes]:
        reader, writer = await self._connection()
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: sessionid={session}; csrftoken={CSRF_TOKEN}\r\n"
            f"X-CSRFToken: {CSRF_TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        writer.write(head.encode() + data)
        status_line = await reader.readline()
        if not status_line:
            writer.close()
            raise ConnectionResetError("the server closed the connection without answering")
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        payload = await reader.readexactly(length)
        self.idle.append((reader, writer, time.monotonic()))
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def open_socket(server: Server, path: str, session: str) -> ClientConnection:
    """A logged-in websocket, as a browser on the site opens it (Origin and session cookie).

    No client pings: an idle socket should cost the server only what the server itself decides.
    """
    return await connect(
        server.url(path),
        additional_headers={"Origin": server.origin, "Cookie": f"sessionid={session}"},
        open_timeout=120,
        close_timeout=5,
        ping_interval=None,
        max_queue=None,
    )


async def open_sockets(
    server: Server, paths_and_sessions: Sequence[tuple[str, str]], concurrency: int = 50
) -> list[ClientConnection]:
    """Many sockets, `concurrency` handshakes in flight at a time, in the order given."""
    gate = asyncio.Semaphore(concurrency)

    async def one(path: str, session: str) -> ClientConnection:
        async with gate:
            return await open_socket(server, path, session)

    return list(await asyncio.gather(*(one(p, s) for p, s in paths_and_sessions)))


async def close_sockets(sockets: Sequence[ClientConnection], concurrency: int = 200) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(websocket: ClientConnection) -> None:
        async with gate:
            await websocket.close()

    await asyncio.gather(*(one(w) for w in sockets), return_exceptions=True)
