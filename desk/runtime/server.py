"""How desk runs uvicorn: one command line for `make run` and the tests' real servers, and an HTTP
protocol that gives up on a client whose request headers do not arrive in time.

uvicorn 0.54 has no timeout for reading a request's headers: its keep-alive timer runs only
between requests, and stops at the first byte of the next one; a connection that sends nothing at
all has no timer in the httptools protocol. A client could hold a connection, a file descriptor and
a parser for as long as it liked by sending a request line and then a header a minute (slowloris).
`HttpProtocol` adds that timeout: the headers must be complete within DESK_HEADER_TIMEOUT seconds of
the connection opening (for its first request) or of the request's first byte (for the next ones);
otherwise the answer is 408 and the connection is closed.

Written against uvicorn 0.54.0's httptools protocol (the one `--http auto` picks when httptools is
installed, as uvicorn[standard] does), overriding only the parser callbacks it names; guarded by
tests/security/test_slow_clients.py, which holds stalled connections against a real server.
Request bodies are guarded at the ASGI layer (desk/runtime/threadpool.py).
"""

from __future__ import annotations

import asyncio
import sys

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

HEADER_TIMEOUT_DETAIL = b"The request headers did not arrive in time."


def uvicorn_command(*, host: str, port: int, graceful_shutdown: int) -> list[str]:
    """`python -m uvicorn ...` as desk runs it; desk/run.py and tests/live.py both start this."""
    return [
        sys.executable, "-m", "uvicorn", "desk.asgi:application",
        "--host", host,
        "--port", str(port),
        "--http", f"{__name__}:HttpProtocol",
        "--ws", "auto",
        # Frames beyond 1 MiB are cut off by uvicorn before Python parses them; the consumers
        # answer anything over 100,000 characters with a frame_too_large error.
        "--ws-max-size", "1048576",
        # No permessage-deflate, though browsers offer it: chat frames are small, and each
        # socket's zlib state cost 35 KB (77 KB per idle socket instead of 42, measured by
        # bench/connections.py) and CPU for every frame sent.
        "--ws-per-message-deflate", "false",
        "--lifespan", "off",
        "--no-access-log",
        "--timeout-graceful-shutdown", str(graceful_shutdown),
    ]  # fmt: skip


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's headers."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # On a kept-alive connection the next request's clock starts at its first byte (the
        # keep-alive timeout covers the wait before it). For the first request it is already
        # running since the connection opened, and is not restarted.
        self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        super().on_headers_complete()

    def _start_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(_header_timeout(), self._on_header_timeout)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request's headers are late behind a response still being sent: let
            # that response finish, then close instead of waiting for the rest.
            self.cycle.keep_alive = False
            return
        content = [STATUS_LINE[408]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(HEADER_TIMEOUT_DETAIL)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                HEADER_TIMEOUT_DETAIL,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


def _header_timeout() -> float:
    # Read when a connection needs it: uvicorn imports this module before the application, and
    # with it Django's settings.
    from django.conf import settings

    return float(settings.DESK_HEADER_TIMEOUT)
