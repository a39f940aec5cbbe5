"""Slow clients against a real server: they cost a socket each, never another client's service.

Sixteen anonymous connections that sent their headers and then no body (or a byte a minute) held
all sixteen request threads, and every other request of the process waited until they left. Here a
few hundred such connections, from one address, stay open while normal requests are timed; and
with short limits, stalled and trickled headers and bodies are answered 408 and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import sqlite3
import statistics
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from tests.live import LiveDesk, live_desk, rest
from tests.security.conftest import FIGURES

pytestmark = pytest.mark.slow

USER_POST = "/api/support_chat/messages"
BODY_HEAD = (
    f"POST {USER_POST} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "Content-Length: 100000\r\n\r\n"
).encode()
HEADERS_BEGUN = b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
# Stalled and trickling connections together, a quarter of each kind.
FLOOD = 300
# "A few hundred ms": well above a normal request's time here (10-30 ms), well below a stall.
NORMAL_REQUEST_LIMIT = 0.5


@pytest.fixture(scope="module")
def patient_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    """Limits long enough that every attacking connection stays open while requests are timed."""
    with live_desk(
        tmp_path_factory.mktemp("slow-flood"),
        servers=1,
        users=["ann"],
        env={"DESK_HEADER_TIMEOUT": "300", "DESK_BODY_TIMEOUT": "300"},
    ) as desk:
        # The first requests of a process import views and open database connections: not the
        # delay this file is about.
        timed_normal_requests(desk, 1)
        yield desk


@pytest.fixture(scope="module")
def strict_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    with live_desk(
        tmp_path_factory.mktemp("slow-limits"),
        servers=1,
        users=["ann"],
        env={"DESK_HEADER_TIMEOUT": "1", "DESK_BODY_TIMEOUT": "2"},
    ) as desk:
        yield desk


@pytest.fixture(scope="module")
def busy_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    """One request thread, and a short wait for it."""
    with live_desk(
        tmp_path_factory.mktemp("slow-busy"),
        servers=1,
        users=["ann"],
        env={"DESK_REQUEST_THREADS": "1", "DESK_REQUEST_THREAD_WAIT": "1"},
    ) as desk:
        yield desk


@contextlib.contextmanager
def chats_locked(desk: LiveDesk) -> Iterator[None]:
    """Hold a lock on the live database that makes posting a message wait (in its thread)."""
    url = desk.env["DATABASE_URL"]
    if url.startswith("sqlite"):
        database = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        database.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            database.execute("ROLLBACK")
            database.close()
        return
    import psycopg

    with psycopg.connect(url) as database, database.transaction():
        database.execute("LOCK TABLE chats_supportchat IN EXCLUSIVE MODE")
        yield


@dataclass
class Attacker:
    """Connections that send `opening` and then, if trickling, one more byte every second."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    trickle: bytes | None


@dataclass
class Flood:
    attackers: list[Attacker] = field(default_factory=list)

    def still_open(self) -> int:
        return sum(not a.reader.at_eof() and not a.writer.is_closing() for a in self.attackers)


async def _trickle(flood: Flood) -> None:
    while True:
        await asyncio.sleep(1)
        for attacker in flood.attackers:
            if attacker.trickle and not attacker.writer.is_closing():
                attacker.writer.write(attacker.trickle)


@pytest_asyncio.fixture
async def flood(patient_desk: LiveDesk) -> AsyncIterator[Flood]:
    """FLOOD connections from one address: body stalled, body trickled, headers stalled, headers
    trickled."""
    kinds = [(BODY_HEAD, None), (BODY_HEAD, b" "), (HEADERS_BEGUN, None), (HEADERS_BEGUN, b"X")]
    found = Flood()
    for n in range(FLOOD):
        opening, trickle = kinds[n % len(kinds)]
        reader, writer = await asyncio.open_connection("127.0.0.1", patient_desk.a.port)
        writer.write(opening)
        found.attackers.append(Attacker(reader, writer, trickle))
    trickling = asyncio.create_task(_trickle(found))
    # Let the server take in every connection and start each request it can.
    await asyncio.sleep(1)
    try:
        yield found
    finally:
        trickling.cancel()
        for attacker in found.attackers:
            attacker.writer.close()


def timed_normal_requests(desk: LiveDesk, rounds: int) -> list[float]:
    """A REST read, a page and a message post, `rounds` times; how long each took (s)."""
    server, cookie = desk.a, desk.cookies["ann"]
    took = []
    for n in range(rounds):
        started = time.perf_counter()
        assert rest(server, "GET", "/api/support_chat", cookie, timeout=10).status == 200
        took.append(time.perf_counter() - started)

        started = time.perf_counter()
        with urllib.request.urlopen(f"{server.origin}/accounts/login/", timeout=10) as page:
            assert page.status == 200
            page.read()
        took.append(time.perf_counter() - started)

        started = time.perf_counter()
        posted = rest(server, "POST", USER_POST, cookie, {"content": f"still here {n}"}, timeout=10)
        assert posted.status == 201, posted
        took.append(time.perf_counter() - started)
    return took


@pytest.mark.asyncio
async def test_hundreds_of_slow_connections_do_not_delay_normal_requests(
    patient_desk: LiveDesk, flood: Flood
) -> None:
    took = await asyncio.to_thread(timed_normal_requests, patient_desk, 5)
    FIGURES["slow clients: connections held open"] = flood.still_open()
    FIGURES["slow clients: normal requests, median ms"] = round(statistics.median(took) * 1000)
    FIGURES["slow clients: normal requests, slowest ms"] = round(max(took) * 1000)
    # Measured under the whole flood: the server closed none of its connections meanwhile.
    assert flood.still_open() == FLOOD
    assert max(took) < NORMAL_REQUEST_LIMIT, [round(t * 1000) for t in took]


# --- Headers and bodies have deadlines ----------------------------------------------------------


async def exchange(
    desk: LiveDesk, opening: bytes, *, trickle: bytes = b"", every: float = 0.2
) -> tuple[bytes, float]:
    """Send `opening`, then `trickle` a byte every `every` s; everything the server answers
    until it closes the connection, and how long that took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", desk.a.port)
    started = time.monotonic()
    writer.write(opening)

    async def dribble() -> None:
        for byte in trickle:
            await asyncio.sleep(every)
            if writer.is_closing():
                return
            writer.write(bytes([byte]))

    dribbling = asyncio.create_task(dribble())
    try:
        answer = await asyncio.wait_for(reader.read(), timeout=15)
    finally:
        dribbling.cancel()
        writer.close()
    return answer, time.monotonic() - started


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.asyncio
async def test_a_connection_that_sends_nothing_is_answered_408_after_the_header_timeout(
    strict_desk: LiveDesk,
) -> None:
    answer, took = await exchange(strict_desk, b"")
    assert status_of(answer) == 408
    assert 0.9 <= took < 5


@pytest.mark.asyncio
async def test_headers_that_stop_arriving_are_answered_408_and_the_connection_closed(
    strict_desk: LiveDesk,
) -> None:
    answer, took = await exchange(strict_desk, HEADERS_BEGUN)
    assert status_of(answer) == 408
    assert b"connection: close" in answer.lower()
    assert 0.9 <= took < 5


@pytest.mark.asyncio
async def test_headers_trickled_a_byte_at_a_time_are_cut_off_at_the_header_timeout(
    strict_desk: LiveDesk,
) -> None:
    answer, took = await exchange(strict_desk, HEADERS_BEGUN, trickle=b"X-Slow: " + b"y" * 100)
    assert status_of(answer) == 408
    assert 0.9 <= took < 5


@pytest.mark.asyncio
async def test_a_body_that_stops_arriving_is_answered_408_and_the_connection_closed(
    strict_desk: LiveDesk,
) -> None:
    answer, took = await exchange(strict_desk, BODY_HEAD + b'{"content": ')
    assert status_of(answer) == 408
    assert b"connection: close" in answer.lower()
    assert answer.endswith(b'{"detail": "The request body did not arrive in time."}')
    assert 1.9 <= took < 6


@pytest.mark.asyncio
async def test_a_body_trickled_a_byte_at_a_time_is_cut_off_at_the_body_timeout(
    strict_desk: LiveDesk,
) -> None:
    answer, took = await exchange(strict_desk, BODY_HEAD, trickle=b" " * 100)
    assert status_of(answer) == 408
    assert 1.9 <= took < 6


@pytest.mark.asyncio
async def test_a_declared_body_over_the_upload_limit_is_answered_413_without_reading_it(
    strict_desk: LiveDesk,
) -> None:
    head = BODY_HEAD.replace(b"Content-Length: 100000", b"Content-Length: 3000000")
    answer, took = await exchange(strict_desk, head)
    assert status_of(answer) == 413
    assert took < 1


def test_each_request_on_a_kept_alive_connection_gets_its_own_header_deadline(
    strict_desk: LiveDesk,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", strict_desk.a.port, timeout=10)
    try:
        for _ in range(3):
            # Three requests over more than the 1 s header timeout, each sent at once.
            connection.request("GET", "/accounts/login/")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            time.sleep(0.6)
    finally:
        connection.close()


def test_a_normal_post_arrives_whole_through_the_body_buffer(strict_desk: LiveDesk) -> None:
    content = "a long message, " * 250 + "the end"
    cookie = strict_desk.cookies["ann"]
    posted = rest(strict_desk.a, "POST", USER_POST, cookie, {"content": content})
    assert posted.status == 201, posted
    assert posted.body["content"] == content


# --- A bounded wait for a request thread --------------------------------------------------------


def test_a_request_that_finds_every_thread_busy_is_answered_503_with_retry_after(
    busy_desk: LiveDesk,
) -> None:
    server, cookie = busy_desk.a, busy_desk.cookies["ann"]
    with ThreadPoolExecutor(1) as background:
        with chats_locked(busy_desk):
            # This post takes the only thread and waits there for the lock.
            held = background.submit(rest, server, "POST", USER_POST, cookie, {"content": "held"})
            time.sleep(1)
            started = time.monotonic()
            refused = rest(server, "GET", "/api/support_chat", cookie)
            took = time.monotonic() - started
        assert (refused.status, refused.headers["retry-after"]) == (503, "5")
        assert set(refused.body) == {"detail"}
        assert 0.9 <= took < 3
        assert held.result(timeout=30).status == 201
