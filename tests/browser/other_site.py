"""A second web server for browser tests: a site other than desk, on a port of its own.

`other_site(pages)` serves fixed pages (path -> `Page`) from a real HTTP server on 127.0.0.1 and a
free port, in a thread, until the block ends: another app on desk's host, say. With
`host="localhost", port=...` its origin is another host name (and a port chosen beforehand), so
its pages are another site than desk's: a host site embedding the widget. With
`upstream=<desk's port>` it is a customer's site with desk behind it on the same origin: its own
pages from `pages`, and every other request (the widget's script, the API, the websocket upgrade)
passed through unchanged, byte for byte, to desk, as a site's front proxy would.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Page:
    body: str
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> bytes:
        body = self.body.encode()
        head = [
            "HTTP/1.1 200 OK",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(body)}",
            # One request per connection: the next one on a kept-alive connection may be desk's.
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True)
class Site:
    origin: str

    def url(self, path: str) -> str:
        return self.origin + path


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


@contextlib.contextmanager
def other_site(
    pages: Mapping[str, Page],
    *,
    upstream: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[Site]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        target = head.split(b" ", 2)[1].decode("latin1")
        page = pages.get(urlsplit(target).path)
        if page is not None or upstream is None:
            writer.write(page.response() if page is not None else NOT_FOUND)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        desk_reader, desk_writer = await asyncio.open_connection("127.0.0.1", upstream)
        desk_writer.write(head)
        await asyncio.gather(_pipe(reader, desk_writer), _pipe(desk_reader, writer))

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", port))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://{host}:{port}")
    finally:

        async def stop() -> None:
            server.close()
            # Connections still open (a websocket passed through to desk) end here.
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
