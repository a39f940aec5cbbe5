"""Hostile input gets a clear 4xx (REST) or an `error` frame (socket): never a 500, never a close.

NUL characters (which PostgreSQL cannot store), lone surrogates (which UTF-8 cannot encode), the
5,000-character limit and one beyond it, 100 KB bodies and frames, JSON nested 10,000 deep,
malformed UUIDs and cursors: over REST and over the socket alike.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.test import Client

from chats import ratelimit
from chats.models import SupportChat, SupportMessage
from tests.conftest import logged_in
from tests.realtime.conftest import ORIGIN, Socket, WebsocketCommunicator, session_cookie
from tests.security.conftest import FIGURES

USER_POST = "/api/support_chat/messages"
NESTED = "[" * 10_000 + "]" * 10_000
# A JSON string holding one lone surrogate, as a client may send it (json.dumps escapes it).
LONE_SURROGATE = json.dumps("before \ud800 after")


@pytest.fixture
def widget(user: Any, chat: SupportChat) -> Client:
    """The user's browser, with the user's chat already there."""
    return logged_in(user)


def post_raw(browser: Client, path: str, body: str | bytes) -> Any:
    FIGURES["hostile input: REST requests"] += 1
    return browser.post(path, body, content_type="application/json")


def content_body(content: str) -> str:
    return json.dumps({"content": content})


def field_error(response: Any) -> tuple[str, ...]:
    """The `loc` of the one field a 422 names."""
    assert response.status_code == 422, response.content[:300]
    (error,) = response.json()["detail"]
    return tuple(error["loc"])


# --- REST: message content ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (content_body("a\x00b"), "NUL"),
        (content_body("\x00"), "only NUL"),
        ('{"content": ' + LONE_SURROGATE + "}", "lone surrogate"),
        (content_body("x" * 5001), "5,001 characters"),
        (content_body("x" * 100_000), "100,000 characters"),
        (content_body(" \n\t "), "blank"),
    ],
    ids=lambda value: value if len(value) < 40 else "",
)
@pytest.mark.parametrize("path", ["user", "admin"])
def test_bad_content_is_refused_with_422_naming_the_field(
    body: str, why: str, path: str, widget: Client, console: Client, chat: SupportChat
) -> None:
    browser, url = (widget, USER_POST) if path == "user" else (
        console, f"/api/admin/chats/{chat.id}/messages"
    )  # fmt: skip
    response = post_raw(browser, url, body)
    assert field_error(response) == ("body", "content"), why
    assert not SupportMessage.objects.filter(content__startswith="x").exists()


def test_five_thousand_characters_are_accepted(widget: Client) -> None:
    response = post_raw(widget, USER_POST, content_body("é" * 5000))
    assert response.status_code == 201
    assert len(response.json()["content"]) == 5000


def test_five_thousand_characters_with_surrounding_blanks_are_accepted_trimmed(
    widget: Client,
) -> None:
    response = post_raw(widget, USER_POST, content_body("  " + "x" * 5000 + "\n"))
    assert response.status_code == 201
    assert response.json()["content"] == "x" * 5000


def test_astral_characters_are_stored_and_returned_intact(widget: Client) -> None:
    text = "emoji \U0001f600, math \U0001d538, and a joiner \U0001f469\u200d\U0001f4bb"
    assert post_raw(widget, USER_POST, content_body(text)).json()["content"] == text
    assert widget.get(USER_POST).json()["messages"][-1]["content"] == text


# --- REST: bodies that are not what they claim ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"content": ' + NESTED + "}", id="JSON nested 10,000 deep"),
        pytest.param(NESTED, id="a bare 10,000-deep array"),
        pytest.param(b'{"content": "\xff\xfe"}', id="invalid UTF-8"),
        pytest.param('{"content": "unterminated', id="truncated JSON"),
        pytest.param("\x00", id="a NUL byte"),
    ],
)
def test_a_body_that_is_not_json_is_refused_with_400(widget: Client, body: str | bytes) -> None:
    response = post_raw(widget, USER_POST, body)
    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot parse request body"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[]", id="an array"),
        pytest.param('"hello"', id="a string"),
        pytest.param('{"content": 5}', id="a number"),
        pytest.param('{"content": null}', id="null"),
        pytest.param('{"content": ["a"]}', id="a list"),
        pytest.param('{"content": {"$gt": ""}}', id="an object"),
        pytest.param("{}", id="no content"),
    ],
)
def test_json_of_the_wrong_shape_is_refused_with_422(widget: Client, body: str) -> None:
    assert post_raw(widget, USER_POST, body).status_code == 422


def test_a_100_kb_body_with_unknown_fields_posts_only_the_content(widget: Client) -> None:
    body = json.dumps({"content": "hi", "padding": "x" * 100_000, "sender_type": "admin"})
    response = post_raw(widget, USER_POST, body)
    assert response.status_code == 201
    assert response.json()["sender_type"] == "user"


def test_a_body_over_djangos_upload_limit_is_refused_with_413(
    widget: Client, settings: Any
) -> None:
    # Was Django's HTML 400 page (a 500 traceback under DEBUG); now 413 in the API's shape, as
    # a real server answers before Django (tests/security/test_request_bodies.py).
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    response = post_raw(widget, USER_POST, content_body("x" * 100_001))
    assert response.status_code == 413
    assert "detail" in response.json()


# --- REST: ids, cursors and numbers in URLs ------------------------------------------------------


@pytest.mark.parametrize(
    "chat_id",
    ["not-a-uuid", "1", "00000000-0000-0000-0000-00000000000g", "%00", "' OR 1=1 --", "é"],
)
def test_a_malformed_chat_id_is_refused_with_422(console: Client, chat_id: str) -> None:
    FIGURES["hostile input: REST requests"] += 1
    assert field_error(console.get(f"/api/admin/chats/{chat_id}")) == ("path", "chat_id")


@pytest.mark.parametrize(
    "query",
    ["after=not-a-uuid", "before=123", "after=%00", "limit=0", "limit=201", "limit=-1",
     "limit=99999999999999999999", "limit=1e3", "after=&before="],
)  # fmt: skip
def test_malformed_paging_is_refused_with_422(widget: Client, query: str) -> None:
    FIGURES["hostile input: REST requests"] += 1
    response = widget.get(f"{USER_POST}?{query}")
    assert response.status_code == 422, response.content[:300]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "a",
        _b64(b"\xff\xfe\xfd"),
        _b64(b"no separator"),
        _b64(b"2026-01-01T00:00:00+00:00|not-a-uuid"),
        _b64(b"2026-01-01T00:00:00|7b1c2c4e-6c3f-4e0b-9d59-0d3f7b1f0a11"),
        _b64(b"a|b|c"),
        _b64(b"99999-01-01T00:00:00+00:00|7b1c2c4e-6c3f-4e0b-9d59-0d3f7b1f0a11"),
        _b64(b"2026-01-01T00:00:00+00:00|7b1c2c4e-6c3f-4e0b-9d59-0d3f7b1f0a11\x00"),
        _b64("\ud800".encode("utf-8", "surrogatepass")),
        "%00",
        "x" * 201,
    ],
)
def test_a_malformed_cursor_is_refused_with_422_naming_it(console: Client, cursor: str) -> None:
    FIGURES["hostile input: REST requests"] += 1
    response = console.get("/api/admin/chats", {"cursor": cursor})
    assert field_error(response)[-1] == "cursor"


@pytest.mark.parametrize(
    "q",
    ["%00", "a%00b", "%25", "_", "%5C", "%27%20OR%201%3D1%20--", "%ED%A0%80", "%FF", "x" * 254],
)
def test_any_search_text_is_answered_without_a_server_error(console: Client, q: str) -> None:
    FIGURES["hostile input: REST requests"] += 1
    response = console.get(f"/api/admin/chats?q={q}")
    assert response.status_code in (200, 422), response.content[:300]


def test_a_search_with_nul_is_refused_with_422_naming_q(console: Client) -> None:
    assert field_error(console.get("/api/admin/chats", {"q": "a\x00b"}))[-1] == "q"


# --- Sockets -------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def socket(user: Any, chat: SupportChat) -> AsyncIterator[Socket]:
    """The owner's widget socket on desk's real ASGI application."""
    from desk.asgi import application

    cookie = await database_sync_to_async(session_cookie)(user)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/support_chat/{chat.id}/",
        headers=[(b"origin", ORIGIN.encode()), (b"cookie", f"sessionid={cookie}".encode())],
    )
    assert (await communicator.connect(within=5))[0]
    opened = Socket(communicator)
    opened.open = True
    yield opened
    await opened.disconnect()
    await ratelimit.close()


async def answer(socket: Socket, text: str) -> dict[str, Any]:
    FIGURES["hostile input: socket frames"] += 1
    await socket.send_text(text)
    return await socket.event()


def send_message(content: str) -> str:
    return json.dumps({"action": "send_message", "content": content, "request_id": "r"})


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        (send_message("a\x00b"), "invalid", "content"),
        ('{"action": "send_message", "content": ' + LONE_SURROGATE + "}", "invalid", "content"),
        (send_message("x" * 5001), "invalid", "content"),
        (send_message(" "), "invalid", "content"),
        ('{"action": "send_message", "content": ' + NESTED + "}", "invalid_json", None),
        (NESTED, "invalid_json", None),
        ('{"action": "sync", "after": ' + NESTED + "}", "invalid_json", None),
        (json.dumps({"action": "sync", "after": "not-a-uuid"}), "invalid", "after"),
        (json.dumps({"action": "sync", "after": "\x00"}), "invalid", "after"),
        (json.dumps({"action": "sync", "after": ["a"]}), "invalid", "after"),
        (json.dumps({"action": "typing", "is_typing": "yes"}), "invalid", "is_typing"),
        (json.dumps({"action": "\x00"}), "unknown_action", None),
        (json.dumps({"action": ["send_message"]}), "unknown_action", None),
        ("\x00", "invalid_json", None),
        ("null", "invalid_json", None),
        (send_message("x" * 102_400), "frame_too_large", None),
    ],
    ids=[
        "NUL", "lone surrogate", "5,001 characters", "blank", "nested content", "nested frame",
        "nested after", "malformed uuid", "NUL uuid", "list uuid", "non-boolean typing",
        "NUL action", "list action", "NUL frame", "null frame", "100 KB frame",
    ],
)  # fmt: skip
async def test_a_hostile_frame_gets_an_error_and_the_socket_stays_open(
    socket: Socket, frame: str, code: str, field: str | None
) -> None:
    error = await answer(socket, frame)
    assert (error["type"], error["code"], error.get("field")) == ("error", code, field)
    # Still open and serving.
    await socket.send(action="send_message", content="still here")
    assert (await socket.event())["message"]["content"] == "still here"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_five_thousand_characters_are_accepted_over_the_socket(socket: Socket) -> None:
    reply = await answer(socket, send_message("x" * 5000))
    assert reply["type"] == "new_message"
    assert len(reply["message"]["content"]) == 5000
