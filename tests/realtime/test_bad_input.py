"""Bad input over a socket: an `error` event, the connection stays open, nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chats import services
from chats.models import CONTENT_MAX_LENGTH, ChatAuditEntry, SupportChat, SupportMessage
from chats.realtime import sockets
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, Socket, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

in_thread = database_sync_to_async


async def still_works(socket: Socket) -> None:
    """The socket is open and serving: a valid message goes through and comes back."""
    await socket.send(action="send_message", content="still here")
    event = await socket.event()
    assert (event["type"], event["message"]["content"]) == ("new_message", "still here")


async def nothing_but(contents: list[str]) -> None:
    stored = await in_thread(
        lambda: list(SupportMessage.objects.values_list("content", flat=True))
    )()
    assert stored == contents


async def test_non_json_text_is_an_invalid_json_error(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send_text("hello?")
    event = await socket.event()
    assert event["type"] == "error"
    assert event["code"] == "invalid_json"
    assert event["detail"]
    await still_works(socket)


@pytest.mark.parametrize("text", ["[]", '"send_message"', "42", "null", ""])
async def test_json_that_is_not_an_object_is_an_invalid_json_error(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, text: str
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send_text(text)
    assert (await socket.event())["code"] == "invalid_json"
    await still_works(socket)


async def test_binary_frame_is_a_binary_not_supported_error(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send_bytes(json.dumps({"action": "send_message", "content": "x"}).encode())
    assert (await socket.event())["code"] == "binary_not_supported"
    await nothing_but([])
    await still_works(socket)


async def test_frame_above_the_size_limit_is_a_frame_too_large_error(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    padding = "x" * sockets.MAX_FRAME_CHARS
    await socket.send(action="send_message", content="hi", padding=padding)
    assert (await socket.event())["code"] == "frame_too_large"
    await nothing_but([])
    await still_works(socket)


@pytest.mark.parametrize("action", ["shout", "", None, 7, ["send_message"]])
async def test_unknown_action_is_an_unknown_action_error(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, action: Any
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action=action, content="x")
    event = await socket.event()
    assert event["code"] == "unknown_action"
    assert "send_message" in event["detail"]
    await nothing_but([])
    await still_works(socket)


async def test_frame_without_an_action_is_an_unknown_action_error(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(content="where does this go?")
    assert (await socket.event())["code"] == "unknown_action"
    await nothing_but([])


async def test_message_without_content_is_an_invalid_content_error(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message")
    event = await socket.event()
    assert (event["code"], event["field"]) == ("invalid", "content")
    await nothing_but([])
    await still_works(socket)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("", "empty"),
        ("   \n\t ", "blank"),
        ("x" * (CONTENT_MAX_LENGTH + 1), "oversized"),
        (None, "null"),
        (42, "a number"),
        ({"text": "hi"}, "an object"),
        ("nul\x00byte", "a NUL character"),
        ("\ud800", "a lone surrogate"),
    ],
)
async def test_invalid_content_is_an_invalid_content_error_and_is_not_stored(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat, content: Any, why: str
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send_text(json.dumps({"action": "send_message", "content": content}))
    event = await socket.event()
    assert (event["type"], event["code"], event["field"]) == ("error", "invalid", "content"), why
    await nothing_but([])
    await still_works(socket)


async def test_content_at_the_length_limit_is_accepted(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="é" * CONTENT_MAX_LENGTH)
    event = await socket.event()
    assert len(event["message"]["content"]) == CONTENT_MAX_LENGTH


async def test_invalid_admin_reply_is_not_stored_or_audited(
    ws: OpenSocket, layer: str, admin: Any, chat: SupportChat
) -> None:
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="send_message", content=" ")
    assert (await console.event())["code"] == "invalid"
    await nothing_but([])
    assert not await in_thread(ChatAuditEntry.objects.exists)()


async def test_error_echoes_the_frames_request_id(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="", request_id="draft-7")
    event = await socket.event()
    assert (event["code"], event["request_id"]) == ("invalid", "draft-7")


async def test_unexpected_failure_is_an_internal_error_and_keeps_the_socket_open(
    ws: OpenSocket,
    layer: str,
    user: Any,
    chat: SupportChat,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_post = services.user_message_post
    calls = 0

    def post_failing_once(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database on fire")
        return real_post(**kwargs)

    monkeypatch.setattr(services, "user_message_post", post_failing_once)
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="first")
    event = await socket.event()
    assert event["code"] == "internal_error"
    assert "fire" not in event["detail"]
    assert "database on fire" in caplog.text
    await still_works(socket)


async def test_message_to_a_deleted_chat_is_a_not_found_error(
    ws: OpenSocket, layer: str, admin: Any, chat: SupportChat
) -> None:
    console = await ws(chat_path(chat.id), admin)
    await in_thread(SupportChat.objects.filter(id=chat.id).delete)()
    await console.send(action="send_message", content="hello?")
    assert (await console.event())["code"] == "not_found"


async def test_dashboard_socket_takes_no_actions(ws: OpenSocket, layer: str, admin: Any) -> None:
    dashboard = await ws(ADMIN_PATH, admin)
    await dashboard.send(action="send_message", content="to whom?")
    event = await dashboard.event()
    assert event["code"] == "unknown_action"
    await nothing_but([])
    await dashboard.send_text("not json")
    assert (await dashboard.event())["code"] == "invalid_json"


async def test_a_user_message_posted_elsewhere_still_arrives_after_bad_input(
    ws: OpenSocket, layer: str, user: Any, say: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send_text("{oops")
    assert (await socket.event())["code"] == "invalid_json"
    await in_thread(say)("from another tab")
    assert (await socket.event())["message"]["content"] == "from another tab"
