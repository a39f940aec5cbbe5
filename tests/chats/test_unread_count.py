"""GET /api/admin/unread: the dashboard's title count, the active chats waiting for an admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from chats import services
from chats.embed.services import guest_merge
from chats.models import SupportChat
from tests.chats.contacts import chat_of, guest, identified
from tests.chats.test_admin_list import make_chats

pytestmark = pytest.mark.django_db


def unread(api: Any, admin: Any) -> int:
    response = api(admin).get("/admin/unread")
    assert response.status_code == 200, response.content
    return int(response.json()["unread_chats"])


def test_no_chats_no_count(api: Any, admin: Any) -> None:
    assert unread(api, admin) == 0


def test_a_user_message_makes_its_chat_unread(api: Any, admin: Any, say: Any) -> None:
    say("Hello?")
    assert unread(api, admin) == 1


def test_several_messages_of_one_chat_count_once(api: Any, admin: Any, say: Any) -> None:
    say("Hello?")
    say("Anyone there?")
    assert unread(api, admin) == 1


def test_opening_the_chat_clears_it(api: Any, admin: Any, say: Any, chat: SupportChat) -> None:
    say("Hello?")
    services.chat_mark_viewed(admin=admin, chat_id=chat.id)
    assert unread(api, admin) == 0


def test_a_message_after_the_chat_was_opened_counts_again(
    api: Any, admin: Any, say: Any, chat: SupportChat
) -> None:
    with freeze_time("2026-01-29 10:00:00") as clock:
        say("Hello?")
        services.chat_mark_viewed(admin=admin, chat_id=chat.id)
        clock.tick(5)
        say("Still there?")
    assert unread(api, admin) == 1


def test_an_admin_reply_alone_is_not_unread(
    api: Any, admin: Any, reply: Any, chat: SupportChat
) -> None:
    reply("We wrote first.")
    assert unread(api, admin) == 0


def test_archived_chats_do_not_count(api: Any, admin: Any, say: Any, chat: SupportChat) -> None:
    say("Hello?")
    services.chat_archive(admin=admin, chat_id=chat.id)
    assert unread(api, admin) == 0


def test_the_count_agrees_with_the_lists_unread_markers(api: Any, admin: Any) -> None:
    make_chats(6)
    items = api(admin).get("/admin/chats").json()["items"]
    assert unread(api, admin) == sum(item["unread"] for item in items) == 6


def test_a_merged_guest_chat_brings_its_unread_messages_along(api: Any, admin: Any) -> None:
    with freeze_time("2026-01-29 10:00:00") as clock:
        person = identified()
        services.chat_mark_viewed(admin=admin, chat_id=chat_of(person).id)
        clock.tick(5)
        visitor = guest()  # wrote after the person's chat was opened
        guest_merge(guest=visitor, into=person)
    assert unread(api, admin) == 1


def test_counting_costs_one_query_however_many_chats(api: Any, admin: Any) -> None:
    make_chats(30)
    client = api(admin)
    client.get("/admin/unread")  # the session, once
    with CaptureQueriesContext(connection) as queries:
        client.get("/admin/unread")
    counts = [q for q in queries.captured_queries if "COUNT" in q["sql"].upper()]
    assert len(counts) == 1


def test_users_may_not_read_it(api: Any, user: Any) -> None:
    assert api(user).get("/admin/unread").status_code == 403
