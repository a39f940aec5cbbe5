"""End to end: two real uvicorn servers sharing Redis and a database, real websocket clients.

The user's socket is on one server and the admins' on the other, as behind a load balancer; every
event between them crosses Redis. The servers are started by tests/live.py, as `make run` starts
them, on a database of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.live import (
    EVENT_TIMEOUT,
    LiveDesk,
    Server,
    event_value,
    live_desk,
    next_event,
    rest,
)

MESSAGES_PER_MINUTE = 5
SOCKETS_PER_USER = 4
# From a change of access on one server to the close of a socket on the other.
REVOKED_WITHIN = 2.0

pytestmark = pytest.mark.asyncio

Desk = LiveDesk


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with live_desk(
        Path(tmp_path_factory.mktemp("e2e")),
        users=["ann", "ben", "flo", "hal", "ivy"],
        admins=["admin1", "admin2"],
        env={
            "DESK_MESSAGES_PER_MINUTE": str(MESSAGES_PER_MINUTE),
            "DESK_SOCKETS_PER_USER": str(SOCKETS_PER_USER),
        },
    ) as desk:
        yield desk


@contextlib.asynccontextmanager
async def opened(
    server: Server, path: str, cookie: str | None, origin: str | None = None
) -> AsyncIterator[ClientConnection]:
    headers = {"Origin": origin or server.origin}
    if cookie is not None:
        headers["Cookie"] = f"sessionid={cookie}"
    async with connect(
        server.url(path), additional_headers=headers, open_timeout=EVENT_TIMEOUT, close_timeout=2
    ) as websocket:
        yield websocket


async def send(websocket: ClientConnection, **frame: Any) -> None:
    await websocket.send(json.dumps(frame))


def chat_socket(desk: Desk, who: str = "ann") -> str:
    return f"/ws/support_chat/{desk.chats[who]}/"


ADMIN_SOCKET = "/ws/admin/notifications/"


# --- Messages cross servers both ways ------------------------------------------------------------


async def test_a_users_message_on_one_server_reaches_admins_on_the_other(desk: Desk) -> None:
    async with (
        opened(desk.a, chat_socket(desk), desk.cookies["ann"]) as widget,
        opened(desk.b, chat_socket(desk), desk.cookies["admin1"]) as console,
        opened(desk.b, ADMIN_SOCKET, desk.cookies["admin2"]) as dashboard,
    ):
        await send(widget, action="send_message", content="Hello from server A")
        own = await next_event(widget, type="new_message")
        seen = await next_event(console, type="new_message")
        listed = await next_event(dashboard, type="new_user_message")
    assert own == seen
    assert seen["message"]["content"] == "Hello from server A"
    assert listed["user_email"] == "ann@example.com"
    assert listed["message"]["id"] == own["message"]["id"]


async def test_an_admins_reply_on_one_server_reaches_the_user_on_the_other(desk: Desk) -> None:
    async with (
        opened(desk.a, chat_socket(desk), desk.cookies["ann"]) as widget,
        opened(desk.b, chat_socket(desk), desk.cookies["admin1"]) as console,
    ):
        await send(console, action="typing", is_typing=True)
        typing = await next_event(widget, type="typing")
        await send(console, action="send_message", content="Reply from server B")
        reply = await next_event(widget, type="new_message")
    assert (typing["sender_type"], typing["is_typing"]) == ("admin", True)
    assert reply["message"]["sender_type"] == "admin"
    assert reply["message"]["content"] == "Reply from server B"


async def test_chat_viewed_by_one_admin_reaches_the_other_admin_on_the_other_server(
    desk: Desk,
) -> None:
    async with (
        opened(desk.a, ADMIN_SOCKET, desk.cookies["admin2"]) as dashboard,
        opened(desk.a, chat_socket(desk), desk.cookies["ann"]) as widget,
        opened(desk.b, chat_socket(desk), desk.cookies["admin1"]) as console,
    ):
        await send(console, action="viewed")
        for_admins = await next_event(dashboard, type="chat_viewed")
        for_user = await next_event(widget, type="chat_viewed")
    assert for_admins["chat_id"] == desk.chats["ann"]
    assert for_admins["admin"]["email"] == "admin1@example.com"
    assert for_user["admin_viewed_at"] == for_admins["admin_viewed_at"]
    assert "admin" not in for_user


async def test_a_user_reconnecting_to_the_other_server_catches_up(desk: Desk) -> None:
    async with opened(desk.a, chat_socket(desk), desk.cookies["ann"]) as widget:
        await send(widget, action="send_message", content="before the drop")
        last_seen = (await next_event(widget, type="new_message"))["message"]["id"]
    async with opened(desk.b, chat_socket(desk), desk.cookies["admin1"]) as console:
        for text in ("missed 1", "missed 2"):
            await send(console, action="send_message", content=text)
            await next_event(console, type="new_message", message__content=text)
    async with opened(desk.b, chat_socket(desk), desk.cookies["ann"]) as widget:
        await send(widget, action="sync", after=last_seen)
        synced = await next_event(widget, type="sync")
    assert [m["content"] for m in synced["messages"]] == ["missed 1", "missed 2"]
    assert synced["has_more"] is False


# --- Limits and refusals, as the real server sends them ------------------------------------------


async def test_the_message_limit_is_shared_by_a_users_sockets_on_both_servers(desk: Desk) -> None:
    attempts = MESSAGES_PER_MINUTE + 2
    outcomes = []
    async with (
        opened(desk.a, chat_socket(desk, "flo"), desk.cookies["flo"]) as on_a,
        opened(desk.b, chat_socket(desk, "flo"), desk.cookies["flo"]) as on_b,
    ):
        for n in range(attempts):
            websocket = (on_a, on_b)[n % 2]
            await send(websocket, action="send_message", content=f"flood {n}", request_id=str(n))
            async with asyncio.timeout(EVENT_TIMEOUT):
                while True:
                    event = json.loads(await websocket.recv())
                    if event.get("request_id") == str(n):
                        outcomes.append(event["code"])
                        break
                    if event_value(event, "message__content") == f"flood {n}":
                        outcomes.append("sent")
                        break
    assert outcomes == ["sent"] * MESSAGES_PER_MINUTE + ["rate_limited"] * 2
    stored = (
        await asyncio.to_thread(rest, desk.a, "GET", "/api/support_chat", desk.cookies["flo"])
    ).body
    assert len(stored["messages"]) == MESSAGES_PER_MINUTE


@pytest.mark.parametrize(
    ("who", "code"), [(None, 4401), ("ben", 4404)], ids=["anonymous", "other-user"]
)
async def test_the_real_server_delivers_the_documented_close_codes(
    desk: Desk, who: str | None, code: int
) -> None:
    cookie = desk.cookies[who] if who else None
    async with opened(desk.a, chat_socket(desk), cookie) as websocket:
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(EVENT_TIMEOUT):
                await websocket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code


async def close_code(websocket: ClientConnection, within: float = EVENT_TIMEOUT) -> int:
    """Wait for the server to close the socket (skipping events); its close code."""
    received: ConnectionClosed | None = None
    async with asyncio.timeout(within):
        try:
            while True:
                await websocket.recv()
        except ConnectionClosed as closed:
            received = closed
    assert received is not None
    assert received.rcvd is not None
    return received.rcvd.code


async def test_logging_out_on_one_server_closes_that_sessions_socket_on_the_other(
    desk: Desk,
) -> None:
    async with opened(desk.a, chat_socket(desk, "hal"), desk.cookies["hal"]) as widget:
        await asyncio.to_thread(rest, desk.b, "POST", "/accounts/logout/", desk.cookies["hal"])
        assert await close_code(widget, within=REVOKED_WITHIN) == 4401
    answer = await asyncio.to_thread(rest, desk.a, "GET", "/api/support_chat", desk.cookies["hal"])
    assert answer.status == 401, "the session really ended"


async def test_the_socket_cap_counts_a_users_sockets_on_both_servers(desk: Desk) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for n in range(SOCKETS_PER_USER):
            websocket = await stack.enter_async_context(
                opened(desk.servers[n % 2], chat_socket(desk, "ivy"), desk.cookies["ivy"])
            )
            # Answered, so open: a socket over the cap is closed instead.
            await send(websocket, action="sync", after="none", request_id="open?")
            await next_event(websocket, type="error", request_id="open?")
        async with opened(desk.a, chat_socket(desk, "ivy"), desk.cookies["ivy"]) as one_too_many:
            assert await close_code(one_too_many) == 4429


async def test_the_real_server_refuses_a_foreign_origin_at_the_handshake(desk: Desk) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with opened(desk.b, chat_socket(desk), desk.cookies["ann"], "https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
