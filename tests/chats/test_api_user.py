"""The user's side of the REST API: /api/support_chat..."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from chats import services
from chats.models import SupportChat, SupportMessage

pytestmark = pytest.mark.django_db


def field_errors(response: Any) -> list[str]:
    return [error["loc"][-1] for error in response.json()["detail"]]


# --- GET /api/support_chat ------------------------------------------------------------------------


def test_first_visit_creates_the_chat(api: Any, user: Any) -> None:
    response = api(user).get("/support_chat")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": str(SupportChat.objects.get(user=user).id),
        "archived": False,
        "admin_viewed_at": None,
        "unread_count": 0,
        "messages": [],
        "has_more": False,
        "support_online": False,
        "availability": {
            "open": True,
            "opens_at": None,
            "closes_at": None,
            "time_zone": "UTC",
            "greeting": "Hi! Ask us anything: we're here to help.",
            "reply_time": "We usually reply within a few hours.",
            "away_message": "We're away right now.",
        },
    }


def test_loading_the_chat_hands_out_the_csrf_cookie_that_writes_need(api: Any, user: Any) -> None:
    session = api(user, csrf=True)
    token = session.get("/support_chat").cookies["csrftoken"].value
    response = session.post("/support_chat/messages", {"content": "Hi"}, X_CSRFToken=token)
    assert response.status_code == 201


def test_chat_shows_messages_oldest_first_with_the_message_shape(
    api: Any, user: Any, say: Any, reply: Any
) -> None:
    with freeze_time("2026-01-29 10:00:00"):
        question = say("question")
    with freeze_time("2026-01-29 10:01:00"):
        reply("answer")
    messages = api(user).get("/support_chat").json()["messages"]
    assert [m["content"] for m in messages] == ["question", "answer"]
    assert messages[0] == {
        "id": str(question.id),
        "chat_id": str(question.chat_id),
        "content": "question",
        "sender_type": "user",
        "sender_name": None,
        "read_at": None,
        "created_at": "2026-01-29T10:00:00Z",
        "attachments": [],
    }
    assert messages[1]["sender_type"] == "admin"


def test_chat_shows_the_newest_50_messages_and_says_there_are_more(
    api: Any, user: Any, say: Any, settings: Any
) -> None:
    # 55 posts at once are more than a minute's allowance, which the service itself takes.
    settings.DESK_MESSAGES_PER_MINUTE = 55
    for i in range(55):
        say(f"m{i}")
    body = api(user).get("/support_chat").json()
    assert [m["content"] for m in body["messages"]] == [f"m{i}" for i in range(5, 55)]
    assert body["has_more"] is True


def test_chat_counts_unread_replies_for_the_badge(api: Any, user: Any, reply: Any) -> None:
    reply("one")
    reply("two")
    assert api(user).get("/support_chat").json()["unread_count"] == 2


def test_anonymous_gets_401(api: Any, db: None) -> None:
    assert api().get("/support_chat").status_code == 401


def test_inactive_user_gets_401(api: Any, user: Any) -> None:
    session = api(user)
    user.is_active = False
    user.save()
    assert session.get("/support_chat").status_code == 401


# --- GET /api/support_chat/messages ---------------------------------------------------------------


def test_messages_after_an_id_returns_only_newer_ones_in_order(
    api: Any, user: Any, say: Any
) -> None:
    first = say("one")
    say("two")
    say("three")
    body = api(user).get("/support_chat/messages", after=first.id).json()
    assert [m["content"] for m in body["messages"]] == ["two", "three"]
    assert body["has_more"] is False


def test_messages_after_the_newest_id_is_empty(api: Any, user: Any, say: Any) -> None:
    newest = say("one")
    body = api(user).get("/support_chat/messages", after=newest.id).json()
    assert body == {"messages": [], "has_more": False}


def test_messages_after_pages_forward_with_has_more(api: Any, user: Any, say: Any) -> None:
    anchor = say("anchor")
    for i in range(5):
        say(f"m{i}")
    body = api(user).get("/support_chat/messages", after=anchor.id, limit=3).json()
    assert [m["content"] for m in body["messages"]] == ["m0", "m1", "m2"]
    assert body["has_more"] is True


def test_messages_before_an_id_returns_older_history(api: Any, user: Any, say: Any) -> None:
    for i in range(5):
        say(f"m{i}")
    newest = say("newest")
    body = api(user).get("/support_chat/messages", before=newest.id, limit=2).json()
    assert [m["content"] for m in body["messages"]] == ["m3", "m4"]
    assert body["has_more"] is True


def test_messages_after_another_users_message_is_refused(
    api: Any, user: Any, other_user: Any, say: Any
) -> None:
    say("mine")
    theirs = services.user_message_post(user=other_user, content="secret")
    response = api(user).get("/support_chat/messages", after=theirs.id)
    assert response.status_code == 422
    assert field_errors(response) == ["after"]
    assert "secret" not in response.content.decode()


@pytest.mark.parametrize("param", ["after", "before"])
def test_malformed_message_id_is_422_naming_the_field(api: Any, user: Any, param: str) -> None:
    response = api(user).get("/support_chat/messages", **{param: "not-a-uuid"})
    assert response.status_code == 422
    assert field_errors(response) == [param]


@pytest.mark.parametrize("limit", [0, 201, "many"])
def test_limit_out_of_range_is_422(api: Any, user: Any, limit: Any) -> None:
    response = api(user).get("/support_chat/messages", limit=limit)
    assert response.status_code == 422
    assert field_errors(response) == ["limit"]


def test_messages_anonymous_gets_401(api: Any, db: None) -> None:
    assert api().get("/support_chat/messages").status_code == 401


# --- POST /api/support_chat/messages --------------------------------------------------------------


def test_sending_a_message_answers_201_with_the_message(api: Any, user: Any) -> None:
    response = api(user).post("/support_chat/messages", {"content": "  Hello!  "})
    assert response.status_code == 201
    body = response.json()
    stored = SupportMessage.objects.get()
    assert body["id"] == str(stored.id)
    assert body["content"] == "Hello!"
    assert body["sender_type"] == "user"
    assert stored.chat.user == user


def test_sending_to_an_archived_chat_reopens_it(
    api: Any, user: Any, admin: Any, chat: SupportChat
) -> None:
    services.chat_archive(admin=admin, chat_id=chat.id)
    api(user).post("/support_chat/messages", {"content": "back again"})
    assert api(user).get("/support_chat").json()["archived"] is False


@pytest.mark.parametrize("content", ["", "   ", "x" * 5001])
def test_invalid_content_is_422_naming_content(api: Any, user: Any, content: str) -> None:
    response = api(user).post("/support_chat/messages", {"content": content})
    assert response.status_code == 422
    assert field_errors(response) == ["content"]
    assert not SupportMessage.objects.exists()


def test_content_of_exactly_5000_characters_is_accepted(api: Any, user: Any) -> None:
    response = api(user).post("/support_chat/messages", {"content": "x" * 5000})
    assert response.status_code == 201


@pytest.mark.parametrize("body", [{}, {"content": None}, {"content": 42}, {"text": "hi"}])
def test_missing_or_mistyped_content_is_422(api: Any, user: Any, body: dict[str, Any]) -> None:
    response = api(user).post("/support_chat/messages", body)
    assert response.status_code == 422
    assert "content" in field_errors(response)


def test_content_with_nul_is_422_not_500(api: Any, user: Any) -> None:
    response = api(user).post("/support_chat/messages", {"content": "a\u0000b"})
    assert response.status_code == 422
    assert field_errors(response) == ["content"]


def test_malformed_json_is_rejected_without_a_server_error(api: Any, user: Any) -> None:
    session = api(user)
    response = session.client.post(
        "/api/support_chat/messages", "{not json", content_type="application/json"
    )
    assert response.status_code in {400, 422}


def test_sending_anonymously_gets_401(api: Any, db: None) -> None:
    assert api().post("/support_chat/messages", {"content": "hi"}).status_code == 401
    assert not SupportMessage.objects.exists()


def test_sending_without_a_csrf_token_is_refused(api: Any, user: Any) -> None:
    response = api(user, csrf=True).post("/support_chat/messages", {"content": "hi"})
    assert response.status_code == 403
    assert not SupportMessage.objects.exists()


def test_sending_with_the_csrf_token_is_accepted(api: Any, user: Any) -> None:
    session = api(user, csrf=True)
    session.client.get("/accounts/login/")
    token = session.client.cookies["csrftoken"].value
    response = session.post("/support_chat/messages", {"content": "hi"}, X_CSRFToken=token)
    assert response.status_code == 201


# --- PATCH /api/support_chat/mark_read ------------------------------------------------------------


def test_mark_read_reports_how_many_replies_were_marked(api: Any, user: Any, reply: Any) -> None:
    reply("one")
    reply("two")
    response = api(user).patch("/support_chat/mark_read")
    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert api(user).get("/support_chat").json()["unread_count"] == 0


def test_mark_read_shows_read_at_on_replies(api: Any, user: Any, reply: Any) -> None:
    reply("one")
    with freeze_time("2026-01-29 12:00:00"):
        api(user).patch("/support_chat/mark_read")
    [message] = api(user).get("/support_chat").json()["messages"]
    assert message["read_at"] == "2026-01-29T12:00:00Z"


def test_mark_read_without_a_csrf_token_is_refused(api: Any, user: Any, reply: Any) -> None:
    reply("one")
    assert api(user, csrf=True).patch("/support_chat/mark_read").status_code == 403
    assert SupportMessage.objects.get().read_at is None


def test_mark_read_anonymously_gets_401(api: Any, db: None) -> None:
    assert api().patch("/support_chat/mark_read").status_code == 401


# --- Isolation between users ----------------------------------------------------------------------


def test_a_user_only_ever_sees_their_own_chat(
    api: Any, user: Any, other_user: Any, say: Any
) -> None:
    say("ann's private question")
    body = api(other_user).get("/support_chat").json()
    assert body["messages"] == []
    assert body["id"] != str(SupportChat.objects.get(user=user).id)


def test_a_user_cannot_write_into_another_users_chat(
    api: Any, user: Any, other_user: Any, chat: SupportChat
) -> None:
    api(other_user).post("/support_chat/messages", {"content": "hello", "chat_id": str(chat.id)})
    assert not SupportMessage.objects.filter(chat=chat).exists()


def test_unknown_message_id_in_after_is_422(api: Any, user: Any) -> None:
    response = api(user).get("/support_chat/messages", after=uuid.uuid4())
    assert response.status_code == 422
    assert field_errors(response) == ["after"]


# --- The hot paths stay cheap ---------------------------------------------------------------------


def test_polling_runs_three_queries(api: Any, user: Any, say: Any) -> None:
    anchor = say("one")
    say("two")
    session = api(user)
    with CaptureQueriesContext(connection) as queries:
        session.get("/support_chat/messages", after=anchor.id)
    # the user, the anchor, the page (the session comes from Redis)
    assert len(queries) == 3, [q["sql"] for q in queries.captured_queries]


def test_posting_runs_a_fixed_number_of_queries(api: Any, user: Any, chat: SupportChat) -> None:
    session = api(user)
    with CaptureQueriesContext(connection) as queries:
        session.post("/support_chat/messages", {"content": "hello"})
    statements = [q["sql"] for q in queries.captured_queries]
    # the user (the session comes from Redis), then in one transaction: lock the chat, insert,
    # update the chat
    assert len([s for s in statements if "SAVEPOINT" not in s]) == 4, statements
