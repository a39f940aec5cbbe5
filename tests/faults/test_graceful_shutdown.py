"""A web process told to stop (SIGTERM, as a deploy or an orchestrator does) stops gracefully.

It stops accepting connections, finishes the request it is in the middle of, closes its sockets
with 1012 (service restart), and exits within uvicorn's graceful-shutdown bound. The widget's
client (tests/faults/clients.py) then reconnects to the other server and catches up, so the
message the stopping server finished is not missed.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.faults.clients import Follower, opened, wait_for
from tests.faults.clients import rest as rest_post
from tests.live import CSRF, LiveDesk, Server, live_desk

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

PATIENCE = 15.0
FIRST = "Is anyone there?"
LAST = "Sent as the server stopped"


def post_in_two_halves(
    server: Server, desk: LiveDesk, who: str, content: str
) -> tuple[socket.socket, bytes]:
    """A REST post whose headers and first half of the body are sent now; the connection and the
    rest of the body, for `finish`."""
    body = json.dumps({"content": content}).encode()
    head = (
        f"POST /api/support_chat/messages HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Cookie: sessionid={desk.cookies[who]}; csrftoken={CSRF}\r\n"
        f"X-CSRFToken: {CSRF}\r\n"
        f"Origin: {server.origin}\r\n"
        f"Referer: {server.origin}/\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
    connection.sendall(head + body[: len(body) // 2])
    return connection, body[len(body) // 2 :]


def finish(connection: socket.socket, rest: bytes) -> int:
    """Send the rest of the body; the response's status."""
    connection.sendall(rest)
    response = b""
    while chunk := connection.recv(65536):
        response += chunk
    connection.close()
    return int(response.split(b" ", 2)[1])


async def close_code(websocket: ClientConnection) -> int | None:
    """The code the server closed `websocket` with, once the events before it are read."""
    try:
        async with asyncio.timeout(PATIENCE):
            while True:
                await websocket.recv()
    except ConnectionClosed as closed:
        return None if closed.rcvd is None else closed.rcvd.code


def refuses_connections(server: Server) -> bool:
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    except OSError:
        return True
    return False


async def test_a_stopping_server_finishes_its_request_closes_sockets_1012_and_nothing_is_missed(
    tmp_path: Path,
) -> None:
    with live_desk(tmp_path, users=["ann"]) as desk:
        stopping, staying = desk.servers
        path = f"/ws/support_chat/{desk.chats['ann']}/"
        follower = Follower(servers=[stopping, staying], path=path, cookie=desk.cookies["ann"])
        following = asyncio.create_task(follower.run())
        try:
            async with opened(stopping, path, desk.cookies["ann"]) as watched:
                await asyncio.wait_for(follower.connected.wait(), PATIENCE)
                # A chat under way: after a drop the client catches up from its newest message.
                first = rest_post(
                    staying, "POST", "/api/support_chat/messages", desk.cookies["ann"],
                    {"content": FIRST},
                )  # fmt: skip
                assert first.status == 201
                await wait_for(lambda: len(follower.messages) == 1, PATIENCE, "the first arrived")
                connection, rest = post_in_two_halves(stopping, desk, "ann", LAST)
                await asyncio.sleep(0.3)

                stopping.process.send_signal(signal.SIGTERM)
                # The watched socket's close code is what every socket of the process got.
                assert await close_code(watched) == 1012
                await wait_for(lambda: refuses_connections(stopping), PATIENCE, "not accepting")

                status = await asyncio.to_thread(finish, connection, rest)

            started = time.monotonic()
            exit_code = await asyncio.to_thread(stopping.process.wait, PATIENCE)
            waited = time.monotonic() - started
            await wait_for(
                lambda: (
                    sorted(m["content"] for m in follower.messages.values())
                    == sorted([FIRST, LAST])
                ),
                PATIENCE,
                "the follower, now on the other server, has the message",
            )
        finally:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)

    assert status == 201
    # uvicorn exits by the signal it was sent, once it has shut down.
    assert exit_code in (0, -signal.SIGTERM)
    assert waited < PATIENCE
    assert follower.drops >= 1
