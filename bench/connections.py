"""Scenario 3: many idle, authenticated sockets on one server process.

Users' chat sockets are opened on server A in steps (1,000, then up to 5,000, then 10,000): after
each step the server's resident memory is read (the growth since before the first socket, divided
by the sockets open), and an admin's dashboard socket on the same process times the broadcast of a
new user message while they are all connected.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import psutil

from bench.clients import (
    ADMIN_SOCKET,
    Http,
    chat_socket,
    close_sockets,
    open_socket,
    open_sockets,
    summary,
)
from tests.live import LiveDesk


async def broadcast_latencies(
    desk: LiveDesk, *, poster: str, admin_socket: Any, count: int, tag: str
) -> list[float]:
    """A user posts over REST, one message at a time; how long until the admin's socket has it."""
    http = Http(desk.a)
    samples = []
    try:
        for n in range(count):
            content = f"broadcast {tag}.{n}"
            start = time.perf_counter()
            status, _ = await http.request(
                "POST", "/api/support_chat/messages", desk.cookies[poster], {"content": content}
            )
            if status != 201:
                raise RuntimeError(f"posting answered {status}")
            async with asyncio.timeout(30):
                while True:
                    event = json.loads(await admin_socket.recv())
                    if event.get("message", {}).get("content") == content:
                        break
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        http.close()
    return samples


async def connections(
    desk: LiveDesk, *, users: Sequence[str], admin: str, steps: Sequence[int], broadcasts: int
) -> list[dict[str, Any]]:
    server = psutil.Process(desk.a.process.pid)
    dashboard = await open_socket(desk.a, ADMIN_SOCKET, desk.cookies[admin])
    # The admin's socket is part of the baseline: it is there in every step.
    await broadcast_latencies(desk, poster=users[0], admin_socket=dashboard, count=3, tag="warm-up")
    baseline = server.memory_info().rss
    opened: list[Any] = []
    results = []
    elapsed = 0.0
    try:
        for target in steps:
            batch = users[len(opened) : target]
            start = time.perf_counter()
            opened += await open_sockets(
                desk.a, [(chat_socket(desk.chats[u]), desk.cookies[u]) for u in batch]
            )
            elapsed += time.perf_counter() - start
            await asyncio.sleep(1.0)  # let the server settle (group joins, buffers) before reading
            rss = server.memory_info().rss
            latencies = await broadcast_latencies(
                desk, poster=users[0], admin_socket=dashboard, count=broadcasts, tag=str(target)
            )
            results.append(
                {
                    "sockets": len(opened),
                    "connect_seconds": round(elapsed, 2),
                    "connects_per_second": round(len(opened) / elapsed, 1),
                    "rss_mb": round(rss / 2**20, 1),
                    "kb_per_socket": round((rss - baseline) / len(opened) / 1024, 1),
                    "broadcast": summary(latencies),
                }
            )
    finally:
        await close_sockets([*opened, dashboard])
    return results
