"""An address or message no attempt can send is a permanent failure: recorded at once, no retry.

A CR/LF in a user's address used to meet Django's ValueError ("Header values may not contain
linefeed or carriage return characters") at send time, which was taken for a provider error and
retried for 15 minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from chats import services as chat_services
from chats.models import SupportMessage
from notifications.models import EmailStatus, ReplyEmail
from tests.conftest import make_user
from tests.notifications.conftest import Broker

Notify = Callable[[SupportMessage], None]


class HeaderRefusedBackend(BaseEmailBackend):
    """Django refusing to write out a message, as it does for a header with a line break."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise ValueError("Header values may not contain linefeed or carriage return characters")


def reply_to(address: str, admin: Any) -> SupportMessage:
    customer = make_user(address)
    chat = chat_services.chat_get_or_create(user=customer)
    return chat_services.admin_reply_post(admin=admin, chat_id=chat.id, content="Shipped today.")


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("ann@example.com\r\nBcc: eve@example.com", id="CRLF and a header"),
        pytest.param("ann@exam\nple.com", id="LF"),
        pytest.param("ann@exam\rple.com", id="CR"),
        pytest.param("ann@exam\tple.com", id="TAB"),
    ],
)
def test_an_address_with_a_control_character_fails_after_one_attempt_without_a_retry(
    address: str, admin: Any, notify: Notify, broker: Broker, mailoutbox: list[Any]
) -> None:
    notify(reply_to(address, admin))

    email = ReplyEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 1)
    assert "control character" in email.last_error
    assert broker.take() == []
    assert mailoutbox == []


def test_a_message_django_cannot_write_out_fails_at_once_without_a_retry(
    admin: Any, notify: Notify, broker: Broker, mailer: Callable[..., None]
) -> None:
    mailer(f"{__name__}.HeaderRefusedBackend")

    notify(reply_to("ann@example.com", admin))

    email = ReplyEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 1)
    assert "ValueError" in email.last_error
    assert broker.take() == []


def test_an_ordinary_address_is_still_sent(
    admin: Any, notify: Notify, broker: Broker, mailoutbox: list[Any]
) -> None:
    notify(reply_to("ann@example.com", admin))

    assert ReplyEmail.objects.get().status == EmailStatus.SENT
    assert mailoutbox[0].to == ["ann@example.com"]
