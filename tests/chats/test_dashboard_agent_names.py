"""Agent names on the dashboard's chat page as the server renders it: an admin's reply is
labelled with the name it was sent under (SupportMessage.sender_name), else "Support".

Live-rendered replies: tests/browser/test_dashboard_presence.py (the page's other live parts).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from chats import services
from chats.models import SupportChat, SupportSettings
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db: None) -> Any:
    return make_user("alice@example.com", is_staff=True, first_name="Alice")


def senders(admin: Any, chat: SupportChat) -> list[str]:
    """The sender labels of the chat page's messages, top to bottom."""
    client = Client()
    client.force_login(admin)
    html = client.get(f"/desk/chats/{chat.id}/").content.decode()
    thread = html.split('id="message-template"')[0]
    return re.findall(r'<span class="sender" data-field="sender">([^<]*)</span>', thread)


def test_a_reply_is_labelled_with_its_admins_name(alice: Any, chat: SupportChat, say: Any) -> None:
    say("Hello?")
    services.admin_reply_post(admin=alice, chat_id=chat.id, content="Hi, Alice here.")

    assert senders(alice, chat) == ["ann@example.com", "Alice"]


def test_with_names_off_a_reply_is_labelled_support(alice: Any, chat: SupportChat) -> None:
    support = SupportSettings.load()
    support.agent_names = False
    support.save()
    services.admin_reply_post(admin=alice, chat_id=chat.id, content="Hi.")

    assert senders(alice, chat) == ["Support"]
