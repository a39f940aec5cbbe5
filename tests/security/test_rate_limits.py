"""Message posting is limited per user, with one allowance for REST and sockets, across processes.

DESK_MESSAGES_PER_MINUTE messages a minute per user, whatever the transport: REST answers 429 with
Retry-After, a socket answers `rate_limited` with `retry_after` (chats/ratelimit.py,
docs/events.md). The frame limit and the limiter itself are tested in tests/realtime.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.test import Client
from websockets.asyncio.client import connect

from chats import ratelimit
from chats.models import SupportChat, SupportMessage
from tests.live import LiveDesk, Server, live_desk
from tests.realtime.conftest import ORIGIN, WebsocketCommunicator, session_cookie

LIMIT = 3


@pytest.fixture
def three_a_minute(settings: Any) -> int:
    settings.DESK_MESSAGES_PER_MINUTE = LIMIT
    return LIMIT


def post(browser: Client, path: str, content: str) -> Any:
    return browser.post(path, json.dumps({"content": content}), content_type="application/json")


# --- REST ----------------------------------------------------------------------------------------


def test_a_users_post_beyond_the_limit_gets_429_with_retry_after(
    widget: Client, chat: SupportChat, three_a_minute: int
) -> None:
    answers = [post(widget, "/api/support_chat/messages", f"m{n}") for n in range(LIMIT + 1)]
    assert [a.status_code for a in answers] == [201] * LIMIT + [429]
    refused = answers[-1]
    # One message comes back every 60 / 3 = 20 s.
    assert 1 <= int(refused["Retry-After"]) <= 20
    # The API's error shape: {"detail": "..."}.
    assert list(refused.json()) == ["detail"]
    assert refused.json()["detail"].startswith(f"Too many messages: at most {LIMIT} per 60 s.")


def test_a_refused_post_is_not_stored(
    widget: Client, chat: SupportChat, three_a_minute: int
) -> None:
    for n in range(LIMIT + 2):
        post(widget, "/api/support_chat/messages", f"m{n}")
    assert list(SupportMessage.objects.values_list("content", flat=True)) == ["m0", "m1", "m2"]


def test_an_admins_reply_beyond_the_limit_gets_429(
    console: Client, chat: SupportChat, three_a_minute: int
) -> None:
    path = f"/api/admin/chats/{chat.id}/messages"
    answers = [post(console, path, f"r{n}").status_code for n in range(LIMIT + 1)]
    assert answers == [201] * LIMIT + [429]


def test_invalid_posts_do_not_use_up_the_allowance(
    widget: Client, chat: SupportChat, three_a_minute: int
) -> None:
    for content in ["", "   ", "\x00", "x" * 5001, ""]:
        assert post(widget, "/api/support_chat/messages", content).status_code == 422
    answers = [post(widget, "/api/support_chat/messages", f"m{n}") for n in range(LIMIT)]
    assert [a.status_code for a in answers] == [201] * LIMIT


def test_each_user_has_an_allowance_of_their_own(
    widget: Client, other_user: Any, chat: SupportChat, three_a_minute: int
) -> None:
    for n in range(LIMIT + 1):
        post(widget, "/api/support_chat/messages", f"m{n}")
    other = Client()
    other.force_login(other_user)
    assert post(other, "/api/support_chat/messages", "hello").status_code == 201


def test_without_redis_posting_still_works(
    widget: Client, chat: SupportChat, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A flood is a lesser harm than support going silent (chats/ratelimit.py).
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    assert post(widget, "/api/support_chat/messages", "hello").status_code == 201
    assert "rate limiter unavailable" in caplog.text


def test_the_429_answers_are_documented_in_the_openapi_schema(admin: Any) -> None:
    # Outside DEBUG the schema is for support staff (DESK_API_DOCS).
    browser = Client()
    browser.force_login(admin)
    schema = browser.get("/api/openapi.json").json()
    with_429 = sorted(
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "429" in operation["responses"]
    )
    assert with_429 == [
        "POST /api/admin/chats/{chat_id}/attachments",
        "POST /api/admin/chats/{chat_id}/messages",
        "POST /api/embed/guests",
        "POST /api/support_chat/attachments",
        "POST /api/support_chat/messages",
    ]


# --- REST and sockets share the allowance --------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_rest_posts_and_socket_messages_share_one_allowance(
    user: Any, chat: SupportChat, three_a_minute: int
) -> None:
    from desk.asgi import application

    cookie = await database_sync_to_async(session_cookie)(user)
    socket = WebsocketCommunicator(
        application,
        f"/ws/support_chat/{chat.id}/",
        headers=[(b"origin", ORIGIN.encode()), (b"cookie", f"sessionid={cookie}".encode())],
    )
    assert (await socket.connect(within=5))[0]
    rest = database_sync_to_async(_rest_post)
    try:
        assert await rest(cookie, "over REST 1") == 201
        assert await rest(cookie, "over REST 2") == 201
        await socket.send_json_to({"action": "send_message", "content": "over the socket"})
        events = [json.loads(await socket.receive_from(5)) for _ in range(3)]
        assert [e["message"]["content"] for e in events] == [
            "over REST 1",
            "over REST 2",
            "over the socket",
        ]
        await socket.send_json_to({"action": "send_message", "content": "one too many"})
        refused = json.loads(await socket.receive_from(5))
        assert refused["code"] == "rate_limited"
        assert await rest(cookie, "and over REST") == 429
    finally:
        await socket.disconnect(within=5)
        await ratelimit.close()


@pytest.mark.asyncio
async def test_the_async_and_sync_limiters_share_one_allowance() -> None:
    # The socket's frames are limited on the event loop, messages in the services' worker
    # thread: the same script on the same key, so neither path gets a second allowance.
    limit = ratelimit.Limit("test-both-paths", 3, 60)
    in_thread = sync_to_async(ratelimit.acquire_sync)
    try:
        assert await ratelimit.acquire(limit, "ann") == 0.0
        assert await in_thread(limit, "ann") == 0.0
        assert await ratelimit.acquire(limit, "ann") == 0.0
        assert await in_thread(limit, "ann") > 0
        assert await ratelimit.acquire(limit, "ann") > 0
    finally:
        await ratelimit.close()


def test_the_dashboards_reply_form_shares_the_admins_allowance_with_rest(
    console: Client, chat: SupportChat, three_a_minute: int
) -> None:
    path = f"/api/admin/chats/{chat.id}/messages"
    assert [post(console, path, f"r{n}").status_code for n in range(LIMIT)] == [201] * LIMIT
    refused = console.post(f"/desk/chats/{chat.id}/reply", {"content": "one too many"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1


def _rest_post(cookie: str, content: str) -> int:
    browser = Client()
    browser.cookies["sessionid"] = cookie
    return int(post(browser, "/api/support_chat/messages", content).status_code)


# --- Across processes: REST on one server, a socket on another -----------------------------------

LIVE_LIMIT = 4  # one message back every 15 s: none comes back while the test runs


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    with live_desk(
        Path(tmp_path_factory.mktemp("ratelimit")),
        users=["ann"],
        env={"DESK_MESSAGES_PER_MINUTE": str(LIVE_LIMIT)},
    ) as desk:
        yield desk


def live_post(server: Server, cookie: str, content: str) -> str:
    """The status, with the Retry-After header after a 429: "201", "429 after 15"."""
    # Any 32 characters make a valid CSRF secret, sent both as the cookie and the header.
    token = secrets.token_hex(16)
    request = urllib.request.Request(
        f"{server.origin}/api/support_chat/messages",
        data=json.dumps({"content": content}).encode(),
        method="POST",
        headers={
            "Cookie": f"sessionid={cookie}; csrftoken={token}",
            "X-CSRFToken": token,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.status)
    except urllib.error.HTTPError as refused:
        return f"{refused.status} after {refused.headers['Retry-After']}"


def live_get(server: Server, path: str, cookie: str) -> Any:
    request = urllib.request.Request(
        f"{server.origin}{path}", headers={"Cookie": f"sessionid={cookie}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
@pytest.mark.asyncio
async def test_half_over_rest_on_one_server_and_half_over_a_socket_on_another_share_the_limit(
    desk: LiveDesk,
) -> None:
    cookie = desk.cookies["ann"]
    outcomes = []
    retry_afters: list[str] = []
    path = f"/ws/support_chat/{desk.chats['ann']}/"
    async with connect(
        desk.b.url(path),
        additional_headers={"Origin": desk.b.origin, "Cookie": f"sessionid={cookie}"},
        open_timeout=10,
        close_timeout=2,
    ) as socket:
        for n in range(2 * LIVE_LIMIT):
            if n % 2 == 0:
                status = await asyncio.to_thread(live_post, desk.a, cookie, f"rest {n}")
                outcomes.append("sent" if status == "201" else status.split(" after ")[0])
                retry_afters.extend(status.split(" after ")[1:])
                continue
            await socket.send(json.dumps({"action": "send_message", "content": f"ws {n}",
                                          "request_id": str(n)}))  # fmt: skip
            async with asyncio.timeout(10):
                while True:
                    event = json.loads(await socket.recv())
                    if event.get("request_id") == str(n):
                        outcomes.append(event["code"])
                        break
                    if event.get("message", {}).get("content") == f"ws {n}":
                        outcomes.append("sent")
                        break
    stored = await asyncio.to_thread(live_get, desk.a, "/api/support_chat", cookie)
    assert outcomes == ["sent"] * LIVE_LIMIT + ["429", "rate_limited"] * (LIVE_LIMIT // 2)
    assert all(1 <= int(seconds) <= 15 for seconds in retry_afters), retry_afters
    assert len(stored["messages"]) == LIVE_LIMIT
