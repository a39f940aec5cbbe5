"""The static files desk serves itself (DEBUG, or DESK_SERVE_STATIC): only files under the static
roots, never a 500 for a path that tries to leave them, and always with nosniff (desk/asgi.py).

The handler answers before Django's middleware, so none of SecurityMiddleware's headers reach
these responses unless the handler adds them. The unit tests call it with the decoded path uvicorn
puts in the scope; the live test sends the raw, percent-encoded paths to a real uvicorn in DEBUG.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from desk.asgi import StaticFilesHandler
from tests.live import LiveDesk, live_desk

# What leaks if a path gets out: desk's settings, or the machine's users.
OUTSIDE = ("SECRET_KEY", "root:x:0:0")


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


async def fetch(path: str) -> Answer:
    """GET `path` from desk's static handler, the path decoded once as uvicorn gives it."""
    app = StaticFilesHandler(get_asgi_application())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    assert start["type"] == "http.response.start", start
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(10)
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return Answer(start["status"], headers, body)


ESCAPES = [
    pytest.param("/static/../../etc/passwd", id="..%2F..%2Fetc%2Fpasswd"),
    pytest.param("/static/../desk/settings.py", id="%2e%2e/desk/settings.py"),
    pytest.param("/static/chats/../../../desk/settings.py", id="down then up"),
    pytest.param("/static/%2e%2e/%2e%2e/desk/settings.py", id="encoded twice"),
    pytest.param("/static/..%2f..%2fetc%2fpasswd", id="slashes encoded twice"),
    pytest.param("/static/..", id="bare .."),
    pytest.param("/static//etc/passwd", id="absolute"),
    pytest.param("/static/chats/widget.js\x00.png", id="NUL"),
    pytest.param("/static/%00", id="NUL encoded twice"),
    pytest.param("/static/" + "a" * 5000, id="a name too long for the file system"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ESCAPES)
async def test_a_static_path_that_leaves_the_static_roots_is_not_found(path: str) -> None:
    answer = await fetch(path)
    assert answer.status == 404
    assert not any(text.encode() in answer.body for text in OUTSIDE)


@pytest.mark.asyncio
@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG", "production"])
async def test_an_encoded_dot_dot_is_not_found_in_debug_and_production(
    debug: bool, settings: Any
) -> None:
    settings.DEBUG = debug
    assert (await fetch("/static/../desk/settings.py")).status == 404


@pytest.mark.asyncio
async def test_a_static_file_is_served_with_nosniff() -> None:
    answer = await fetch("/static/chats/widget.js")
    assert answer.status == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert b"DeskLive" in answer.body


@pytest.mark.asyncio
async def test_a_missing_static_file_is_answered_with_nosniff() -> None:
    answer = await fetch("/static/chats/no-such-file.js")
    assert answer.status == 404
    assert answer.headers["x-content-type-options"] == "nosniff"


# --- A real uvicorn in DEBUG, raw paths on the wire ---------------------------------------------


@pytest.fixture(scope="module")
def debug_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    with live_desk(tmp_path_factory.mktemp("static"), servers=1, env={"DEBUG": "true"}) as desk:
        yield desk


def raw_get(desk: LiveDesk, raw_path: str) -> tuple[int, bytes]:
    """GET with the path sent exactly as written (http.client does not normalise it)."""
    connection = http.client.HTTPConnection("127.0.0.1", desk.a.port, timeout=30)
    try:
        connection.putrequest("GET", raw_path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"127.0.0.1:{desk.a.port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


RAW_ESCAPES = [
    "/static/..%2F..%2Fetc%2Fpasswd",
    "/static/%2e%2e/settings.py",
    "/static/%2e%2e/desk/settings.py",
    "/static/..%2F..%2Fdesk%2Fsettings.py",
    "/static/%252e%252e/%252e%252e/desk/settings.py",
    "/static/..%252f..%252fetc%252fpasswd",
    "/static/chats/%2e%2e/%2e%2e/%2e%2e/desk/settings.py",
    "/static/%00",
    "/static/%ff%fe",
]


@pytest.mark.slow
@pytest.mark.parametrize("raw_path", RAW_ESCAPES)
def test_a_debug_server_answers_404_to_an_encoded_escape(
    raw_path: str, debug_desk: LiveDesk
) -> None:
    status, body = raw_get(debug_desk, raw_path)
    assert status == 404, body[:300]
    assert not any(text.encode() in body for text in OUTSIDE)


@pytest.mark.slow
def test_a_debug_server_still_serves_the_widget(debug_desk: LiveDesk) -> None:
    status, body = raw_get(debug_desk, "/static/chats/widget.js")
    assert status == 200
    assert b"DeskLive" in body
