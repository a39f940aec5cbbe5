"""Replies by email end to end: real clients' raw emails, posted by Postmark, Mailgun and SendGrid
to desk's anymail webhooks exactly as each provider posts and signs them, reach the chat.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chats.models import SenderType, SupportChat, SupportMessage
from notifications import links
from notifications.models import InboundEmail, InboundIgnored, InboundOutcome
from tests.notifications.inbound import providers
from tests.notifications.inbound.samples import IGNORED, REPLIES, Sample

# anymail warns on every SendGrid webhook request that it no longer supports SendGrid officially.
pytestmark = pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")

PROVIDERS = list(providers.PROVIDERS.items())
PROVIDER_IDS = [name for name, _ in PROVIDERS]


@pytest.fixture(autouse=True)
def inbound_on(settings: Any) -> None:
    settings.DESK_INBOUND_DOMAIN = "reply.shop.example"
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": providers.WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": providers.MAILGUN_SIGNING_KEY,
    }


@pytest.fixture
def address(chat: SupportChat) -> str:
    found = links.reply_address(chat.id)
    assert found is not None
    return found


def raw(sample: Sample, address: str, user: Any, *, sender: str | None = None) -> bytes:
    return sample.raw(reply_address=address, sender=sender or user.email)


def user_messages(chat: SupportChat) -> list[str]:
    return list(
        SupportMessage.objects.filter(chat=chat, sender_type=SenderType.USER)
        .order_by("created_at")
        .values_list("content", flat=True)
    )


@pytest.mark.parametrize(("provider", "build"), PROVIDERS, ids=PROVIDER_IDS)
@pytest.mark.parametrize("sample", REPLIES, ids=lambda s: f"{s.client} ({s.language})")
def test_a_reply_from_a_mail_client_reaches_the_chat(
    client: Client,
    chat: SupportChat,
    address: str,
    user: Any,
    provider: str,
    build: providers.Builder,
    sample: Sample,
) -> None:
    response = build(raw(sample, address, user)).send(client)

    assert response.status_code == 200
    assert user_messages(chat) == [sample.text]
    record = InboundEmail.objects.get()
    assert record.outcome == InboundOutcome.POSTED
    assert record.esp_name.lower() == provider
    assert record.sender == user.email


@pytest.mark.parametrize(("provider", "build"), PROVIDERS, ids=PROVIDER_IDS)
@pytest.mark.parametrize("sample", IGNORED, ids=lambda s: s.file.removesuffix(".eml"))
def test_automatic_mail_is_answered_200_recorded_and_not_posted(
    client: Client,
    chat: SupportChat,
    address: str,
    user: Any,
    provider: str,
    build: providers.Builder,
    sample: Sample,
) -> None:
    response = build(raw(sample, address, user)).send(client)

    assert response.status_code == 200
    assert user_messages(chat) == []
    assert InboundEmail.objects.get().ignored_reason == sample.ignored


@pytest.mark.parametrize(("provider", "build"), PROVIDERS, ids=PROVIDER_IDS)
def test_a_forged_sender_is_answered_200_and_not_posted(
    client: Client,
    chat: SupportChat,
    address: str,
    user: Any,
    provider: str,
    build: providers.Builder,
) -> None:
    forged = raw(REPLIES[0], address, user, sender="mallory@example.net")

    response = build(forged).send(client)

    assert response.status_code == 200
    assert user_messages(chat) == []
    assert InboundEmail.objects.get().ignored_reason == InboundIgnored.WRONG_SENDER


@pytest.mark.parametrize(("provider", "build"), PROVIDERS, ids=PROVIDER_IDS)
def test_an_altered_reply_address_is_answered_200_and_not_posted(
    client: Client,
    chat: SupportChat,
    address: str,
    user: Any,
    provider: str,
    build: providers.Builder,
) -> None:
    altered = address.replace(address[6:10], "aaaa")

    response = build(raw(REPLIES[0], altered, user)).send(client)

    assert response.status_code == 200
    assert user_messages(chat) == []
    assert InboundEmail.objects.get().ignored_reason == InboundIgnored.INVALID_ADDRESS


@pytest.mark.parametrize(("provider", "build"), PROVIDERS, ids=PROVIDER_IDS)
def test_a_webhook_delivered_twice_posts_once(
    client: Client,
    chat: SupportChat,
    address: str,
    user: Any,
    provider: str,
    build: providers.Builder,
) -> None:
    post = build(raw(REPLIES[0], address, user))

    first, again = post.send(client), post.send(client)

    assert (first.status_code, again.status_code) == (200, 200)
    assert user_messages(chat) == [REPLIES[0].text]
    assert InboundEmail.objects.count() == 1


@pytest.mark.parametrize(("provider", "build"), PROVIDERS, ids=PROVIDER_IDS)
@pytest.mark.parametrize(
    "auth",
    [None, "desk-inbound:wrong", "someone:else"],
    ids=["no credentials", "wrong password", "wrong pair"],
)
def test_a_post_without_the_webhook_secret_is_refused_and_records_nothing(
    client: Client,
    chat: SupportChat,
    address: str,
    user: Any,
    provider: str,
    build: providers.Builder,
    auth: str | None,
) -> None:
    response = build(raw(REPLIES[0], address, user), auth=auth).send(client)

    assert response.status_code == 400
    assert user_messages(chat) == []
    assert InboundEmail.objects.count() == 0


def test_a_mailgun_post_signed_with_another_key_is_refused(
    client: Client, chat: SupportChat, address: str, user: Any
) -> None:
    post = providers.mailgun(raw(REPLIES[0], address, user), signing_key="key-not-mailguns")

    assert post.send(client).status_code == 400
    assert InboundEmail.objects.count() == 0


def test_a_mailgun_signature_replayed_with_another_token_is_refused(
    client: Client, chat: SupportChat, address: str, user: Any
) -> None:
    post = providers.mailgun(raw(REPLIES[0], address, user), token="a" * 50)
    replayed = post.tampered(b"a" * 50, b"b" * 50)

    assert replayed.send(client).status_code == 400
    assert InboundEmail.objects.count() == 0


def test_the_inbound_webhooks_are_off_without_the_webhook_secret(
    client: Client, chat: SupportChat, address: str, user: Any, settings: Any
) -> None:
    settings.ANYMAIL = {}

    response = providers.postmark(raw(REPLIES[0], address, user)).send(client)

    assert response.status_code == 404
    assert InboundEmail.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"From": 5}', b"[]", b'{"RawEmail": "\\u0000"}', b"\xff\xfe"],
    ids=["empty", "truncated", "wrong types", "a list", "NUL", "not UTF-8"],
)
def test_a_malformed_postmark_post_is_never_a_500(client: Client, db: None, body: bytes) -> None:
    post = providers.InboundPost(
        providers.POSTMARK_PATH,
        body,
        "application/json",
        providers.postmark(b"From: a@b.c\nTo: d@e.f\n\nx").headers,
    )

    assert post.send(client).status_code < 500


def test_support_finds_an_ignored_email_and_why_in_the_admin(
    client: Client, staff_browser: Client, chat: SupportChat, address: str, user: Any
) -> None:
    forged = raw(REPLIES[0], address, user, sender="mallory@example.net")
    providers.postmark(forged).send(client)
    record = InboundEmail.objects.get()

    listing = staff_browser.get("/admin/notifications/inboundemail/", {"q": "mallory@example"})
    detail = staff_browser.get(f"/admin/notifications/inboundemail/{record.id}/change/")

    assert listing.status_code == 200
    assert b"Sender is not the chat&#x27;s person" in listing.content
    assert detail.status_code == 200
    assert REPLIES[0].text.split("\n")[0].replace("'", "&#x27;").encode() in detail.content
    assert staff_browser.get("/admin/notifications/inboundemail/add/").status_code == 403


def test_a_failure_of_desks_own_is_a_500_so_the_provider_retries(
    client: Client, chat: SupportChat, address: str, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr("notifications.services.inbound_email_receive", broken)
    client.raise_request_exception = False

    response = providers.postmark(raw(REPLIES[0], address, user)).send(client)

    assert response.status_code == 500
