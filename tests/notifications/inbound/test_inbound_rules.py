"""Which inbound emails become the person's message, and what is recorded for the others.

The emails here are built field by field (anymail's parsed form); tests/notifications/inbound/
test_replies_by_email.py posts real clients' raw emails through each provider's signed webhook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from anymail.inbound import AnymailInboundMessage
from django.db import close_old_connections
from freezegun import freeze_time

from chats import services as chat_services
from chats.models import SenderType, SupportChat, SupportMessage
from chats.realtime.protocol import Delivery
from notifications import links, services
from notifications.models import InboundEmail, InboundIgnored, InboundOutcome, ReplyEmail

Inbound = Callable[..., AnymailInboundMessage]
QUOTE = "On Tue, Dec 1, 2026 at 10:15 AM Support <{address}> wrote:\n> Your parcel left today.\n"


@pytest.fixture(autouse=True)
def inbound_domain(settings: Any) -> None:
    settings.DESK_INBOUND_DOMAIN = "reply.shop.example"


@pytest.fixture
def address(chat: SupportChat) -> str:
    found = links.reply_address(chat.id)
    assert found is not None
    return found


@pytest.fixture
def email(address: str, user: Any) -> Inbound:
    """`email(text=..., **fields)`: the person's reply to their chat's reply address."""

    def build(text: str = "Thanks, it arrived!", **fields: Any) -> AnymailInboundMessage:
        headers = {"Message-ID": f"<{id(fields)}.{len(text)}@mail.example.com>"}
        headers.update(fields.pop("headers", {}))
        message = AnymailInboundMessage.construct(
            from_email=fields.pop("from_email", f"Ann <{user.email}>"),
            to=fields.pop("to", address),
            subject=fields.pop("subject", "Re: New reply from Support"),
            text=text + "\n\n" + QUOTE.format(address=address),
            headers=headers,
            **fields,
        )
        return message

    return build


def receive(message: AnymailInboundMessage) -> InboundEmail | None:
    return services.inbound_email_receive(message=message, esp_name="postmark")


def user_messages(chat: SupportChat) -> list[str]:
    return list(
        SupportMessage.objects.filter(chat=chat, sender_type=SenderType.USER)
        .order_by("created_at")
        .values_list("content", flat=True)
    )


def test_a_reply_becomes_the_persons_message_without_the_quote(
    email: Inbound, chat: SupportChat
) -> None:
    record = receive(email("Thanks, it arrived!\n\nAnn"))

    assert user_messages(chat) == ["Thanks, it arrived!\n\nAnn"]
    assert record is not None
    assert record.outcome == InboundOutcome.POSTED
    assert record.posted is not None
    assert record.posted.content == "Thanks, it arrived!\n\nAnn"
    assert record.chat == chat


def test_the_record_keeps_the_whole_text_with_what_was_cut(email: Inbound) -> None:
    record = receive(email("Thanks, it arrived!"))

    assert record is not None
    assert "Your parcel left today." in record.text


def test_a_reply_sends_the_same_events_as_the_widget(
    email: Inbound,
    chat: SupportChat,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        receive(email())

    kinds = [event["type"] for _, event in announced]
    assert "new_message" in kinds
    assert "new_user_message" in kinds


def test_a_reply_to_an_archived_chat_brings_it_back(
    email: Inbound, chat: SupportChat, admin: Any
) -> None:
    chat_services.chat_archive(admin=admin, chat_id=chat.id)

    receive(email())

    chat.refresh_from_db()
    assert chat.archived_at is None


def test_the_same_message_id_delivered_twice_is_posted_once(
    email: Inbound, chat: SupportChat
) -> None:
    message = email(headers={"Message-ID": "<CAJ1@mail.gmail.com>"})

    first = receive(message)
    second = receive(message)

    assert first is not None
    assert second is None
    assert user_messages(chat) == ["Thanks, it arrived!"]
    assert InboundEmail.objects.count() == 1


def test_emails_without_a_message_id_are_each_posted(email: Inbound, chat: SupportChat) -> None:
    first, second = email("One"), email("Two")
    del first["Message-ID"]
    del second["Message-ID"]

    receive(first)
    receive(second)

    assert user_messages(chat) == ["One", "Two"]


def test_a_sender_other_than_the_chats_person_is_ignored(email: Inbound, chat: SupportChat) -> None:
    record = receive(email(from_email="Mallory <mallory@example.net>"))

    assert user_messages(chat) == []
    assert record is not None
    assert record.outcome == InboundOutcome.IGNORED
    assert record.ignored_reason == InboundIgnored.WRONG_SENDER
    assert record.chat == chat


def test_the_persons_address_matches_whatever_its_case(
    email: Inbound, chat: SupportChat, user: Any
) -> None:
    receive(email(from_email=f"Ann <{user.email.upper()}>"))

    assert user_messages(chat) == ["Thanks, it arrived!"]


def test_an_email_with_two_senders_is_ignored(email: Inbound, chat: SupportChat, user: Any) -> None:
    record = receive(email(from_email=f"{user.email}, mallory@example.net"))

    assert record is not None
    assert record.ignored_reason == InboundIgnored.WRONG_SENDER


def test_another_users_reply_address_does_not_post_to_their_chat(
    email: Inbound, other_user: Any
) -> None:
    # The other user holds a genuine address of their own and writes to this chat's: refused.
    other_chat = chat_services.chat_get_or_create(user=other_user)
    record = receive(email(from_email=other_user.email))

    assert record is not None
    assert record.ignored_reason == InboundIgnored.WRONG_SENDER
    assert user_messages(other_chat) == []


def test_a_forged_reply_address_is_ignored(email: Inbound, chat: SupportChat) -> None:
    forged = "reply+" + "a" * 26 + "." + "b" * 16 + "@reply.shop.example"

    record = receive(email(to=forged))

    assert user_messages(chat) == []
    assert record is not None
    assert record.ignored_reason == InboundIgnored.INVALID_ADDRESS
    assert record.recipient == forged


def test_an_email_to_no_reply_address_is_ignored(email: Inbound, chat: SupportChat) -> None:
    record = receive(email(to="support@shop.example"))

    assert record is not None
    assert record.ignored_reason == InboundIgnored.NO_REPLY_ADDRESS


def test_the_envelope_recipient_counts_when_the_headers_name_another_address(
    email: Inbound, chat: SupportChat, address: str
) -> None:
    message = email(to="Support <support@shop.example>")
    message.envelope_recipient = address

    receive(message)

    assert user_messages(chat) == ["Thanks, it arrived!"]


def test_a_reply_to_a_deleted_chat_is_ignored(email: Inbound, chat: SupportChat) -> None:
    message = email()
    chat.delete()

    record = receive(message)

    assert record is not None
    assert record.ignored_reason == InboundIgnored.UNKNOWN_CHAT
    assert record.chat is None


def test_a_reply_with_nothing_new_is_ignored(email: Inbound, chat: SupportChat) -> None:
    record = receive(email(""))

    assert user_messages(chat) == []
    assert record is not None
    assert record.ignored_reason == InboundIgnored.EMPTY


def test_a_deactivated_persons_reply_is_ignored(
    email: Inbound, chat: SupportChat, user: Any
) -> None:
    user.is_active = False
    user.save()

    record = receive(email())

    assert user_messages(chat) == []
    assert record is not None
    assert record.ignored_reason == InboundIgnored.INACTIVE


def test_a_reply_over_the_persons_allowance_is_ignored(
    email: Inbound, chat: SupportChat, settings: Any
) -> None:
    settings.DESK_MESSAGES_PER_MINUTE = 1
    with freeze_time("2026-12-01 10:00:00"):
        receive(email("First"))
        record = receive(email("Second"))

    assert user_messages(chat) == ["First"]
    assert record is not None
    assert record.ignored_reason == InboundIgnored.RATE_LIMITED


def test_a_long_reply_is_cut_to_a_messages_length(email: Inbound, chat: SupportChat) -> None:
    receive(email("word " * 2000))

    (posted,) = user_messages(chat)
    assert len(posted) == 5000
    assert posted.endswith("\u2026")


def test_nul_characters_are_dropped(email: Inbound, chat: SupportChat) -> None:
    receive(email("It\x00 arrived"))

    assert user_messages(chat) == ["It arrived"]


@pytest.mark.parametrize(
    ("headers", "fields", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, {}, InboundIgnored.AUTO_REPLY),
        ({"Auto-Submitted": "auto-generated"}, {}, InboundIgnored.AUTO_REPLY),
        ({"Precedence": "bulk"}, {}, InboundIgnored.AUTO_REPLY),
        ({"Precedence": "auto_reply"}, {}, InboundIgnored.AUTO_REPLY),
        ({"X-Autoreply": "yes"}, {}, InboundIgnored.AUTO_REPLY),
        ({"List-Id": "<news.shop.example>"}, {}, InboundIgnored.AUTO_REPLY),
        ({}, {"subject": "Automatic reply: New reply from Support"}, InboundIgnored.AUTO_REPLY),
        ({}, {"subject": "Out of Office: back on Monday"}, InboundIgnored.AUTO_REPLY),
        ({}, {"subject": "Автоответ: New reply from Support"}, InboundIgnored.AUTO_REPLY),
        ({}, {"subject": "Abwesenheitsnotiz: New reply"}, InboundIgnored.AUTO_REPLY),
        ({}, {"subject": "رد تلقائي: New reply from Support"}, InboundIgnored.AUTO_REPLY),
        ({"Return-Path": "<>"}, {}, InboundIgnored.BOUNCE),
        ({}, {"from_email": "MAILER-DAEMON@mx.example.com"}, InboundIgnored.BOUNCE),
    ],
)
def test_automatic_mail_is_ignored(
    email: Inbound,
    chat: SupportChat,
    headers: dict[str, str],
    fields: dict[str, str],
    reason: InboundIgnored,
) -> None:
    record = receive(email(headers=headers, **fields))

    assert user_messages(chat) == []
    assert record is not None
    assert record.ignored_reason == reason


def test_auto_submitted_no_is_a_person_writing(email: Inbound, chat: SupportChat) -> None:
    receive(email(headers={"Auto-Submitted": "no"}))

    assert user_messages(chat) == ["Thanks, it arrived!"]


def test_a_subject_that_only_mentions_an_autoreply_is_a_person_writing(
    email: Inbound, chat: SupportChat
) -> None:
    receive(email(subject="Re: my order (not an automatic reply, promise)"))

    assert user_messages(chat) == ["Thanks, it arrived!"]


def test_a_reply_by_email_leaves_the_next_reply_email_to_its_own_rules(
    email: Inbound,
    chat: SupportChat,
    reply: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> None:
    # The person answered by email; support answers that; they are emailed about it as usual.
    receive(email())
    notify(reply("Glad to hear it!"))

    assert ReplyEmail.objects.get().status == "sent"
    assert len(mailoutbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_email_delivered_twice_at_once_is_posted_once(email: Inbound) -> None:
    message = email(headers={"Message-ID": "<race@mail.example.com>"})
    chat = SupportChat.objects.get()
    barrier = threading.Barrier(2)
    results: list[InboundEmail | None] = []

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(receive(message))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert user_messages(chat) == ["Thanks, it arrived!"]
    assert InboundEmail.objects.count() == 1
    assert sorted(result is None for result in results) == [False, True]
