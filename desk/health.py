"""`/healthz` and `/readyz` for load balancers and orchestrators.

Answered on the event loop before anything of Django's runs: no host check (a load balancer asks
by IP address), no session, no middleware, no request thread (a process whose threads are all busy
is still alive, and says so), never logged, and cheap.

- `/healthz`, liveness: 200 `ok` whenever the process's event loop answers. Restart the process
  when it stops answering.
- `/readyz`, readiness: 200 when the database and Redis both answer within DESK_READY_TIMEOUT
  seconds, else 503 with `Retry-After`; the JSON body says which answered
  (`{"database": "ok", "redis": "unavailable"}`). Take the process out of rotation meanwhile: it
  could answer nothing that needs either.

Both answer GET and HEAD, and 405 to anything else. Celery workers and beat are checked from
outside by `manage.py check_workers`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from desk.runtime.threadpool import answer

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[..., Awaitable[None]]

LIVE_PATH = "/healthz"
READY_PATH = "/readyz"
UNCACHED = (b"cache-control", b"no-store")
OK = "ok"
UNAVAILABLE = "unavailable"


class HealthChecks:
    """ASGI middleware answering the two paths itself; everything else goes to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in (LIVE_PATH, READY_PATH):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, scope, 405, {"detail": "GET or HEAD only."}, allow="GET, HEAD")
            return
        if path == LIVE_PATH:
            await _answer(send, scope, 200, OK)
            return
        checks = await readiness()
        ready = all(state == OK for state in checks.values())
        await _answer(send, scope, 200 if ready else 503, checks, retry_after=not ready)


async def readiness() -> dict[str, str]:
    """Whether the database and Redis answer, asked at the same time, each within the timeout."""
    database, redis = await asyncio.gather(
        _within_timeout("database", sync_to_async(_database_answers, thread_sensitive=False)()),
        _within_timeout("redis", _redis_answers()),
    )
    return {"database": database, "redis": redis}


async def _within_timeout(name: str, check: Awaitable[None]) -> str:
    try:
        await asyncio.wait_for(check, timeout=settings.DESK_READY_TIMEOUT)
    except Exception as error:  # any failure is "not ready"; the reason goes to the log
        logger.warning("readiness: %s does not answer: %r", name, error)
        return UNAVAILABLE
    return OK


def _database_answers() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # Back to the pool (PostgreSQL), or closed: a thread of the loop's executor keeps none.
        connection.close()


async def _redis_answers() -> None:
    # The channel layer's own pool: the Redis every socket and broadcast depends on.
    layer: Any = get_channel_layer()
    await layer.connection(0).ping()


async def _answer(
    send: Any,
    scope: Scope,
    status: int,
    body: object,
    *,
    allow: str | None = None,
    retry_after: bool = False,
) -> None:
    if isinstance(body, str):
        payload, content_type = body.encode(), b"text/plain; charset=utf-8"
    else:
        payload, content_type = json.dumps(body).encode(), b"application/json"
    headers = [UNCACHED]
    if allow is not None:
        headers.append((b"allow", allow.encode()))
    if retry_after:
        headers.append((b"retry-after", b"5"))
    await answer(send, status, payload, content_type, headers, head=scope["method"] == "HEAD")
