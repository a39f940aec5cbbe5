"""Agent names: a reply says who wrote it ("Alice from Support") unless support answers as one
voice (SupportSettings.agent_names), in the API and the events (the reply email: test_email)."""

from __future__ import annotations

from typing import Any

import pytest

from chats import services
from chats.models import SupportChat, SupportSettings
from chats.realtime.protocol import Delivery
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db: None) -> Any:
    return make_user("alice@example.com", is_staff=True, first_name="Alice", last_name="Smith")


def names_off() -> None:
    support = SupportSettings.load()
    support.agent_names = False
    support.save()


def test_a_reply_carries_its_admins_first_name(
    api: Any, user: Any, alice: Any, chat: SupportChat
) -> None:
    services.admin_reply_post(admin=alice, chat_id=chat.id, content="Hello!")

    [message] = api(user).get("/support_chat").json()["messages"]
    assert message["sender_name"] == "Alice"


def test_a_user_message_has_no_sender_name(api: Any, user: Any, say: Any) -> None:
    say("Hi")

    [message] = api(user).get("/support_chat").json()["messages"]
    assert message["sender_name"] is None


def test_with_names_off_a_reply_comes_from_support_alone(
    api: Any, user: Any, alice: Any, chat: SupportChat
) -> None:
    names_off()
    services.admin_reply_post(admin=alice, chat_id=chat.id, content="Hello!")

    [message] = api(user).get("/support_chat").json()["messages"]
    assert message["sender_name"] is None


def test_an_admin_without_a_first_name_replies_as_support(
    api: Any, user: Any, admin: Any, chat: SupportChat
) -> None:
    services.admin_reply_post(admin=admin, chat_id=chat.id, content="Hello!")

    [message] = api(user).get("/support_chat").json()["messages"]
    assert message["sender_name"] is None


def test_a_reply_keeps_the_name_it_was_written_under(
    api: Any, user: Any, alice: Any, chat: SupportChat
) -> None:
    services.admin_reply_post(admin=alice, chat_id=chat.id, content="Hello!")
    alice.first_name = "Alicia"
    alice.save()
    names_off()

    [message] = api(user).get("/support_chat").json()["messages"]
    assert message["sender_name"] == "Alice"


def test_the_new_message_event_carries_the_name(
    alice: Any,
    chat: SupportChat,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.admin_reply_post(admin=alice, chat_id=chat.id, content="Hello!")

    names = {event["message"]["sender_name"] for _, event in announced if "message" in event}
    assert names == {"Alice"}
