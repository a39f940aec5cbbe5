"""HTTP requests run their synchronous work on a bounded set of long-lived threads."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from desk.threadpool import RequestThreadPool


class RecordingApp:
    """An ASGI app whose request does some thread-sensitive sync work, as Django's does."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.running = 0
        self.most_at_once = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await sync_to_async(self.work)()
        await sync_to_async(self.work)()

    def work(self) -> None:
        self.threads.append(threading.get_ident())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.01)
        self.running -= 1


async def request(app: Any, kind: str = "http") -> None:
    await app({"type": kind}, None, None)


@pytest.mark.asyncio
async def test_one_requests_sync_calls_share_one_thread() -> None:
    inner = RecordingApp()
    await request(RequestThreadPool(inner, threads=4))
    assert len(set(inner.threads)) == 1


@pytest.mark.asyncio
async def test_consecutive_requests_reuse_the_same_thread() -> None:
    inner = RecordingApp()
    app = RequestThreadPool(inner, threads=4)
    for _ in range(5):
        await request(app)
    assert len(set(inner.threads)) == 1


@pytest.mark.asyncio
async def test_concurrent_requests_run_in_parallel_up_to_the_pool_size() -> None:
    inner = RecordingApp()
    app = RequestThreadPool(inner, threads=3)
    await asyncio.gather(*(request(app) for _ in range(9)))
    assert inner.most_at_once == 3
    assert len(set(inner.threads)) == 3
    assert len(inner.threads) == 18


@pytest.mark.asyncio
async def test_a_long_lived_websocket_does_not_hold_a_request_thread() -> None:
    released = asyncio.Event()
    served: list[str] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await released.wait()
        served.append(scope["type"])

    app = RequestThreadPool(inner, threads=1)
    socket = asyncio.create_task(request(app, "websocket"))
    await asyncio.wait_for(request(app), timeout=5)
    assert served == ["http"]
    released.set()
    await socket
