"""GET /api/admin/chats: order, tabs, keyset pages, search, and a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from chats import services
from chats.models import SenderType, SupportChat, SupportMessage
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 29, 9, 0, tzinfo=UTC)


def make_chats(count: int, *, messages_each: int = 2, archived: bool = False) -> list[SupportChat]:
    """`count` chats, chat i last active at START + i minutes, alternating user/admin messages."""
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(username=f"u{i}@example.com", email=f"u{i}@example.com") for i in range(count)
    )
    chats = SupportChat.objects.bulk_create(
        SupportChat(
            user=user,
            last_message_at=START + timedelta(minutes=i),
            # The newest of the user's messages below (every even one).
            last_user_message_at=START + timedelta(minutes=i, seconds=-((messages_each - 1) % 2))
            if messages_each
            else None,
            archived_at=START if archived else None,
            message_count=messages_each,
        )
        for i, user in enumerate(users)
    )
    SupportMessage.objects.bulk_create(
        SupportMessage(
            chat=chat,
            sender=chat.user,
            sender_type=SenderType.USER if n % 2 == 0 else SenderType.ADMIN,
            content=f"message {n} of {chat.user.email}",
            created_at=chat.last_message_at - timedelta(seconds=messages_each - 1 - n),
        )
        for chat in chats
        for n in range(messages_each)
    )
    return chats


def ids(response: Any) -> list[str]:
    return [item["id"] for item in response.json()["items"]]


def test_item_has_every_field_of_the_contract(api: Any, admin: Any, user: Any) -> None:
    with freeze_time("2026-01-29 10:00:00"):
        services.user_message_post(user=user, content="Where is my order?")
    [item] = api(admin).get("/admin/chats").json()["items"]
    chat = SupportChat.objects.get(user=user)
    assert item == {
        "id": str(chat.id),
        "user_id": user.id,
        "user_email": "ann@example.com",
        "contact": None,
        "last_message_at": "2026-01-29T10:00:00Z",
        "last_message_preview": "Where is my order?",
        "last_message_sender": "user",
        "message_count": 1,
        "unread": True,
        "archived": False,
        "admin_viewed_at": None,
        "created_at": item["created_at"],
        "user_online": False,
    }


def test_newest_activity_comes_first(api: Any, admin: Any) -> None:
    chats = make_chats(3)
    assert ids(api(admin).get("/admin/chats")) == [str(c.id) for c in reversed(chats)]


def test_chats_without_messages_come_last(api: Any, admin: Any, user: Any) -> None:
    empty = services.chat_get_or_create(user=user)
    chats = make_chats(2)
    assert ids(api(admin).get("/admin/chats")) == [
        str(chats[1].id),
        str(chats[0].id),
        str(empty.id),
    ]


def test_preview_is_the_last_message_cut_at_100_characters(api: Any, admin: Any, user: Any) -> None:
    services.user_message_post(user=user, content="first")
    services.user_message_post(user=user, content="é" * 150)
    [item] = api(admin).get("/admin/chats").json()["items"]
    assert item["last_message_preview"] == "é" * 100
    assert item["message_count"] == 2


def test_last_message_sender_follows_the_last_message(
    api: Any, admin: Any, say: Any, reply: Any
) -> None:
    say("question")
    reply("answer")
    [item] = api(admin).get("/admin/chats").json()["items"]
    assert item["last_message_sender"] == "admin"
    assert item["last_message_preview"] == "answer"


def test_unread_marker_clears_when_viewed(api: Any, admin: Any, say: Any, chat: Any) -> None:
    with freeze_time("2026-01-29 10:00:00"):
        say("hello")
    assert api(admin).get("/admin/chats").json()["items"][0]["unread"] is True
    with freeze_time("2026-01-29 10:01:00"):
        services.chat_mark_viewed(admin=admin, chat_id=chat.id)
    assert api(admin).get("/admin/chats").json()["items"][0]["unread"] is False


def test_archived_and_active_tabs_are_disjoint(api: Any, admin: Any) -> None:
    active = make_chats(2)
    archived_user = make_user("old@example.com")
    old = services.chat_get_or_create(user=archived_user)
    services.user_message_post(user=archived_user, content="bye")
    services.chat_archive(admin=admin, chat_id=old.id)
    assert set(ids(api(admin).get("/admin/chats"))) == {str(c.id) for c in active}
    assert ids(api(admin).get("/admin/chats", archived="true")) == [str(old.id)]


def test_keyset_pages_cover_every_chat_once_in_order(api: Any, admin: Any, user: Any) -> None:
    services.chat_get_or_create(user=user)  # no messages: must come on the last page
    make_chats(7)
    expected = ids(api(admin).get("/admin/chats", limit=50))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = api(admin).get("/admin/chats", **params).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert len(seen) == 8
    assert pages == 3


def test_keyset_pages_through_many_chats_without_messages(api: Any, admin: Any) -> None:
    user_model = get_user_model()
    for i in range(5):
        services.chat_get_or_create(
            user=user_model.objects.create(username=f"e{i}", email=f"e{i}@x.io")
        )
    first = api(admin).get("/admin/chats", limit=2).json()
    second = api(admin).get("/admin/chats", limit=2, cursor=first["next_cursor"]).json()
    third = api(admin).get("/admin/chats", limit=2, cursor=second["next_cursor"]).json()
    seen = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert len(seen) == len(set(seen)) == 5
    assert third["next_cursor"] is None


def test_a_chat_with_new_activity_moves_to_the_top(api: Any, admin: Any) -> None:
    chats = make_chats(3)
    services.user_message_post(user=chats[0].user, content="me again")
    assert ids(api(admin).get("/admin/chats"))[0] == str(chats[0].id)


def test_search_filters_by_email_fragment_case_insensitively(api: Any, admin: Any) -> None:
    chats = make_chats(12)
    found = ids(api(admin).get("/admin/chats", q="U1"))
    assert set(found) == {str(chats[i].id) for i in (1, 10, 11)}


@pytest.mark.parametrize("cursor", ["garbage", "Zm9vYmFy", "bm90LWEtZGF0ZXxub3QtYS11dWlk", "!!"])
def test_malformed_cursor_is_422_naming_cursor(api: Any, admin: Any, cursor: str) -> None:
    response = api(admin).get("/admin/chats", cursor=cursor)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "cursor"


@pytest.mark.parametrize("archived", ["maybe", "2"])
def test_malformed_archived_flag_is_422(api: Any, admin: Any, archived: str) -> None:
    response = api(admin).get("/admin/chats", archived=archived)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "archived"


@pytest.mark.parametrize("size", [3, 300])
def test_the_list_runs_a_fixed_number_of_queries(
    api: Any, admin: Any, size: int, django_assert_max_num_queries: Any
) -> None:
    make_chats(size, messages_each=3)
    session = api(admin)
    session.get("/admin/chats")  # warm up the session and the user lookup
    with CaptureQueriesContext(connection) as queries:
        response = session.get("/admin/chats", limit=50)
    assert len(response.json()["items"]) == min(size, 50)
    # The user and the page itself (the session comes from Redis); nothing per chat.
    assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]
    with django_assert_max_num_queries(2):
        session.get("/admin/chats", limit=50, cursor=response.json()["next_cursor"] or "")
