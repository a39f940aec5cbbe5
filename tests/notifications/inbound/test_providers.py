"""The provider posts of providers.py, as anymail's own inbound webhook views read them."""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from anymail.signals import AnymailInboundEvent, inbound
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.http import HttpResponseBase
from django.test import Client, RequestFactory
from django.urls import resolve

from tests.notifications.inbound import providers
from tests.notifications.inbound.providers import (
    MAILGUN_SIGNING_KEY,
    PROVIDERS,
    WEBHOOK_SECRET,
    Builder,
    InboundPost,
)

# anymail warns on every SendGrid webhook request that it no longer supports SendGrid officially.
pytestmark = pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")

VIEWS = {
    "postmark": PostmarkInboundWebhookView,
    "mailgun": MailgunInboundWebhookView,
    "sendgrid": SendGridInboundWebhookView,
}
URL_NAMES = {
    "postmark": "postmark_inbound_webhook",
    "mailgun": "mailgun_inbound_webhook",
    "sendgrid": "sendgrid_inbound_webhook",
}
REPLY_ADDRESS = "reply+c2.AbCd@inbound.support.example.com"

RUSSIAN = "\n".join(["Спасибо, посылку получила!", "Всё в порядке.", ""])
ARABIC = "شكرا لكم، وصل الطلب.\n"


def reply_email(body: str, cte: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Анна Петрова <ann@example.com>"
    message["To"] = f"Support <{REPLY_ADDRESS}>"
    message["Subject"] = "Re: Заказ №1042"
    message["Date"] = "Thu, 29 Jan 2026 10:04:00 +0300"
    message["Message-ID"] = "<CAEPk3R+4Zr@mail.example.com>"
    message["In-Reply-To"] = "<reply.AbCdEfGh@support.example.com>"
    message.set_content(body, cte=cte)
    return message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as on the wire


@pytest.fixture
def anymail_settings(settings: Any) -> None:
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[AnymailInboundEvent]:
    """The events anymail's inbound signal sends during the test; desk's receivers are set aside."""
    events: list[AnymailInboundEvent] = []
    monkeypatch.setattr(inbound, "receivers", [])
    monkeypatch.setattr(inbound, "sender_receivers_cache", {})

    def receiver(sender: object, event: AnymailInboundEvent, esp_name: str, **_: Any) -> None:
        events.append(event)

    inbound.connect(receiver, weak=False)
    return events


def to_view(provider: str, post: InboundPost) -> HttpResponseBase:
    view: Callable[..., HttpResponseBase] = VIEWS[provider].as_view()
    return view(post.request(RequestFactory()))


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("body", "cte"), [(RUSSIAN, "8bit"), (ARABIC, "base64")])
def test_anymail_reads_the_email_from_each_providers_post(
    provider: str,
    body: str,
    cte: str,
    anymail_settings: None,
    received: list[AnymailInboundEvent],
) -> None:
    response = to_view(provider, PROVIDERS[provider](reply_email(body, cte)))

    assert response.status_code == 200
    [event] = received
    message = event.message
    assert message.from_email.addr_spec == "ann@example.com"
    assert message.from_email.display_name == "Анна Петрова"
    assert message.envelope_recipient == REPLY_ADDRESS
    assert message.envelope_sender == "ann@example.com"
    assert [to.addr_spec for to in message.to] == [REPLY_ADDRESS]
    assert message.subject == "Re: Заказ №1042"
    assert message["Message-ID"] == "<CAEPk3R+4Zr@mail.example.com>"
    assert message["In-Reply-To"] == "<reply.AbCdEfGh@support.example.com>"
    assert message.text == body


def test_postmark_gives_its_own_id_and_the_reply_without_the_quote(
    anymail_settings: None, received: list[AnymailInboundEvent]
) -> None:
    raw = reply_email("Получила, спасибо!\n\nOn Thu, Support wrote:\n> Ваш заказ в пути.\n", "8bit")

    to_view("postmark", providers.postmark(raw))

    [event] = received
    assert event.event_id  # Postmark's id for the inbound message, not its Message-ID
    assert event.event_id != event.message["Message-ID"]
    assert event.message.stripped_text == "Получила, спасибо!"


def test_postmark_without_the_raw_email_is_rebuilt_from_its_fields(
    anymail_settings: None, received: list[AnymailInboundEvent]
) -> None:
    to_view("postmark", providers.postmark(reply_email(RUSSIAN, "8bit"), raw_email=False))

    [event] = received
    assert event.message.from_email.addr_spec == "ann@example.com"
    assert event.message["Message-ID"] == "<CAEPk3R+4Zr@mail.example.com>"
    assert event.message.text == RUSSIAN


def test_mailgun_gives_its_token_and_timestamp(
    anymail_settings: None, received: list[AnymailInboundEvent]
) -> None:
    post = providers.mailgun(reply_email(RUSSIAN, "8bit"), timestamp=1769670240, token="t" * 50)

    to_view("mailgun", post)

    [event] = received
    assert event.event_id == "t" * 50
    assert event.timestamp is not None
    assert int(event.timestamp.timestamp()) == 1769670240


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_post_goes_to_the_providers_inbound_webhook_in_desk(provider: str) -> None:
    post = PROVIDERS[provider](reply_email(RUSSIAN, "8bit"))

    assert resolve(post.path).url_name == URL_NAMES[provider]


def refused(post: InboundPost) -> bool:
    """Answered 400, as anymail's AnymailWebhookValidationFailure is, through desk's URLs."""
    return post.send(Client(enforce_csrf_checks=True)).status_code == 400


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_or_missing_basic_auth_pair_is_refused(
    provider: str, anymail_settings: None, received: list[AnymailInboundEvent]
) -> None:
    build: Builder = PROVIDERS[provider]
    raw = reply_email(RUSSIAN, "8bit")

    assert refused(build(raw, auth="desk-inbound:guess"))
    assert refused(build(raw, auth=None))
    assert received == []


def test_a_mailgun_signature_made_with_another_key_is_refused(
    anymail_settings: None, received: list[AnymailInboundEvent]
) -> None:
    assert refused(providers.mailgun(reply_email(RUSSIAN, "8bit"), signing_key="key-other"))
    assert received == []


def test_anymail_takes_a_mailgun_post_signed_long_ago_or_edited_after_signing(
    anymail_settings: None, received: list[AnymailInboundEvent]
) -> None:
    # The signature covers only timestamp + token: anymail checks neither age nor body.
    post = providers.mailgun(reply_email(RUSSIAN, "8bit"), timestamp=1_000_000_000)
    edited = post.tampered("Спасибо".encode(), "Забудьте".encode())

    assert to_view("mailgun", post).status_code == 200
    assert to_view("mailgun", edited).status_code == 200
    assert [event.message.text.split(",")[0] for event in received] == ["Спасибо", "Забудьте"]
