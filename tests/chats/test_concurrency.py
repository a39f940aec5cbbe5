"""Writers racing on one chat, each on its own database connection, as server processes would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from chats import services
from chats.models import SupportChat, SupportMessage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 8


def race(task: Callable[[int], Any], count: int = WRITERS) -> list[Any]:
    """Run task(0..count-1) on `count` threads released at the same instant."""
    start = threading.Barrier(count)

    def run(i: int) -> Any:
        try:
            start.wait()
            return task(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_posts_to_one_chat_are_all_kept_in_commit_order(user: Any) -> None:
    services.chat_get_or_create(user=user)
    posted = race(lambda i: services.user_message_post(user=user, content=f"m{i}"))
    stored = list(SupportMessage.objects.filter(chat__user=user).order_by("created_at", "id"))
    assert len(stored) == WRITERS
    stamps = [m.created_at for m in stored]
    assert len(set(stamps)) == WRITERS, "timestamps within a chat are unique"
    assert sorted(m.id for m in posted) == sorted(m.id for m in stored)
    chat = SupportChat.objects.get(user=user)
    assert chat.last_message_at == max(stamps)


def test_a_reader_catching_up_after_any_message_never_misses_a_later_commit(user: Any) -> None:
    """Polling with after=<last seen id> while others post: every message is seen exactly once."""
    from chats import selectors

    chat = services.chat_get_or_create(user=user)
    anchor = services.user_message_post(user=user, content="anchor")
    seen: list[str] = []
    done = threading.Event()

    def poll() -> None:
        last = anchor.id
        try:
            while True:
                finished = done.is_set()
                page = selectors.messages_page(
                    messages=selectors.chat_messages(chat), after=last, limit=200
                )
                seen.extend(str(m.id) for m in page.messages)
                if page.messages:
                    last = page.messages[-1].id
                if finished and not page.messages:
                    return
        finally:
            connection.close()

    reader = threading.Thread(target=poll)
    reader.start()
    posted = race(lambda i: services.user_message_post(user=user, content=f"m{i}"))
    done.set()
    reader.join(timeout=30)
    assert sorted(seen) == sorted(str(m.id) for m in posted)


def test_two_tabs_marking_read_at_once_count_each_reply_once(user: Any, admin: Any) -> None:
    chat = services.chat_get_or_create(user=user)
    for i in range(5):
        services.admin_reply_post(admin=admin, chat_id=chat.id, content=f"r{i}")
    marked = race(lambda i: services.messages_mark_read(user=user), count=4)
    assert sum(marked) == 5
    assert not SupportMessage.objects.filter(read_at__isnull=True).exists()


def test_first_visits_at_once_create_one_chat(user: Any) -> None:
    chats = race(lambda i: services.chat_get_or_create(user=user), count=4)
    assert len({c.id for c in chats}) == 1
    assert SupportChat.objects.filter(user=user).count() == 1


def test_archive_racing_a_user_message_leaves_a_consistent_chat(user: Any, admin: Any) -> None:
    chat = services.chat_get_or_create(user=user)
    services.user_message_post(user=user, content="first")

    def act(i: int) -> None:
        if i % 2:
            services.chat_archive(admin=admin, chat_id=chat.id)
        else:
            services.user_message_post(user=user, content=f"m{i}")

    race(act, count=6)
    chat.refresh_from_db()
    last = SupportMessage.objects.filter(chat=chat).order_by("-created_at").first()
    assert chat.last_message_at == last.created_at
    # Either the archive came last or a user message reopened it; never a lost update.
    if chat.archived_at is not None:
        assert chat.archived_at >= last.created_at
