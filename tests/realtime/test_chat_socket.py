"""The chat socket's actions: each calls the same service as REST and is answered by events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.serializers.json import DjangoJSONEncoder as JSONEncoder

from chats import services
from chats.models import AdminAction, ChatAuditEntry, SupportChat, SupportMessage
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, Rest, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

in_thread = database_sync_to_async


def stored_messages(chat: SupportChat) -> list[tuple[str, str]]:
    return list(
        SupportMessage.objects.filter(chat=chat)
        .order_by("created_at")
        .values_list("sender_type", "content")
    )


# --- send_message --------------------------------------------------------------------------------


async def test_users_message_is_stored_trimmed(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="  hello support \n")
    await socket.event()
    assert await in_thread(stored_messages)(chat) == [("user", "hello support")]


async def test_senders_own_socket_receives_its_new_message(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="hello")
    event = await socket.event()
    stored = await in_thread(SupportMessage.objects.get)(chat=chat)
    assert event["type"] == "new_message"
    assert event["chat_id"] == str(chat.id)
    assert event["message"]["id"] == str(stored.id)


async def test_a_message_over_the_socket_is_exactly_what_rest_returns(
    ws: OpenSocket, layer: str, rest: Rest, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="same everywhere")
    event = await socket.event()
    listed = (await rest(user, "get", "/support_chat")).json()["messages"]
    assert listed == [event["message"]]


async def test_users_message_reaches_every_socket_on_the_chat(
    ws: OpenSocket, layer: str, user: Any, admin: Any, other_admin: Any, chat: SupportChat
) -> None:
    sender = await ws(chat_path(chat.id), user)
    other_tab = await ws(chat_path(chat.id), user)
    watchers = [await ws(chat_path(chat.id), admin), await ws(chat_path(chat.id), other_admin)]
    await sender.send(action="send_message", content="anyone there?")
    received = [await socket.event() for socket in [sender, other_tab, *watchers]]
    assert {event["type"] for event in received} == {"new_message"}
    assert len({event["message"]["id"] for event in received}) == 1


async def test_users_message_reaches_dashboards_as_new_user_message(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    dashboard = await ws(ADMIN_PATH, admin)
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="send_message", content="help")
    event = await dashboard.event()
    assert event["type"] == "new_user_message"
    assert event["chat_id"] == str(chat.id)
    assert event["user_id"] == user.pk
    assert event["user_email"] == "ann@example.com"
    assert event["message"]["content"] == "help"
    assert event["message"]["sender_type"] == "user"


async def test_admins_reply_is_stored_and_reaches_the_users_socket(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="send_message", content="How can I help?")
    event = await widget.event()
    assert event["type"] == "new_message"
    assert event["message"]["sender_type"] == "admin"
    assert event["message"]["content"] == "How can I help?"
    assert (await console.event())["message"]["id"] == event["message"]["id"]
    assert await in_thread(stored_messages)(chat) == [("admin", "How can I help?")]


async def test_admins_reply_over_a_socket_is_audited_like_a_rest_reply(
    ws: OpenSocket, layer: str, admin: Any, chat: SupportChat
) -> None:
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="send_message", content="On it.")
    await console.event()
    entry = await in_thread(ChatAuditEntry.objects.get)(chat=chat)
    assert (entry.action, entry.actor_id) == (AdminAction.REPLIED, admin.pk)


async def test_admins_reply_reaches_dashboards_as_new_admin_message(
    ws: OpenSocket, layer: str, admin: Any, other_admin: Any, chat: SupportChat
) -> None:
    dashboard = await ws(ADMIN_PATH, other_admin)
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="send_message", content="Done.")
    event = await dashboard.event()
    assert event["type"] == "new_admin_message"
    assert event["user_email"] == "ann@example.com"
    assert event["message"]["content"] == "Done."


async def test_message_posted_over_rest_reaches_the_chats_sockets(
    ws: OpenSocket, layer: str, rest: Rest, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    dashboard = await ws(ADMIN_PATH, admin)
    response = await rest(user, "post", "/support_chat/messages", {"content": "via REST"})
    assert response.status_code == 201
    assert (await widget.event())["message"]["id"] == response.json()["id"]
    assert (await dashboard.event())["type"] == "new_user_message"


async def test_reply_posted_over_rest_reaches_the_users_socket(
    ws: OpenSocket, layer: str, rest: Rest, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    response = await rest(
        admin, "post", f"/admin/chats/{chat.id}/messages", {"content": "Reply via REST"}
    )
    assert response.status_code == 201
    event = await widget.event()
    assert event["message"] == response.json()


async def test_users_message_to_an_archived_chat_reopens_it_on_dashboards(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    await in_thread(services.chat_archive)(admin=admin, chat_id=chat.id)
    dashboard = await ws(ADMIN_PATH, admin)
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="send_message", content="me again")
    message, reopened = await dashboard.events(2)
    assert message["type"] == "new_user_message"
    assert reopened["type"] == "chat_unarchived"
    assert reopened["admin"] is None
    assert reopened["chat"]["archived"] is False
    assert reopened["chat"]["last_message_preview"] == "me again"


# --- mark_read -----------------------------------------------------------------------------------


async def test_mark_read_marks_the_users_unread_replies(
    ws: OpenSocket, layer: str, user: Any, reply: Any, chat: SupportChat
) -> None:
    first, second = await in_thread(reply)("one"), await in_thread(reply)("two")
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="mark_read")
    event = await widget.event()
    assert event["type"] == "messages_read"
    assert sorted(event["message_ids"]) == sorted([str(first.id), str(second.id)])
    unread = await in_thread(SupportMessage.objects.filter(chat=chat, read_at__isnull=True).count)()
    assert unread == 0


async def test_mark_read_tells_the_users_other_tabs_and_the_admins(
    ws: OpenSocket, layer: str, user: Any, admin: Any, reply: Any, chat: SupportChat
) -> None:
    await in_thread(reply)("one")
    widget = await ws(chat_path(chat.id), user)
    other_tab = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    dashboard = await ws(ADMIN_PATH, admin)
    await widget.send(action="mark_read")
    events = [await socket.event() for socket in [widget, other_tab, console, dashboard]]
    assert {event["type"] for event in events} == {"messages_read"}
    assert {event["read_at"] for event in events} != {None}


async def test_mark_read_over_rest_reaches_the_chats_sockets(
    ws: OpenSocket, layer: str, rest: Rest, user: Any, reply: Any, chat: SupportChat
) -> None:
    message = await in_thread(reply)("one")
    widget = await ws(chat_path(chat.id), user)
    response = await rest(user, "patch", "/support_chat/mark_read")
    assert response.json() == {"marked": 1}
    event = await widget.event()
    assert (event["type"], event["message_ids"]) == ("messages_read", [str(message.id)])


async def test_mark_read_with_nothing_unread_sends_no_event(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="mark_read")
    # The next thing the socket hears is the marker, not a messages_read for nothing.
    await widget.send(action="send_message", content="marker")
    assert (await widget.event())["type"] == "new_message"


async def test_an_admin_cannot_mark_the_users_replies_read(
    ws: OpenSocket, layer: str, admin: Any, reply: Any, chat: SupportChat
) -> None:
    await in_thread(reply)("one")
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="mark_read")
    event = await console.event()
    assert (event["type"], event["code"]) == ("error", "forbidden")
    unread = await in_thread(SupportMessage.objects.filter(read_at__isnull=True).count)()
    assert unread == 1


# --- viewed --------------------------------------------------------------------------------------


async def test_viewed_records_when_the_admin_opened_the_chat(
    ws: OpenSocket, layer: str, admin: Any, chat: SupportChat
) -> None:
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="viewed")
    event = await console.event()
    await in_thread(chat.refresh_from_db)()
    assert chat.admin_viewed_at is not None
    assert event["admin_viewed_at"] == json.loads(json.dumps(chat.admin_viewed_at, cls=JSONEncoder))
    entry = await in_thread(ChatAuditEntry.objects.get)(chat=chat)
    assert (entry.action, entry.actor_id) == (AdminAction.VIEWED, admin.pk)


async def test_viewed_reaches_every_other_admins_dashboard(
    ws: OpenSocket, layer: str, admin: Any, other_admin: Any, chat: SupportChat
) -> None:
    dashboard = await ws(ADMIN_PATH, other_admin)
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="viewed")
    event = await dashboard.event()
    assert event["type"] == "chat_viewed"
    assert event["chat_id"] == str(chat.id)
    assert event["admin"] == {"id": admin.pk, "email": "support@example.com"}
    assert event["admin_viewed_at"]


async def test_viewed_tells_the_users_socket_without_naming_the_admin(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="viewed")
    event = await widget.event()
    assert event["type"] == "chat_viewed"
    assert event["admin_viewed_at"]
    assert "admin" not in event


async def test_opening_a_chat_over_rest_broadcasts_chat_viewed(
    ws: OpenSocket,
    layer: str,
    rest: Rest,
    user: Any,
    admin: Any,
    other_admin: Any,
    chat: SupportChat,
) -> None:
    dashboard = await ws(ADMIN_PATH, other_admin)
    widget = await ws(chat_path(chat.id), user)
    response = await rest(admin, "get", f"/admin/chats/{chat.id}")
    assert response.status_code == 200
    for socket in (dashboard, widget):
        event = await socket.event()
        assert event["type"] == "chat_viewed"
        assert event["admin_viewed_at"] == response.json()["admin_viewed_at"]


async def test_the_user_cannot_send_viewed(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="viewed")
    event = await widget.event()
    assert (event["type"], event["code"]) == ("error", "forbidden")
    await in_thread(chat.refresh_from_db)()
    assert chat.admin_viewed_at is None


# --- typing --------------------------------------------------------------------------------------


async def test_users_typing_reaches_the_admins_on_the_chat(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    await widget.send(action="typing", is_typing=True)
    assert await console.event() == {
        "type": "typing",
        "chat_id": str(chat.id),
        "sender_type": "user",
        "is_typing": True,
    }


async def test_admins_typing_reaches_the_users_socket(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="typing", is_typing=False)
    event = await widget.event()
    assert (event["type"], event["sender_type"], event["is_typing"]) == ("typing", "admin", False)


async def test_typing_is_not_sent_back_to_its_own_side(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    other_tab = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    await widget.send(action="typing", is_typing=True)
    assert (await console.event())["sender_type"] == "user"
    await console.send(action="typing", is_typing=True)
    # Both of the user's sockets hear the admin's typing first: their own side's never came.
    for socket in (widget, other_tab):
        assert (await socket.event())["sender_type"] == "admin"


async def test_typing_is_never_stored(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    await widget.send(action="typing", is_typing=True)
    await console.event()
    assert not await in_thread(SupportMessage.objects.exists)()
    assert not await in_thread(ChatAuditEntry.objects.exists)()


async def test_typing_without_a_boolean_is_invalid(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="typing", is_typing="yes")
    event = await widget.event()
    assert (event["code"], event["field"]) == ("invalid", "is_typing")


# --- sync ----------------------------------------------------------------------------------------


async def test_sync_returns_the_messages_after_the_given_one_in_order(
    ws: OpenSocket, layer: str, user: Any, say: Any, reply: Any, chat: SupportChat
) -> None:
    seen = await in_thread(say)("seen")
    missed = [await in_thread(say)("a"), await in_thread(reply)("b"), await in_thread(say)("c")]
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="sync", after=str(seen.id), request_id="sync-1")
    event = await widget.event()
    assert event["type"] == "sync"
    assert event["chat_id"] == str(chat.id)
    assert [m["id"] for m in event["messages"]] == [str(m.id) for m in missed]
    assert [m["content"] for m in event["messages"]] == ["a", "b", "c"]
    assert event["has_more"] is False
    assert event["request_id"] == "sync-1"


async def test_sync_after_the_newest_message_returns_nothing(
    ws: OpenSocket, layer: str, admin: Any, say: Any, chat: SupportChat
) -> None:
    newest = await in_thread(say)("latest")
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="sync", after=str(newest.id))
    event = await console.event()
    assert (event["messages"], event["has_more"]) == ([], False)


async def test_sync_says_has_more_when_more_than_a_page_is_waiting(
    ws: OpenSocket,
    layer: str,
    user: Any,
    say: Any,
    chat: SupportChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chats import consumers

    monkeypatch.setattr(consumers, "SYNC_LIMIT", 2)
    anchor = await in_thread(say)("anchor")
    later = [await in_thread(say)(f"m{i}") for i in range(3)]
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="sync", after=str(anchor.id))
    first = await widget.event()
    assert ([m["content"] for m in first["messages"]], first["has_more"]) == (["m0", "m1"], True)
    await widget.send(action="sync", after=first["messages"][-1]["id"])
    second = await widget.event()
    assert ([m["id"] for m in second["messages"]], second["has_more"]) == (
        [str(later[2].id)],
        False,
    )


async def test_sync_after_a_message_of_another_chat_is_invalid(
    ws: OpenSocket, layer: str, user: Any, other_user: Any, chat: SupportChat
) -> None:
    elsewhere = await in_thread(services.user_message_post)(user=other_user, content="not yours")
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="sync", after=str(elsewhere.id))
    event = await widget.event()
    assert (event["type"], event["code"], event["field"]) == ("error", "invalid", "after")


@pytest.mark.parametrize("after", [None, "", "123", 42, ["x"]])
async def test_sync_without_a_message_id_is_invalid(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, after: Any
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await widget.send(action="sync", after=after)
    event = await widget.event()
    assert (event["code"], event["field"]) == ("invalid", "after")
