"""send_message with attachment_ids on the chat socket, and attachments in every event: each
socket receives URLs signed for its own user."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from chats import services
from chats.attachments.services import attachment_upload
from chats.models import Attachment, SupportChat, SupportMessage
from tests.chats.attachments import files
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, Rest, chat_path

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

in_thread = database_sync_to_async


def upload(user: Any, data: bytes, name: str, chat_id: Any = None) -> str:
    made = attachment_upload(user=user, upload=SimpleUploadedFile(name, data), chat_id=chat_id)
    return str(made.id)


def viewer_in(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["u"][0])


async def test_a_users_send_message_attaches_the_uploads(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    kept = await in_thread(upload)(user, files.png(), "photo.png")
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="look", attachment_ids=[kept])
    event = await socket.event()
    assert event["type"] == "new_message"
    [sent] = event["message"]["attachments"]
    assert (sent["id"], sent["name"], sent["width"]) == (kept, "photo.png", 40)
    stored = await in_thread(Attachment.objects.get)(id=kept)
    assert stored.message_id == uuid.UUID(event["message"]["id"])


async def test_a_message_of_attachments_alone_goes_over_the_socket(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    kept = await in_thread(upload)(user, files.pdf(), "a.pdf")
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", attachment_ids=[kept])
    event = await socket.event()
    assert event["message"]["content"] == ""


async def test_each_socket_gets_urls_signed_for_its_own_user(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    kept = await in_thread(upload)(user, files.png(), "photo.png")
    widget = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    dashboard = await ws(ADMIN_PATH, admin)
    await widget.send(action="send_message", content="look", attachment_ids=[kept])
    for socket, viewer in [(widget, user), (console, admin), (dashboard, admin)]:
        [sent] = (await socket.event())["message"]["attachments"]
        assert viewer_in(sent["url"]) == viewer.pk
        assert viewer_in(sent["thumbnail_url"]) == viewer.pk


async def test_an_admins_send_message_attaches_their_upload(
    ws: OpenSocket, layer: str, user: Any, admin: Any, chat: SupportChat
) -> None:
    kept = await in_thread(upload)(admin, files.pdf(), "guide.pdf", chat.id)
    widget = await ws(chat_path(chat.id), user)
    console = await ws(chat_path(chat.id), admin)
    await console.send(action="send_message", content="here", attachment_ids=[kept])
    [sent] = (await widget.event())["message"]["attachments"]
    assert sent["name"] == "guide.pdf"
    assert viewer_in(sent["url"]) == user.pk


async def test_someone_elses_upload_over_the_socket_is_invalid_naming_the_field(
    ws: OpenSocket, layer: str, user: Any, other_user: Any, chat: SupportChat
) -> None:
    theirs = await in_thread(upload)(other_user, files.pdf(), "theirs.pdf")
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="x", attachment_ids=[theirs], request_id="r1")
    event = await socket.event()
    assert (event["type"], event["code"], event["field"], event["request_id"]) == (
        "error",
        "invalid",
        "attachment_ids",
        "r1",
    )
    assert not await in_thread(SupportMessage.objects.filter(chat=chat).exists)()


async def test_attachment_ids_that_are_no_list_are_invalid(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="x", attachment_ids="all of them")
    event = await socket.event()
    assert (event["code"], event["field"]) == ("invalid", "attachment_ids")


async def test_more_than_ten_attachment_ids_over_the_socket_are_invalid(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    ids = [str(uuid.uuid4()) for _ in range(11)]
    await socket.send(action="send_message", content="x", attachment_ids=ids)
    event = await socket.event()
    assert (event["code"], event["field"]) == ("invalid", "attachment_ids")
    assert "at most 10" in event["detail"]


async def test_sync_catches_up_with_attachments_signed_for_the_socket(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    first = await in_thread(services.user_message_post)(user=user, content="before")
    kept = await in_thread(upload)(user, files.pdf(), "late.pdf")
    await in_thread(services.user_message_post)(user=user, content="", attachment_ids=[kept])
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="sync", after=str(first.id))
    event = await socket.event()
    [message] = event["messages"]
    [sent] = message["attachments"]
    assert (sent["name"], viewer_in(sent["url"])) == ("late.pdf", user.pk)


async def test_a_message_with_attachments_reads_the_same_over_rest_and_the_socket(
    ws: OpenSocket, layer: str, rest: Rest, user: Any, chat: SupportChat
) -> None:
    kept = await in_thread(upload)(user, files.png(), "same.png")
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="same", attachment_ids=[kept])
    event = await socket.event()
    listed = (await rest(user, "get", "/support_chat")).json()["messages"]
    assert listed == [event["message"]]
