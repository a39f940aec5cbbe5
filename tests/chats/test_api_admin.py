"""The admins' side of the REST API: /api/admin/chats..."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from freezegun import freeze_time

from chats import services
from chats.models import AdminAction, ChatAuditEntry, SupportChat, SupportMessage

pytestmark = pytest.mark.django_db


def field_errors(response: Any) -> list[str]:
    return [error["loc"][-1] for error in response.json()["detail"]]


ADMIN_READS = ["", "/messages"]
ADMIN_WRITES = ["/messages", "/archive", "/unarchive"]


# --- Who may ask ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ADMIN_READS)
def test_non_staff_user_gets_403_on_admin_reads(
    api: Any, other_user: Any, chat: SupportChat, suffix: str
) -> None:
    assert api(other_user).get(f"/admin/chats/{chat.id}{suffix}").status_code == 403


@pytest.mark.parametrize("suffix", ADMIN_WRITES)
def test_non_staff_user_gets_403_on_admin_writes(
    api: Any, other_user: Any, chat: SupportChat, suffix: str
) -> None:
    response = api(other_user).post(f"/admin/chats/{chat.id}{suffix}", {"content": "x"})
    assert response.status_code == 403
    assert not SupportMessage.objects.exists()
    assert not ChatAuditEntry.objects.exists()


def test_the_chats_own_user_gets_403_on_its_admin_view(
    api: Any, user: Any, chat: SupportChat
) -> None:
    assert api(user).get(f"/admin/chats/{chat.id}").status_code == 403


def test_non_staff_user_gets_403_on_the_admin_list(api: Any, other_user: Any) -> None:
    assert api(other_user).get("/admin/chats").status_code == 403


@pytest.mark.parametrize("suffix", ADMIN_READS)
def test_anonymous_gets_401_on_admin_reads(api: Any, chat: SupportChat, suffix: str) -> None:
    assert api().get(f"/admin/chats/{chat.id}{suffix}").status_code == 401


@pytest.mark.parametrize("suffix", ADMIN_WRITES)
def test_anonymous_gets_401_on_admin_writes(api: Any, chat: SupportChat, suffix: str) -> None:
    assert api().post(f"/admin/chats/{chat.id}{suffix}", {"content": "x"}).status_code == 401


def test_anonymous_gets_401_on_the_admin_list(api: Any, db: None) -> None:
    assert api().get("/admin/chats").status_code == 401


@pytest.mark.parametrize("suffix", ADMIN_READS)
def test_unknown_chat_is_404(api: Any, admin: Any, suffix: str) -> None:
    assert api(admin).get(f"/admin/chats/{uuid.uuid4()}{suffix}").status_code == 404


@pytest.mark.parametrize("suffix", ADMIN_WRITES)
def test_writing_to_an_unknown_chat_is_404(api: Any, admin: Any, suffix: str) -> None:
    response = api(admin).post(f"/admin/chats/{uuid.uuid4()}{suffix}", {"content": "x"})
    assert response.status_code == 404


@pytest.mark.parametrize("suffix", ADMIN_READS)
def test_malformed_chat_id_is_422_naming_chat_id(api: Any, admin: Any, suffix: str) -> None:
    response = api(admin).get(f"/admin/chats/not-a-uuid{suffix}")
    assert response.status_code == 422
    assert field_errors(response) == ["chat_id"]


@pytest.mark.parametrize("suffix", ADMIN_WRITES)
def test_admin_writes_without_a_csrf_token_are_refused(
    api: Any, admin: Any, chat: SupportChat, suffix: str
) -> None:
    response = api(admin, csrf=True).post(f"/admin/chats/{chat.id}{suffix}", {"content": "x"})
    assert response.status_code == 403
    assert not SupportMessage.objects.exists()
    assert not ChatAuditEntry.objects.exists()


# --- Detail ---------------------------------------------------------------------------------------


def test_detail_shows_the_chat_and_its_messages(
    api: Any, admin: Any, user: Any, say: Any, chat: SupportChat
) -> None:
    say("hello")
    body = api(admin).get(f"/admin/chats/{chat.id}").json()
    assert body["id"] == str(chat.id)
    assert body["user_id"] == user.id
    assert body["user_email"] == user.email
    assert body["archived"] is False
    assert [m["content"] for m in body["messages"]] == ["hello"]
    assert body["has_more"] is False


def test_opening_the_detail_marks_the_chat_viewed(
    api: Any, admin: Any, say: Any, chat: SupportChat
) -> None:
    with freeze_time("2026-01-29 09:59:00"):
        say("hello")
    with freeze_time("2026-01-29 10:00:00"):
        body = api(admin).get(f"/admin/chats/{chat.id}").json()
    assert body["admin_viewed_at"] == "2026-01-29T10:00:00Z"
    assert body["unread"] is False
    assert ChatAuditEntry.objects.get().action == AdminAction.VIEWED


def test_admin_messages_after_an_id(api: Any, admin: Any, say: Any, chat: SupportChat) -> None:
    first = say("one")
    say("two")
    body = api(admin).get(f"/admin/chats/{chat.id}/messages", after=first.id).json()
    assert [m["content"] for m in body["messages"]] == ["two"]


def test_admin_messages_anchor_from_another_chat_is_422(
    api: Any, admin: Any, other_user: Any, chat: SupportChat
) -> None:
    elsewhere = services.user_message_post(user=other_user, content="elsewhere")
    response = api(admin).get(f"/admin/chats/{chat.id}/messages", before=elsewhere.id)
    assert response.status_code == 422
    assert field_errors(response) == ["before"]


# --- Replying -------------------------------------------------------------------------------------


def test_admin_reply_answers_201_and_is_stored_as_admin(
    api: Any, admin: Any, chat: SupportChat
) -> None:
    response = api(admin).post(f"/admin/chats/{chat.id}/messages", {"content": " On it. "})
    assert response.status_code == 201
    assert response.json()["sender_type"] == "admin"
    assert response.json()["content"] == "On it."
    stored = SupportMessage.objects.get()
    assert stored.sender == admin
    assert stored.chat == chat


@pytest.mark.parametrize("content", ["", " \n ", "y" * 5001])
def test_admin_reply_with_invalid_content_is_422(
    api: Any, admin: Any, chat: SupportChat, content: str
) -> None:
    response = api(admin).post(f"/admin/chats/{chat.id}/messages", {"content": content})
    assert response.status_code == 422
    assert field_errors(response) == ["content"]


def test_the_user_sees_the_admin_reply(api: Any, admin: Any, user: Any, chat: SupportChat) -> None:
    api(admin).post(f"/admin/chats/{chat.id}/messages", {"content": "Hello from support"})
    body = api(user).get("/support_chat").json()
    assert [(m["sender_type"], m["content"]) for m in body["messages"]] == [
        ("admin", "Hello from support")
    ]
    assert body["unread_count"] == 1


# --- Archive / unarchive --------------------------------------------------------------------------


def test_archive_answers_with_the_chat_summary(
    api: Any, admin: Any, say: Any, chat: SupportChat
) -> None:
    say("thanks, solved")
    body = api(admin).post(f"/admin/chats/{chat.id}/archive").json()
    assert body["id"] == str(chat.id)
    assert body["archived"] is True
    assert body["last_message_preview"] == "thanks, solved"
    assert body["message_count"] == 1


def test_archived_chat_moves_from_the_active_tab_to_the_archived_tab(
    api: Any, admin: Any, say: Any, chat: SupportChat
) -> None:
    say("hello")
    api(admin).post(f"/admin/chats/{chat.id}/archive")
    active = api(admin).get("/admin/chats", archived="false").json()["items"]
    archived = api(admin).get("/admin/chats", archived="true").json()["items"]
    assert [item["id"] for item in active] == []
    assert [item["id"] for item in archived] == [str(chat.id)]


def test_unarchive_brings_the_chat_back_to_active(
    api: Any, admin: Any, say: Any, chat: SupportChat
) -> None:
    say("hello")
    api(admin).post(f"/admin/chats/{chat.id}/archive")
    body = api(admin).post(f"/admin/chats/{chat.id}/unarchive").json()
    assert body["archived"] is False
    active = api(admin).get("/admin/chats").json()["items"]
    assert [item["id"] for item in active] == [str(chat.id)]


def test_user_message_brings_an_archived_chat_back_to_the_active_tab(
    api: Any, admin: Any, user: Any, chat: SupportChat
) -> None:
    api(admin).post(f"/admin/chats/{chat.id}/archive")
    api(user).post("/support_chat/messages", {"content": "one more thing"})
    active = api(admin).get("/admin/chats").json()["items"]
    assert [(item["id"], item["unread"]) for item in active] == [(str(chat.id), True)]
