"""PostgreSQL restarted under a live desk: a clear 503 while it is down, service resumes by itself.

The test starts a private PostgreSQL cluster of its own (the machine's server is never touched),
so it runs in both CI passes; it is skipped, with the reason, where the server binaries are absent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.faults.clients import TIMEOUT, Answer, opened, rest
from tests.faults.private import PrivatePostgres, postgres_binaries, private_postgres
from tests.live import LiveDesk, live_desk

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

BIN_DIR, MISSING = postgres_binaries()
# The API, a post, and a page that loads the session's user (the admin's, which refuses ann).
GET_CHAT = ("GET", "/api/support_chat", None)
POST = ("POST", "/api/support_chat/messages", {"content": "Is anyone there?"})
PAGE = ("GET", "/admin/", None)


def call(desk: LiveDesk, request: tuple[str, str, Any]) -> tuple[Answer, float]:
    method, path, body = request
    started = time.monotonic()
    answer = rest(desk.a, method, path, desk.cookies["ann"], body)
    return answer, time.monotonic() - started


async def next_of(websocket: ClientConnection, kind: str, content: str | None = None) -> Any:
    """The next event of this type (about a message with this content, if given)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            event = json.loads(await websocket.recv())
            if event["type"] == kind and content in (None, event.get("message", {}).get("content")):
                return event


@pytest.mark.skipif(BIN_DIR is None, reason=f"needs a private PostgreSQL server: {MISSING}")
async def test_a_postgres_restart_gets_a_clear_503_and_service_resumes_by_itself(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    assert BIN_DIR is not None
    with (
        private_postgres(BIN_DIR) as database,
        live_desk(tmp_path, servers=1, users=["ann"], database_url=database.url) as desk,
        ThreadPoolExecutor(3) as pool,
    ):
        await _through_a_restart(desk, database, pool, figures)


async def _through_a_restart(
    desk: LiveDesk,
    database: PrivatePostgres,
    pool: ThreadPoolExecutor,
    figures: Callable[..., None],
) -> None:
    loop = asyncio.get_running_loop()

    async def each(requests: tuple[tuple[str, str, Any], ...]) -> list[tuple[Answer, float]]:
        return list(
            await asyncio.gather(*(loop.run_in_executor(pool, call, desk, r) for r in requests))
        )

    chat_socket = f"/ws/support_chat/{desk.chats['ann']}/"
    async with opened(desk.a, chat_socket, desk.cookies["ann"]) as widget:
        before = await each((GET_CHAT, POST, PAGE))
        assert [answer.status for answer, _ in before] == [200, 201, 200]
        await next_of(widget, "new_message")

        await asyncio.to_thread(database.stop)
        # The socket's action and the requests wait for the database together.
        await widget.send(
            json.dumps({"action": "send_message", "content": "hello?", "request_id": "r1"})
        )
        down = await each((GET_CHAT, POST, PAGE))
        refused = await next_of(widget, "error")

        restarted = time.monotonic()
        await asyncio.to_thread(database.start)
        database.restarts += 1
        after = await each((GET_CHAT, POST, PAGE))
        resumed = time.monotonic() - restarted
        await widget.send(json.dumps({"action": "send_message", "content": "back?"}))
        delivered = await next_of(widget, "new_message", "back?")

    api_get, api_post, page = (answer for answer, _ in down)
    figures(
        postgres_restarts=database.restarts,
        requests_while_down=len(down),
        answered_503=sum(answer.status == 503 for answer, _ in down),
        slowest_503_s=round(max(took for _, took in down), 1),
        socket_error=refused["code"],
        requests_after_restart=len(after),
        failed_after_restart=sum(answer.status >= 500 for answer, _ in after),
        resumed_within_s=round(resumed, 1),
    )
    for answer in (api_get, api_post):
        assert answer.status == 503
        assert answer.body == {
            "detail": "The service is briefly unavailable; try again in a few seconds."
        }
        assert answer.headers["retry-after"] == "5"
    assert page.status == 503
    assert page.headers["retry-after"] == "5"
    assert "briefly unavailable" in page.body
    assert (refused["code"], refused["request_id"], refused["retry_after"]) == (
        "unavailable",
        "r1",
        5,
    )
    assert [answer.status for answer, _ in after] == [200, 201, 200]
    assert delivered["message"]["sender_type"] == "user"
