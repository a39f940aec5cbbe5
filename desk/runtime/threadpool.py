"""Long-lived threads for the synchronous part of HTTP requests, taken only once the body is in.

Under ASGI, Django runs a request's synchronous code (middleware hooks, sync views, the database
work of async views) on a thread of its own: a new thread for every request, started and joined
each time. That costs CPU on every request and, with it, a fresh database connection per request.
This wrapper hands each HTTP request one of a fixed set of long-lived threads instead (as a WSGI
server's thread pool would), using asgiref's ThreadSensitiveContext with an executor we own.

The number of threads, and so of database connections, each process uses is bounded; that makes
them worth guarding. Django reads the whole request body before anything else, so a request that
took its thread on arrival held it for as long as its client took to send the body: sixteen
clients that sent headers and then nothing stopped every other request of the process. So:

- the body is read here first, on the event loop, where a slow one costs a socket and a coroutine,
  then replayed to Django: within `body_timeout` seconds of the headers (408 after), up to
  `max_body_size` bytes (413 beyond, as Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check would;
  `max_body_size` may also be a function of the request's path: the attachments' uploads may be
  larger, chats.attachments.uploads.request_body_limit);
- a request then waits at most `thread_wait` seconds for a free thread: when every thread stays busy
  that long, the process is overloaded, and it answers 503 with Retry-After rather than queue
  without end.

Headers are guarded by the HTTP protocol itself (desk/runtime/server.py). Websockets pass straight
through.

Written against asgiref 3.13.0, the first release whose ThreadSensitiveContext takes an executor,
and Django 6.1.3's ASGIHandler; guarded by tests/desk/test_threadpool.py and
tests/security/test_slow_clients.py (see README.md beside this file).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from asgiref.sync import ThreadSensitiveContext
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from chats.errors import UnavailableError
from desk import i18n

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: Django's ASGIHandler and the static handler type receive and send more narrowly.
ASGIApp = Callable[..., Awaitable[None]]

# Bodies up to this size wait in memory, larger ones in a temporary file: a few hundred clients each
# sending a body of the largest allowed size cost disk, not a few hundred times that in memory.
BODY_IN_MEMORY = 64 * 1024
# The size of the chunks a spooled body is replayed in.
REPLAY_CHUNK = 64 * 1024

logger = logging.getLogger(__name__)

# Marked for the catalogs; written out in the request's language when refused (these requests
# never reach Django's LocaleMiddleware, so the language is read from the request here).
BODY_TIMEOUT_DETAIL = gettext_noop("The request body did not arrive in time.")
BODY_TOO_LARGE_DETAIL = gettext_noop("The request body is larger than the %(limit)s bytes allowed.")


def body_too_large_detail(limit: int | None) -> str:
    """The 413's words for a body over `limit` bytes, in the active language (desk/api.py
    answers the same for a body Django itself found too large)."""
    return gettext(BODY_TOO_LARGE_DETAIL) % {"limit": limit}


async def answer(
    send: Send,
    status: int,
    content: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    head: bool = False,
) -> None:
    """A whole response written by desk's ASGI layers, before Django (whose middleware would add
    nosniff); no body for a HEAD request. Also desk/health.py's and desk/metrics.py's."""
    start = [
        (b"content-type", content_type),
        (b"content-length", str(len(content)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": b"" if head else content})


class RequestThreadPool:
    def __init__(
        self,
        app: ASGIApp,
        *,
        threads: int,
        thread_wait: float,
        body_timeout: float,
        max_body_size: int | Callable[[str], int] | None,
        api_prefix: Callable[[], str] | None = None,
        too_large_detail: Callable[[str], str] | None = None,
        cors_grant: Callable[[Scope], list[tuple[bytes, bytes]]] | None = None,
    ) -> None:
        self.app = app
        self.threads = threads
        self.thread_wait = thread_wait
        self.body_timeout = body_timeout
        self.max_body_size = max_body_size
        # Refusals under the API answer in its documented shape, {"detail": "..."}; pages in text.
        self.api_prefix = api_prefix
        # What a 413 says for a path (an upload's names the file limit), and the CORS headers an
        # embedding page needs to read a refusal at all (Django's CORS middleware never runs).
        self.too_large_detail = too_large_detail
        self.cors_grant = cors_grant
        self._idle: asyncio.LifoQueue[ThreadPoolExecutor] | None = None

    @classmethod
    def from_settings(cls, app: ASGIApp) -> RequestThreadPool:
        from django.conf import settings
        from django.urls import reverse

        from chats.attachments.uploads import request_body_limit, request_too_large_detail
        from desk.runtime.origins import cors_grant

        return cls(
            app,
            threads=settings.DESK_REQUEST_THREADS,
            thread_wait=settings.DESK_REQUEST_THREAD_WAIT,
            body_timeout=settings.DESK_BODY_TIMEOUT,
            # DATA_UPLOAD_MAX_MEMORY_SIZE, but for the attachments' uploads.
            max_body_size=request_body_limit,
            too_large_detail=request_too_large_detail,
            cors_grant=cors_grant,
            # Resolved on first use: the URLconf imports every app's API module.
            api_prefix=functools.cache(lambda: reverse("api:api-root")),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._body_limit(scope)
        if self._declared_too_large(scope, limit):
            too_large = functools.partial(self._too_large_detail, scope, limit)
            await self._refuse(scope, send, 413, too_large, close=True)
            return
        with tempfile.SpooledTemporaryFile(max_size=BODY_IN_MEMORY) as body:
            try:
                async with asyncio.timeout(self.body_timeout):
                    complete = await self._read_body(receive, body, limit)
            except TimeoutError:
                await self._refuse(
                    scope, send, 408, functools.partial(gettext, BODY_TIMEOUT_DETAIL), close=True
                )
                return
            except BodyTooLargeError:
                too_large = functools.partial(self._too_large_detail, scope, limit)
                await self._refuse(scope, send, 413, too_large, close=True)
                return
            if not complete:
                return  # The client went away; nobody is left to answer.
            idle = self._pool()
            try:
                # A free thread needs no timer (a few microseconds on every request otherwise).
                executor = idle.get_nowait() if not idle.empty() else None
                if executor is None:
                    async with asyncio.timeout(self.thread_wait):
                        executor = await idle.get()
            except TimeoutError:
                logger.warning(
                    "every request thread stayed busy for %g s: %s answered 503",
                    self.thread_wait,
                    scope.get("path"),
                )
                busy = UnavailableError()
                await self._refuse(
                    scope,
                    send,
                    busy.status,
                    lambda: busy.detail,
                    retry_after=busy.retry_after_header,
                )
                return
            try:
                async with ThreadSensitiveContext(executor=executor):
                    await self.app(scope, _replay(body, receive), send)
            finally:
                idle.put_nowait(executor)

    async def _read_body(self, receive: Receive, body: IO[bytes], limit: int | None) -> bool:
        """Read the whole body into `body`; False if the client disconnected first."""
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit is not None and size > limit:
                raise BodyTooLargeError
            body.write(chunk)
            if not message.get("more_body", False):
                return True

    def _body_limit(self, scope: Scope) -> int | None:
        if callable(self.max_body_size):
            return self.max_body_size(scope.get("path", ""))
        return self.max_body_size

    def _declared_too_large(self, scope: Scope, limit: int | None) -> bool:
        # A Content-Length over the limit is refused before a byte of the body is read.
        if limit is None:
            return False
        return any(
            name == b"content-length" and value.isdigit() and int(value) > limit
            for name, value in scope.get("headers", ())
        )

    def _too_large_detail(self, scope: Scope, limit: int | None) -> str:
        if self.too_large_detail is not None:
            return self.too_large_detail(scope.get("path", ""))
        return body_too_large_detail(limit)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        written: Callable[[], str],
        *,
        close: bool = False,
        retry_after: str | None = None,
    ) -> None:
        """Answer without Django: its middleware never sees these requests. `written()` gives
        the detail, called in the request's language."""
        with translation.override(i18n.scope_language(scope)):
            detail = written()
        if self.api_prefix is not None and scope.get("path", "").startswith(self.api_prefix()):
            content, kind = json.dumps({"detail": detail}).encode(), b"application/json"
        else:
            content, kind = detail.encode(), b"text/plain; charset=utf-8"
        headers = self.cors_grant(scope) if self.cors_grant is not None else []
        if retry_after is not None:
            headers.append((b"retry-after", retry_after.encode()))
        if close:
            # The rest of an unread body would otherwise be parsed as the next request.
            headers.append((b"connection", b"close"))
        await answer(send, status, content, kind, headers)

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


class BodyTooLargeError(Exception):
    pass


def _replay(body: IO[bytes], receive: Receive) -> Receive:
    """`receive` for the app: the body read already, then the client's own (for disconnects)."""
    body.seek(0)
    chunks = _chunks(body)
    pending: Message | None = next(chunks)

    async def replayed() -> Message:
        nonlocal pending
        if pending is None:
            return await receive()
        message, pending = pending, next(chunks, None)
        return message

    return replayed


def _chunks(body: IO[bytes]) -> Iterator[Message]:
    chunk = body.read(REPLAY_CHUNK)
    while True:
        following = body.read(REPLAY_CHUNK)
        yield {"type": "http.request", "body": chunk, "more_body": bool(following)}
        if not following:
            return
        chunk = following
