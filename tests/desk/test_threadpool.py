"""HTTP requests run their synchronous work on a bounded set of long-lived threads, which they take
only once their body is in, and wait for only so long."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from desk.runtime.threadpool import BODY_IN_MEMORY, BODY_TIMEOUT_DETAIL, RequestThreadPool

Message = dict[str, Any]


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


class Client:
    """One HTTP request's side of the ASGI conversation: the body it sends, what it is answered."""

    def __init__(self, *chunks: bytes, stall: bool = False, headers: Any = ()) -> None:
        self.messages: list[Message] = [
            {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
            for n, chunk in enumerate(chunks or (b"",))
        ]
        # A client that stops sending: after its chunks (if any), receive() never returns.
        self.stall = stall
        if stall:
            for message in self.messages:
                message["more_body"] = True
        self.headers = list(headers)
        self.sent: list[Message] = []
        self.gone = asyncio.Event()

    async def receive(self) -> Message:
        if self.messages:
            return self.messages.pop(0)
        if self.stall:
            await asyncio.Event().wait()
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def response_headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    def scope(self, path: str = "/api/support_chat/messages") -> dict[str, Any]:
        return {"type": "http", "path": path, "headers": self.headers}


def pool(app: Any, **limits: Any) -> RequestThreadPool:
    options: dict[str, Any] = {
        "threads": 4,
        "thread_wait": 5.0,
        "body_timeout": 5.0,
        "max_body_size": 1000,
        "api_prefix": lambda: "/api/",
    }
    return RequestThreadPool(app, **{**options, **limits})


async def request(app: Any, kind: str = "http") -> None:
    client = Client()
    await app({**client.scope(), "type": kind}, client.receive, client.send)


@pytest.mark.asyncio
async def test_one_requests_sync_calls_share_one_thread() -> None:
    inner = RecordingApp()
    await request(pool(inner, threads=4))
    assert len(set(inner.threads)) == 1


@pytest.mark.asyncio
async def test_consecutive_requests_reuse_the_same_thread() -> None:
    inner = RecordingApp()
    app = pool(inner, threads=4)
    for _ in range(5):
        await request(app)
    assert len(set(inner.threads)) == 1


@pytest.mark.asyncio
async def test_concurrent_requests_run_in_parallel_up_to_the_pool_size() -> None:
    inner = RecordingApp()
    app = pool(inner, threads=3)
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

    app = pool(inner, threads=1)
    socket = asyncio.create_task(request(app, "websocket"))
    await asyncio.wait_for(request(app), timeout=5)
    assert served == ["http"]
    released.set()
    await socket


# --- Bodies are read before a thread is taken ----------------------------------------------------


def echo_app() -> tuple[Callable[..., Awaitable[None]], list[bytes]]:
    """An app that reads the whole body in a request thread, as Django does, and records it."""
    bodies: list[bytes] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        bodies.append(b"".join(chunks))
        await sync_to_async(lambda: None)()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return inner, bodies


@pytest.mark.asyncio
async def test_clients_stalled_in_their_body_do_not_hold_the_threads() -> None:
    inner, bodies = echo_app()
    app = pool(inner, threads=2, body_timeout=60.0)
    stalled = [Client(b'{"content": ', stall=True) for _ in range(50)]
    waiting = [asyncio.create_task(app(c.scope(), c.receive, c.send)) for c in stalled]
    await asyncio.sleep(0.05)
    normal = Client(b'{"content": "hi"}')
    await asyncio.wait_for(app(normal.scope(), normal.receive, normal.send), timeout=2)
    assert normal.status == 200
    assert bodies == [b'{"content": "hi"}']
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


@pytest.mark.asyncio
async def test_the_app_receives_the_whole_body_as_it_was_sent() -> None:
    inner, bodies = echo_app()
    # Over the in-memory size, so the body goes through a temporary file.
    sent = [bytes([n % 251]) * 10_000 for n in range(BODY_IN_MEMORY // 10_000 + 3)]
    client = Client(*sent)
    await pool(inner, max_body_size=10**6)(client.scope(), client.receive, client.send)
    assert bodies == [b"".join(sent)]


@pytest.mark.asyncio
async def test_a_body_slower_than_the_timeout_is_answered_408_and_the_connection_closed() -> None:
    inner, bodies = echo_app()
    client = Client(b'{"content": ', stall=True)
    started = time.monotonic()
    await pool(inner, body_timeout=0.3)(client.scope(), client.receive, client.send)
    assert 0.3 <= time.monotonic() - started < 2
    assert client.status == 408
    assert client.response_headers[b"connection"] == b"close"
    assert json.loads(client.sent[1]["body"]) == {"detail": BODY_TIMEOUT_DETAIL}
    assert bodies == []


@pytest.mark.asyncio
async def test_a_body_over_the_limit_is_answered_413_and_the_connection_closed() -> None:
    inner, bodies = echo_app()
    client = Client(b"x" * 600, b"x" * 600)
    await pool(inner, max_body_size=1000)(client.scope(), client.receive, client.send)
    assert client.status == 413
    assert client.response_headers[b"connection"] == b"close"
    assert bodies == []


@pytest.mark.asyncio
async def test_a_declared_length_over_the_limit_is_answered_413_before_the_body_is_read() -> None:
    inner, _ = echo_app()
    client = Client(b"x" * 10, stall=True, headers=[(b"content-length", b"5000")])
    await asyncio.wait_for(
        pool(inner, max_body_size=1000)(client.scope(), client.receive, client.send), timeout=2
    )
    assert client.status == 413
    assert len(client.messages) == 1  # nothing of the body was asked for


@pytest.mark.asyncio
async def test_a_client_that_leaves_during_its_body_is_not_answered_nor_given_a_thread() -> None:
    inner, bodies = echo_app()
    client = Client()
    client.messages = [{"type": "http.request", "body": b"{", "more_body": True}]
    client.gone.set()
    await pool(inner)(client.scope(), client.receive, client.send)
    assert (client.sent, bodies) == ([], [])


# --- A bounded wait for a thread -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_request_that_waits_too_long_for_a_thread_gets_503_with_retry_after() -> None:
    release = threading.Event()

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await sync_to_async(release.wait)()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = pool(inner, threads=1, thread_wait=0.3)
    busy = Client()
    holding = asyncio.create_task(app(busy.scope(), busy.receive, busy.send))
    await asyncio.sleep(0.05)
    late = Client()
    started = time.monotonic()
    await asyncio.wait_for(app(late.scope(), late.receive, late.send), timeout=5)
    assert 0.3 <= time.monotonic() - started < 2
    assert late.status == 503
    assert late.response_headers[b"retry-after"] == b"5"
    assert "detail" in json.loads(late.sent[1]["body"])
    release.set()
    await holding
    assert busy.status == 200


@pytest.mark.asyncio
async def test_a_request_served_within_the_wait_is_not_refused() -> None:
    inner = RecordingApp()
    app = pool(inner, threads=1, thread_wait=5.0)
    clients = [Client() for _ in range(5)]
    await asyncio.gather(*(app(c.scope(), c.receive, c.send) for c in clients))
    assert len(inner.threads) == 10
    assert all(c.sent == [] for c in clients)  # RecordingApp answers nothing; nobody got a 503


@pytest.mark.asyncio
async def test_a_page_is_refused_in_plain_text_and_the_api_in_its_json_shape() -> None:
    inner, _ = echo_app()
    app = pool(inner, max_body_size=10)
    page, api = Client(b"x" * 20), Client(b"x" * 20)
    await app(page.scope("/accounts/login/"), page.receive, page.send)
    await app(api.scope("/api/support_chat/messages"), api.receive, api.send)
    assert page.response_headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert page.sent[1]["body"].startswith(b"The request body is larger than")
    assert api.response_headers[b"content-type"] == b"application/json"
    assert json.loads(api.sent[1]["body"])["detail"].startswith("The request body is larger than")
