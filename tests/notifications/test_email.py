"""The email itself: its rendering (kept as fixtures a reader can open), headers and links."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from freezegun import freeze_time

from chats import services as chat_services
from chats.models import Attachment, SupportChat, SupportMessage
from notifications import checks, emails, links
from notifications.models import ReplyEmail
from tests.conftest import make_user
from tests.notifications.conftest import START, assert_matches_fixture, open_link

SHOWN_HEADERS = [
    "Subject",
    "From",
    "To",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
]

SAMPLE = emails.ReplyEmailContent(
    to="ann@example.com",
    name="Ann",
    replies=[
        "Hi Ann! Thanks for waiting.",
        "I've checked your order #1042: the parcel left our warehouse this morning and the "
        "carrier expects to deliver it on Thursday between 9:00 and 13:00. You'll get a text "
        "message from them an hour before they arrive, with a link to pick another time if "
        "Thursday doesn't suit you.",
        "<b>Tip:</b> keep the receipt & the box,\nin case you want to return it.",
        "",
    ],
    # The second reply has two files, the last is a file alone.
    attachments=[[], ["receipt-1042.pdf", "parcel.jpg"], [], ["returns-label.pdf"]],
    open_url="https://support.example.com/email/open/2.6f0c2b1e3d4a4b5c8d9e0f1a2b3c4d5e:1vQx7Z:"
    "kP0s3cR3tS1gnatur3Xx0aBcDeFgHiJkLmNoPqRsTu/",
    unsubscribe_url="https://support.example.com/email/u/Zm9vYmFyYmF6cXV4",
    site_url="https://support.example.com",
    site_name="support.example.com",
    message_id="<reply.AbCdEfGhIjKlMnOpQrStUv@support.example.com>",
    thread_id="<chat.ZyXwVuTsRqPoNmLkJiHgFe@support.example.com>",
    link_lifetime="14 days",
)


def rendered_headers(message: Any) -> str:
    parsed = message.message()
    return "".join(f"{name}: {parsed[name]}\n" for name in SHOWN_HEADERS)


def raw_header_lines(message: Any) -> list[str]:
    raw = message.message().as_bytes().decode("ascii")
    return raw.split("\n\n", 1)[0].splitlines()


@pytest.mark.parametrize(
    ("fixture", "part"),
    [
        ("reply_email.txt", lambda m: m.body),
        ("reply_email.html", lambda m: m.alternatives[0].content),
        ("reply_email.headers.txt", rendered_headers),
    ],
)
def test_the_rendered_email_matches_its_fixture(
    fixture: str, part: Callable[[Any], str], settings: Any
) -> None:
    settings.DEFAULT_FROM_EMAIL = "Support <support@example.com>"
    rendered = part(emails.reply_email_build(SAMPLE))
    assert_matches_fixture(fixture, rendered)


def test_the_email_has_a_text_and_an_html_part() -> None:
    message = emails.reply_email_build(SAMPLE)

    assert message.content_subtype == "plain"
    assert [alternative.mimetype for alternative in message.alternatives] == ["text/html"]


def test_the_subject_is_new_reply_from_support() -> None:
    assert emails.reply_email_build(SAMPLE).subject == "New reply from Support"


def test_a_preview_is_cut_at_200_characters() -> None:
    assert emails.reply_preview("x" * 200) == "x" * 200
    assert emails.reply_preview("x" * 201) == "x" * 200 + "\u2026"


def test_a_preview_is_one_line() -> None:
    assert emails.reply_preview("Line one\n\n  line two ") == "Line one line two"


def test_the_html_part_escapes_what_the_admin_wrote() -> None:
    html = emails.reply_email_build(SAMPLE).alternatives[0].content

    assert "&lt;b&gt;Tip:&lt;/b&gt; keep the receipt &amp; the box" in html
    assert "<b>Tip:</b>" not in html


def test_the_html_part_has_a_button_back_into_the_chat() -> None:
    html = emails.reply_email_build(SAMPLE).alternatives[0].content

    assert f'<a href="{SAMPLE.open_url}"' in html
    assert "Open the conversation</a>" in html


def test_the_unsubscribe_headers_are_one_click_and_plain_ascii() -> None:
    lines = raw_header_lines(emails.reply_email_build(SAMPLE))

    assert f"List-Unsubscribe: <{SAMPLE.unsubscribe_url}>" in lines
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    assert not [line for line in lines if "=?" in line], "no header may be encoded"


def test_headers_stay_plain_ascii_with_the_longest_site_url_the_check_allows(
    settings: Any,
) -> None:
    settings.SITE_URL = "https://" + "a" * 34 + ".example"  # 50 characters
    assert checks.email_headers_fit() == []
    content = dataclasses.replace(
        SAMPLE,
        unsubscribe_url=links.unsubscribe_url("Zm9vYmFyYmF6cXV4"),
        thread_id=links.thread_id(uuid.uuid4()),
    )

    lines = raw_header_lines(emails.reply_email_build(content))

    assert not [line for line in lines if "=?" in line], "\n".join(lines)


def test_a_site_url_too_long_for_the_headers_fails_the_system_check(settings: Any) -> None:
    settings.SITE_URL = "https://" + "a" * 35 + ".example"

    [error] = checks.email_headers_fit()

    assert error.id == "notifications.E001"
    assert "List-Unsubscribe" in error.msg


def test_the_default_site_url_passes_the_system_check() -> None:
    assert checks.email_headers_fit() == []


def test_the_emails_of_one_chat_share_a_thread_but_not_a_message_id(
    reply: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> None:
    with freeze_time(START) as clock:
        first = reply("Hi Ann!")
        clock.move_to("2026-01-29 10:05:00")
        notify(first)
        clock.move_to("2026-01-29 10:06:00")
        second = reply("One more thing.")
        clock.move_to("2026-01-29 10:11:00")
        notify(second)

    headers = [sent.message() for sent in mailoutbox]
    assert headers[0]["References"] == headers[1]["References"]
    assert headers[0]["In-Reply-To"] == headers[0]["References"]
    assert headers[0]["Message-ID"] != headers[1]["Message-ID"]
    assert headers[0]["Message-ID"] == links.email_message_id(
        ReplyEmail.objects.order_by("created_at").first().id  # type: ignore[union-attr]
    )


def test_every_link_in_a_sent_email_is_built_on_site_url(
    settings: Any,
    reply: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> None:
    settings.SITE_URL = "https://help.shop.example"
    notify(reply("Hi Ann!"))

    sent = mailoutbox[0]
    assert open_link(sent).startswith("https://help.shop.example/email/open/")
    assert sent.extra_headers["List-Unsubscribe"].startswith("<https://help.shop.example/email/u/")
    assert "https://help.shop.example/email/u/" in sent.body
    assert sent.message()["References"].endswith("@help.shop.example>")


def test_each_reply_lists_its_files_by_name_under_it_in_both_parts() -> None:
    message = emails.reply_email_build(SAMPLE)
    html = message.alternatives[0].content

    assert "> parcel.jpg" not in message.body
    assert (
        "the box, in case you want to return it.\n\n> Attached: returns-label.pdf\n\nOpen"
        in message.body
    )
    assert "before t…\n> Attached: receipt-1042.pdf\n> Attached: parcel.jpg\n" in message.body
    assert "<div>&#128206;&nbsp;receipt-1042.pdf</div><div>&#128206;&nbsp;parcel.jpg</div>" in html


def test_a_reply_of_files_alone_has_no_empty_quote_and_shows_its_file_as_the_preheader() -> None:
    content = dataclasses.replace(SAMPLE, replies=[""], attachments=[["invoice.pdf"]])

    message = emails.reply_email_build(content)

    assert ":\n\n> Attached: invoice.pdf\n\nOpen the conversation" in message.body
    assert ">Attached: invoice.pdf</div>" in message.alternatives[0].content


def test_a_file_name_is_text_in_the_html_part() -> None:
    content = dataclasses.replace(SAMPLE, replies=["Here"], attachments=[["Q&A <notes>.txt"]])

    html = emails.reply_email_build(content).alternatives[0].content

    assert "&#128206;&nbsp;Q&amp;A &lt;notes&gt;.txt</div>" in html


def test_the_sent_email_lists_the_files_of_each_unread_reply(
    admin: Any,
    chat: SupportChat,
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> None:
    def upload(name: str) -> Attachment:
        return Attachment.objects.create(
            chat=chat,
            uploader=admin,
            name=name,
            size=1000,
            content_type="application/pdf",
            storage_name=f"test/{uuid.uuid4().hex}",
        )

    with freeze_time(START) as clock:
        first = chat_services.admin_reply_post(
            admin=admin, chat_id=chat.id, content="", attachment_ids=[upload("label.pdf").id]
        )
        chat_services.admin_reply_post(admin=admin, chat_id=chat.id, content="And a note.")
        files = [upload("a.pdf").id]
        clock.tick(1)  # the files of a message come oldest upload first
        files.append(upload("b.pdf").id)
        chat_services.admin_reply_post(
            admin=admin, chat_id=chat.id, content="Both forms.", attachment_ids=files
        )
        clock.move_to("2026-01-29 10:05:00")
        notify(first)

    [sent] = mailoutbox
    assert (
        "> Attached: label.pdf\n\n> And a note.\n\n> Both forms.\n"
        "> Attached: a.pdf\n> Attached: b.pdf\n\nOpen the conversation"
    ) in sent.body


@pytest.fixture
def alice(db: None) -> Any:
    return make_user("alice@example.com", is_staff=True, first_name="Alice")


def test_the_reply_email_says_who_replied(
    alice: Any,
    chat: SupportChat,
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> None:
    with freeze_time(START) as clock:
        first = chat_services.admin_reply_post(admin=alice, chat_id=chat.id, content="Hello!")
        chat_services.admin_reply_post(admin=alice, chat_id=chat.id, content="One more thing.")
        clock.move_to("2026-01-29 10:05:00")
        notify(first)

    [sent] = mailoutbox
    assert "Alice from Support replied to your message" in sent.body
    assert "Alice from Support replied to your message" in sent.alternatives[0][0]


def test_a_reply_email_covering_two_admins_comes_from_support(
    alice: Any,
    admin: Any,
    chat: SupportChat,
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> None:
    with freeze_time(START) as clock:
        first = chat_services.admin_reply_post(admin=alice, chat_id=chat.id, content="Hello!")
        chat_services.admin_reply_post(admin=admin, chat_id=chat.id, content="Adding to that.")
        clock.move_to("2026-01-29 10:05:00")
        notify(first)

    [sent] = mailoutbox
    assert "\nSupport replied to your message" in sent.body
