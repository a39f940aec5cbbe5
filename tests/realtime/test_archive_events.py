"""`chat_archived` and `chat_unarchived` carry the chat row their own transaction committed.

Read after the commit, the row could already show a later archive or restore, and the dashboard
would receive a `chat_unarchived` with `archived: true` and file the chat in the wrong tab.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction

from chats import services
from chats.models import AdminAction, ChatAuditEntry, SupportChat
from chats.realtime import protocol
from chats.realtime.protocol import EventType
from tests.realtime.conftest import ADMIN_PATH, OpenSocket

in_thread = database_sync_to_async

ARCHIVED_BY_TYPE = {EventType.CHAT_ARCHIVED: True, EventType.CHAT_UNARCHIVED: False}


def disagreeing(received: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The events whose row says the opposite of their type."""
    return [
        (event["type"], event["chat"]["archived"])
        for event in received
        if event["chat"]["archived"] != ARCHIVED_BY_TYPE[event["type"]]
    ]


@pytest.mark.django_db
def test_broadcasting_an_archive_costs_no_query(
    admin: Any,
    chat: SupportChat,
    django_capture_on_commit_callbacks: Any,
    django_assert_num_queries: Any,
) -> None:
    # The row was read inside the transaction; nothing is read again after the commit.
    with django_capture_on_commit_callbacks() as after_commit:
        services.chat_archive(admin=admin, chat_id=chat.id)
    with django_assert_num_queries(0):
        for callback in after_commit:
            callback()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_archive_restored_before_its_event_left_still_announces_archived(
    ws: OpenSocket, redis_layer: str, admin: Any, chat: SupportChat
) -> None:
    dashboard = await ws(ADMIN_PATH, admin)

    def archive_then_restore_before_its_event_leaves() -> None:
        with transaction.atomic():
            # Registered first, so it runs first after the commit: the restore commits between
            # the archive's commit and the archive's broadcast.
            transaction.on_commit(lambda: services.chat_unarchive(admin=admin, chat_id=chat.id))
            services.chat_archive(admin=admin, chat_id=chat.id)

    await in_thread(archive_then_restore_before_its_event_leaves)()
    received = await dashboard.events(2)
    assert sorted(event["type"] for event in received) == ["chat_archived", "chat_unarchived"]
    assert disagreeing(received) == []


ROUNDS = 30
WRITERS = 4


def race(task: Callable[[int], Any], count: int) -> None:
    """Run task(0..count-1) on `count` threads released at the same instant."""
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            start.wait()
            task(n)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(run, range(count)))


@pytest.mark.postgres
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_racing_archives_and_restores_send_events_that_agree_with_their_type(
    ws: OpenSocket, redis_layer: str, admin: Any, chat: SupportChat
) -> None:
    dashboard = await ws(ADMIN_PATH, admin)

    def archive_or_restore(n: int) -> None:
        flip = services.chat_archive if n % 2 == 0 else services.chat_unarchive
        for _ in range(ROUNDS):
            flip(admin=admin, chat_id=chat.id)

    await in_thread(race)(archive_or_restore, WRITERS)
    # One event per change that happened (archiving an archived chat changes nothing).
    changes = await in_thread(
        ChatAuditEntry.objects.filter(
            chat=chat, action__in=[AdminAction.ARCHIVED, AdminAction.UNARCHIVED]
        ).count
    )()
    assert changes > 1
    received = await dashboard.events(changes)
    assert {event["type"] for event in received} == set(ARCHIVED_BY_TYPE)
    assert disagreeing(received) == []


def test_the_user_group_name_is_valid_for_the_channel_layer() -> None:
    from channels.layers import BaseChannelLayer

    assert BaseChannelLayer().require_valid_group_name(protocol.user_group(42))
