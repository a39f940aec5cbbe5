"""Embedded people for email tests: guests and identified persons made through chats.embed's own
services, the links their emails carry, and the contact-email tasks waiting on the broker."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.core import mail

from notifications import tasks
from tests.notifications.conftest import Broker

CONFIRM_LINK = re.compile(r"^(https?://\S+/email/confirm/\S+/)$", re.MULTILINE)
GUEST_LINK = re.compile(r"^(https?://\S+/chat/\S+/)$", re.MULTILINE)


def link_in(message: mail.EmailMessage, pattern: re.Pattern[str]) -> str:
    """The path of the link matching `pattern` in a sent email's text, as the reader sees it."""
    found = pattern.search(str(message.body))
    assert found, message.body
    return urlsplit(found.group(1)).path


def confirm_link(message: mail.EmailMessage) -> str:
    return link_in(message, CONFIRM_LINK)


def queued_contact_emails(broker: Broker) -> list[str]:
    """The ids of the contact emails whose task waits on the broker (taken off it), in order."""
    return [
        queued.args[0] for queued in broker.take() if queued.name == tasks.contact_email_send.name
    ]


def deliver_queued(broker: Broker, run: Callable[..., None]) -> int:
    """Run every contact-email task waiting on the broker, as a worker would; how many ran."""
    ids = queued_contact_emails(broker)
    for email_id in ids:
        run(tasks.contact_email_send, email_id)
    return len(ids)


def committed(capture: Any, action: Callable[[], Any]) -> Any:
    """`action()`, with what it registered for after its commit (signals, tasks) run too."""
    with capture(execute=True):
        return action()
