"""Long-lived threads for the synchronous part of HTTP requests.

Under ASGI, Django runs a request's synchronous code (middleware hooks, sync views, the database
work of async views) on a thread of its own: a new thread for every request, started and joined
each time. That costs CPU on every request and, with it, a fresh database connection per request.
This wrapper hands each HTTP request one of a fixed set of long-lived threads instead (as a WSGI
server's thread pool would), using asgiref's ThreadSensitiveContext with an executor we own.

Requests beyond the pool's size wait for a free thread rather than starting more: the number of
threads, and so of database connections, each process uses is bounded.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext

ASGIApp = Any


class RequestThreadPool:
    def __init__(self, app: ASGIApp, *, threads: int) -> None:
        self.app = app
        self.threads = threads
        self._idle: asyncio.LifoQueue[ThreadPoolExecutor] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        idle = self._pool()
        executor = await idle.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            idle.put_nowait(executor)

    def _pool(self) -> asyncio.LifoQueue[ThreadPoolExecutor]:
        # Created on first use, inside the server's event loop. Last in, first out: a few hot
        # threads serve a light load, the rest wait untouched.
        if self._idle is None:
            self._idle = asyncio.LifoQueue()
            for n in range(self.threads):
                self._idle.put_nowait(
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"desk-request-{n}")
                )
        return self._idle
