"""A socket that hears nothing for a while must stay open: the quietest fault of all.

channels-redis waited 5 s in each blocking pop, and redis-py 8 gives up reading after 5 s: a
server process whose sockets received nothing for 5 s closed every one of them (1011). This test
keeps a widget and a dashboard silent for longer than that, then checks both still receive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.clients import TIMEOUT, opened, rest
from tests.live import live_desk, next_event

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

SILENCE = 8.0  # seconds: longer than redis-py's 5 s read timeout


async def test_sockets_silent_for_longer_than_the_redis_read_timeout_stay_open(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    with live_desk(tmp_path, servers=1, users=["ann"], admins=["support"]) as desk:
        async with (
            opened(desk.a, f"/ws/support_chat/{desk.chats['ann']}/", desk.cookies["ann"]) as widget,
            opened(desk.a, "/ws/admin/notifications/", desk.cookies["support"]) as dashboard,
        ):
            await asyncio.sleep(SILENCE)
            answer = await asyncio.to_thread(
                rest, desk.a, "POST", "/api/support_chat/messages", desk.cookies["ann"],
                {"content": "Still there?"},
            )  # fmt: skip
            assert answer.status == 201
            # Presence events came at connect time, before the silence: skipped here.
            mine = await next_event(widget, within=TIMEOUT, type="new_message")
            listed = await next_event(dashboard, within=TIMEOUT, type="new_user_message")
    figures(silent_for_s=SILENCE, sockets_still_open=2)
    assert mine["message"]["content"] == "Still there?"
    assert listed["message"]["content"] == "Still there?"
