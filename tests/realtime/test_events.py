"""The event contract: payloads, group names, who sees what, and docs/events.md kept in step."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer
from django.db import transaction
from django.utils import timezone

from chats import selectors, services
from chats.consumers import SupportChatConsumer
from chats.embed.identity import Identity
from chats.embed.services import identified_contact
from chats.models import SupportChat, SupportMessage
from chats.permissions import Role
from chats.realtime import builders, protocol
from chats.realtime.protocol import CloseCode, ErrorCode, EventType
from tests.realtime.conftest import OpenSocket, chat_path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"

in_thread = database_sync_to_async


def docs_section(title: str) -> str:
    text = DOCS.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def subsections(section: str) -> dict[str, str]:
    """`### `name`` heading -> its text."""
    parts = re.split(r"\n### `([a-z_]+)`\n", section)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def json_examples(text: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


# --- docs/events.md ------------------------------------------------------------------------------


def test_every_json_example_in_the_docs_is_valid_json() -> None:
    assert json_examples(DOCS.read_text())


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_is_documented_with_an_example(event_type: EventType) -> None:
    documented = subsections(docs_section("Events"))
    assert event_type.value in documented, f"docs/events.md has no ### `{event_type}`"
    examples = json_examples(documented[event_type.value])
    assert examples, f"no example for {event_type}"
    assert examples[0]["type"] == event_type.value


def test_the_docs_document_no_event_type_the_code_cannot_send() -> None:
    assert set(subsections(docs_section("Events"))) == {kind.value for kind in EventType}


@pytest.mark.parametrize("action", sorted(SupportChatConsumer.actions))
def test_every_action_is_documented_with_an_example(action: str) -> None:
    documented = subsections(docs_section("Actions"))
    assert action in documented, f"docs/events.md has no ### `{action}`"
    assert json_examples(documented[action])[0]["action"] == action


def test_the_docs_document_no_action_the_code_does_not_take() -> None:
    assert set(subsections(docs_section("Actions"))) == set(SupportChatConsumer.actions)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_is_documented(code: ErrorCode) -> None:
    assert f"| `{code.value}` |" in docs_section("Events")


@pytest.mark.parametrize("code", list(CloseCode))
def test_every_close_code_is_documented(code: CloseCode) -> None:
    assert f"| `{code.value}` |" in docs_section("Sockets")


def keys(value: Any) -> Any:
    """The shape of a JSON value: its keys, recursively (values ignored)."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


@pytest.mark.django_db
def test_documented_examples_have_the_shape_of_real_events(
    user: Any, admin: Any, chat: SupportChat
) -> None:
    message = services.user_message_post(user=user, content="hi")
    reply = services.admin_reply_post(admin=admin, chat_id=chat.id, content="hello")
    page = selectors.MessagePage(messages=[reply], has_more=False)
    row = selectors.chat_list_rows().get(id=chat.id)
    person = identified_contact(
        Identity(sub="shop-user-1017", email="ann@shop.example", name="Ann")
    )
    merged = services.chat_get_or_create(user=person.user)
    merged_row = selectors.chat_list_rows().get(id=merged.id)
    real = [
        builders.new_message_event(message),
        builders.admin_feed_message_event(message),
        builders.admin_feed_message_event(reply),
        builders.messages_read_event(chat, [reply.id], timezone.now()),
        builders.chat_viewed_event(chat, admin, timezone.now()),
        builders.chat_archive_event(EventType.CHAT_ARCHIVED, row, admin),
        builders.chat_archive_event(EventType.CHAT_UNARCHIVED, row, None),
        builders.chat_merged_event(merged_row, merged_chat_id=uuid.uuid4()),
        builders.typing_event(chat.id, sender_type=Role.ADMIN, is_typing=True),
        builders.sync_event(chat.id, page, "c-19"),
        builders.error_event(ErrorCode.INVALID, "x", field="content", request_id="c-18"),
    ]
    documented = subsections(docs_section("Events"))
    for event in real:
        example = json_examples(documented[event["type"]])[0]
        assert keys(example) == keys(event), event["type"]


# --- Group names ---------------------------------------------------------------------------------


def test_group_names_are_valid_for_the_channel_layer() -> None:
    layer = BaseChannelLayer()
    chat_id = "0d4f1c7a-5a8e-4a8b-9a51-1b2f4c3d2e10"
    assert layer.require_valid_group_name(protocol.chat_group(chat_id))
    assert layer.require_valid_group_name(protocol.ADMINS_GROUP)
    assert protocol.chat_group(chat_id) != protocol.chat_group(
        "9e3c2a41-7d7b-4f62-8a3e-55c1d2b7a901"
    )


# --- Who sees what -------------------------------------------------------------------------------

VIEWED = {
    "type": "chat_viewed",
    "chat_id": "c",
    "admin": {"id": 7, "email": "support@example.com"},
    "admin_viewed_at": "2026-01-29T10:01:00.000Z",
}


def test_users_socket_gets_chat_viewed_without_the_admin() -> None:
    assert protocol.for_role(VIEWED, Role.USER) == {
        "type": "chat_viewed",
        "chat_id": "c",
        "admin_viewed_at": "2026-01-29T10:01:00.000Z",
    }


def test_admins_socket_gets_chat_viewed_whole() -> None:
    assert protocol.for_role(VIEWED, Role.ADMIN) == VIEWED


@pytest.mark.parametrize("side", list(Role))
def test_typing_goes_only_to_the_other_side(side: Role) -> None:
    typing = builders.typing_event("c", sender_type=side, is_typing=True)  # type: ignore[arg-type]
    other = Role.ADMIN if side == Role.USER else Role.USER
    assert protocol.for_role(typing, side) is None
    assert protocol.for_role(typing, other) == typing


def test_events_are_encoded_as_compact_utf8_json() -> None:
    assert protocol.encode({"type": "x", "content": "héllo 你好"}) == (
        '{"type":"x","content":"héllo 你好"}'
    )


@pytest.mark.django_db
def test_building_a_messages_events_costs_no_query(
    user: Any, chat: SupportChat, django_assert_num_queries: Any
) -> None:
    message = services.user_message_post(user=user, content="hi")
    with django_assert_num_queries(0):
        builders.new_message_event(message)
        builders.admin_feed_message_event(message)


# --- After commit, and only then -----------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_no_event_is_sent_for_a_write_that_rolled_back(
    ws: OpenSocket, layer: str, user: Any, say: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)

    def post_then_roll_back() -> None:
        with transaction.atomic():
            services.user_message_post(user=user, content="never happened")
            transaction.set_rollback(True)

    await in_thread(post_then_roll_back)()
    await in_thread(say)("marker")
    assert (await widget.event())["message"]["content"] == "marker"
    assert not await in_thread(SupportMessage.objects.filter(content="never happened").exists)()


@pytest.mark.django_db(transaction=True)
def test_a_failed_broadcast_leaves_the_committed_message_and_is_logged(
    settings: Any, user: Any, chat: SupportChat, caplog: pytest.LogCaptureFixture
) -> None:
    config = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**config, "CONFIG": {**config["CONFIG"], "hosts": ["redis://127.0.0.1:9/0"]}}
    }
    message = services.user_message_post(user=user, content="stored anyway")
    assert SupportMessage.objects.filter(id=message.id).exists()
    assert "broadcast of new_message, new_user_message failed after commit" in caplog.text
