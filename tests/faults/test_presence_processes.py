"""Presence across two real server processes, and after one of them is killed.

A person's sockets and the dashboard's feed are on different servers, so every announcement
crosses Redis; when the server holding the person's (or the staff member's) only socket is killed
with SIGKILL, nobody closes anything, and Celery beat's presence sweep takes them offline within
DESK_PRESENCE_TIMEOUT (3 s here) and a sweep interval.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.faults.clients import opened, rest
from tests.live import LiveDesk, live_desk, next_event

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

TIMEOUT = 3
# The sweep runs every third of the timeout; generous for a loaded CI machine.
PATIENCE = 20.0
FEED = "/ws/admin/notifications/"


def chat_path(desk: LiveDesk, who: str) -> str:
    return f"/ws/support_chat/{desk.chats[who]}/"


async def presence_of(feed: ClientConnection, chat_id: str) -> bool:
    event = await next_event(feed, within=PATIENCE, type="presence", chat_id=chat_id)
    return bool(event["online"])


async def support_presence(person: ClientConnection) -> bool:
    event = await next_event(person, within=PATIENCE, type="support_presence")
    return bool(event["online"])


async def quiet(websocket: ClientConnection, kind: str, within: float = 1.5) -> bool:
    """No event of this kind arrives within the time."""
    try:
        async with asyncio.timeout(within):
            while json.loads(await websocket.recv())["type"] != kind:
                pass
    except TimeoutError:
        return True
    return False


def presence_desk(tmp_path: Path) -> Any:
    return live_desk(
        tmp_path,
        users=["ann"],
        admins=["support"],
        env={"DESK_PRESENCE_TIMEOUT": str(TIMEOUT)},
    )


async def test_a_person_online_on_one_server_is_seen_from_the_other_until_their_last_tab_closes(
    tmp_path: Path,
) -> None:
    with presence_desk(tmp_path) as desk:
        desk.start_worker()
        chat_id = desk.chats["ann"]
        async with opened(desk.a, FEED, desk.cookies["support"]) as feed:
            async with opened(desk.b, chat_path(desk, "ann"), desk.cookies["ann"]):
                assert await presence_of(feed, chat_id) is True
                async with opened(desk.a, chat_path(desk, "ann"), desk.cookies["ann"]):
                    pass
                # One tab of two closed: still online.
                assert await quiet(feed, "presence")
                listed = rest(desk.a, "GET", "/api/admin/chats", desk.cookies["support"])
            assert await presence_of(feed, chat_id) is False

    [item] = listed.body["items"]
    assert item["user_online"] is True


async def test_a_killed_server_does_not_leave_its_person_online(tmp_path: Path) -> None:
    with presence_desk(tmp_path) as desk:
        desk.start_worker()
        desk.start_beat()
        chat_id = desk.chats["ann"]
        async with opened(desk.a, FEED, desk.cookies["support"]) as feed:
            async with opened(desk.b, chat_path(desk, "ann"), desk.cookies["ann"]):
                assert await presence_of(feed, chat_id) is True
                desk.b.process.kill()
                killed = time.monotonic()
                assert await presence_of(feed, chat_id) is False
                offline_after = time.monotonic() - killed
            listed = rest(desk.a, "GET", "/api/admin/chats", desk.cookies["support"])

    # The timeout, then at most a sweep interval, and the worker's own pace.
    assert offline_after < TIMEOUT + PATIENCE / 2
    assert listed.body["items"][0]["user_online"] is False


async def test_support_online_reaches_people_on_the_other_server_and_ends_with_a_killed_one(
    tmp_path: Path,
) -> None:
    with presence_desk(tmp_path) as desk:
        desk.start_worker()
        desk.start_beat()
        async with opened(desk.a, chat_path(desk, "ann"), desk.cookies["ann"]) as person:
            before = rest(desk.a, "GET", "/api/support_chat", desk.cookies["ann"])
            async with opened(desk.b, FEED, desk.cookies["support"]):
                assert await support_presence(person) is True
                during = rest(desk.a, "GET", "/api/support_chat", desk.cookies["ann"])
                desk.b.process.kill()
                assert await support_presence(person) is False

    assert before.body["support_online"] is False
    assert during.body["support_online"] is True
