"""The widget's badge: `unread_count` of GET /api/support_chat is of the same snapshot as its
messages, so a reply that arrives in between is counted once, by its event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chats import selectors
from chats.models import SupportChat, SupportMessage


def test_the_count_takes_the_replies_up_to_the_newest_message_read(
    chat: SupportChat, say: Callable[[str], SupportMessage], reply: Callable[[str], SupportMessage]
) -> None:
    reply("first")
    read = say("and?")
    reply("stored after the page was read")

    assert selectors.unread_reply_count(chat=chat, through=read) == 1


def test_a_chat_read_without_messages_has_nothing_unread(chat: SupportChat) -> None:
    assert selectors.unread_reply_count(chat=chat, through=None) == 0


def test_the_badge_counts_every_unread_reply_of_the_page(
    widget: Any, say: Callable[[str], SupportMessage], reply: Callable[[str], SupportMessage]
) -> None:
    say("Hello?")
    reply("Hi!")
    reply("How can we help?")

    assert widget.get("/api/support_chat").json()["unread_count"] == 2
