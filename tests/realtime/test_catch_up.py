"""Catch-up: a client that dropped reconnects, syncs from its last message id, misses nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chats import consumers
from chats.models import SupportChat, SupportMessage
from tests.realtime.conftest import OpenSocket, Rest, Socket, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

in_thread = database_sync_to_async


async def sync_all(socket: Socket, after: str) -> list[dict[str, Any]]:
    """What a client does on reconnecting: sync from its last id until has_more is false.

    Live events that arrive meanwhile are kept too, as a client would (it de-duplicates by id).
    """
    received: list[dict[str, Any]] = []
    while True:
        await socket.send(action="sync", after=after)
        while True:
            event = await socket.event()
            if event["type"] == "new_message":
                received.append(event["message"])
                continue
            assert event["type"] == "sync", event
            break
        received.extend(event["messages"])
        if not event["has_more"]:
            return received
        after = event["messages"][-1]["id"]


def stored_after(chat: SupportChat, message_id: str) -> list[str]:
    anchor = SupportMessage.objects.get(id=message_id)
    return [
        str(message_id)
        for message_id in SupportMessage.objects.filter(
            chat=chat, created_at__gt=anchor.created_at
        ).values_list("id", flat=True)
    ]


async def message_arrived(socket: Any, content: str) -> None:
    """Read the socket's events until the new_message carrying `content`."""
    while True:
        event = await socket.event()
        if event["type"] == "new_message" and event["message"]["content"] == content:
            return


@pytest.fixture
def small_sync_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    # Several pages from a handful of messages, so paging itself is exercised.
    monkeypatch.setattr(consumers, "SYNC_LIMIT", 2)
    return 2


async def test_every_message_missed_while_disconnected_arrives_once_in_order(
    ws: OpenSocket,
    layer: str,
    rest: Rest,
    user: Any,
    admin: Any,
    chat: SupportChat,
    small_sync_pages: int,
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="send_message", content="before the drop")
    last_seen = (await widget.event())["message"]["id"]
    await widget.disconnect()

    # Meanwhile: replies over REST and over a socket, and the user's other tab writes too.
    console = await ws(chat_path(chat.id), admin)
    other_tab = await ws(chat_path(chat.id), user)
    await rest(admin, "post", f"/admin/chats/{chat.id}/messages", {"content": "REST reply 1"})
    # Each socket write is stored before the next is sent: sockets' database work runs on several
    # threads, so two sent at once could be stored in either order.
    await console.send(action="send_message", content="socket reply")
    await message_arrived(console, "socket reply")
    await other_tab.send(action="send_message", content="from the other tab")
    await message_arrived(console, "from the other tab")
    await rest(user, "post", "/support_chat/messages", {"content": "REST from the user"})
    await rest(admin, "post", f"/admin/chats/{chat.id}/messages", {"content": "REST reply 2"})

    widget = await ws(chat_path(chat.id), user)
    caught_up = await sync_all(widget, after=last_seen)
    assert [m["id"] for m in caught_up] == await in_thread(stored_after)(chat, last_seen)
    assert [m["content"] for m in caught_up] == [
        "REST reply 1",
        "socket reply",
        "from the other tab",
        "REST from the user",
        "REST reply 2",
    ]


async def test_after_catching_up_the_socket_is_live_again(
    ws: OpenSocket, layer: str, user: Any, say: Any, reply: Any, chat: SupportChat
) -> None:
    seen = await in_thread(say)("seen")
    await in_thread(reply)("missed")
    widget = await ws(chat_path(chat.id), user)
    assert [m["content"] for m in await sync_all(widget, after=str(seen.id))] == ["missed"]
    await in_thread(reply)("live")
    assert (await widget.event())["message"]["content"] == "live"


async def test_messages_posted_during_the_sync_are_seen_exactly_once_after_deduplication(
    ws: OpenSocket,
    layer: str,
    user: Any,
    say: Any,
    reply: Any,
    chat: SupportChat,
    small_sync_pages: int,
) -> None:
    seen = await in_thread(say)("seen")
    for n in range(5):
        await in_thread(reply)(f"missed {n}")
    widget = await ws(chat_path(chat.id), user)

    async def keep_replying() -> None:
        for n in range(5):
            await in_thread(reply)(f"during sync {n}")

    writer = asyncio.create_task(keep_replying())
    received = await sync_all(widget, after=str(seen.id))
    await writer
    # Whatever the sync did not return reaches the socket live.
    while not await widget.receives_nothing(within=0.5):
        received.append((await widget.event())["message"])
    unique = {m["id"]: m for m in received}
    ordered = sorted(unique.values(), key=lambda m: (m["created_at"], m["id"]))
    assert [m["id"] for m in ordered] == await in_thread(stored_after)(chat, str(seen.id))
    assert len(ordered) == 10
