"""The reply email invites a reply by email exactly when one would reach the chat."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from chats.models import SupportChat, SupportMessage
from notifications import links

Reply = Callable[[str], SupportMessage]
Notify = Callable[[SupportMessage], None]


def test_without_an_inbound_domain_the_email_has_no_reply_to_and_says_so(
    settings: Any, chat: SupportChat, reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    settings.DESK_INBOUND_DOMAIN = ""

    notify(reply("Your parcel left our warehouse this morning."))

    (email,) = mailoutbox
    assert email.reply_to == []
    assert "Replies to this email don't reach us" in email.body
    assert "Replies to this email don't reach us" in email.alternatives[0].content


def test_with_an_inbound_domain_replies_go_to_the_chats_reply_address(
    settings: Any, chat: SupportChat, reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    settings.DESK_INBOUND_DOMAIN = "reply.shop.example"

    notify(reply("Your parcel left our warehouse this morning."))

    (email,) = mailoutbox
    assert email.reply_to == [links.reply_address(chat.id)]
    assert email.message()["Reply-To"] == links.reply_address(chat.id)
    assert "You can also answer by replying to this email." in email.body
    assert "You can also answer by replying to this email." in email.alternatives[0].content
    assert "don't reach us" not in email.body


def test_an_inbound_domain_without_the_webhook_secret_is_a_warning(settings: Any) -> None:
    settings.DESK_INBOUND_DOMAIN = "reply.shop.example"
    settings.ANYMAIL = {}

    with pytest.raises(SystemCheckError, match=r"notifications\.W001"):
        call_command("check", "--fail-level", "WARNING")


def test_an_inbound_domain_with_the_webhook_secret_passes_the_checks(settings: Any) -> None:
    settings.DESK_INBOUND_DOMAIN = "reply.shop.example"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "desk-inbound:s3cret"}

    call_command("check", "--fail-level", "WARNING")
