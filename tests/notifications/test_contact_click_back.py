"""A reply email's button for embedded people: they have no desk session, so the signed link
alone marks the replies read, and they land where the widget opens (DESK_EMBED_RETURN_URL, or
desk's full-page chat for a guest, or SITE_URL's widget for an identified person)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from freezegun import freeze_time

from chats import services as chat_services
from chats.embed import services as embed
from chats.embed.identity import Identity
from chats.models import Contact, SupportMessage
from chats.realtime.protocol import Delivery
from notifications.models import ClickOutcome, ReplyEmail, ReplyEmailClick
from tests.notifications.conftest import START, open_link

pytestmark = pytest.mark.django_db

SENT_AT = "2026-01-29 10:05:00"
RETURN_URL = "https://shop.example:8443/help#support-chat"
IDA = "ida@example.com"


@pytest.fixture(autouse=True)
def clicked_soon_after() -> Iterator[None]:
    """Clicks happen at 10:10, five minutes after the email, unless a test says otherwise."""
    with freeze_time("2026-01-29 10:10:00"):
        yield


@pytest.fixture
def identified() -> Contact:
    """A person the host site vouches for, with the address from their identity token."""
    return embed.identified_contact(Identity(sub="shop-42", email=IDA, name="Ida"))


@pytest.fixture
def guest(admin: Any) -> Contact:
    """A guest support invited with a confirmed address (the address support typed)."""
    return embed.guest_invite(admin=admin, name="Gail", email="gail@example.com").contact


def replies_to(contact: Contact, admin: Any) -> list[SupportMessage]:
    """At 10:00 the contact asks, and an admin answers twice."""
    with freeze_time(START):
        chat_services.user_message_post(user=contact.user, content="Where is my parcel?")
        chat = chat_services.chat_get_or_create(user=contact.user)
        return [
            chat_services.admin_reply_post(admin=admin, chat_id=chat.id, content=text)
            for text in ("Hi!", "It ships tomorrow.")
        ]


def emailed_link(
    replies: list[SupportMessage], notify: Callable[[SupportMessage], None], outbox: list[Any]
) -> str:
    """The path of the open link in the email sent at 10:05 about the replies."""
    with freeze_time(SENT_AT):
        notify(replies[0])
    return urlsplit(open_link(outbox[-1])).path


@pytest.fixture
def replies(identified: Contact, admin: Any) -> list[SupportMessage]:
    return replies_to(identified, admin)


@pytest.fixture
def link(
    replies: list[SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> str:
    return emailed_link(replies, notify, mailoutbox)


def unread(messages: list[SupportMessage]) -> list[bool]:
    return [SupportMessage.objects.get(id=message.id).read_at is None for message in messages]


def test_an_identified_persons_button_marks_replies_read_without_a_session_and_returns_to_the_host(
    link: str, replies: list[SupportMessage], settings: Any
) -> None:
    settings.DESK_EMBED_RETURN_URL = RETURN_URL

    response = Client().get(link)

    assert response.status_code == 302
    assert response["Location"] == RETURN_URL
    assert unread(replies) == [False, False]


def test_without_a_return_url_an_identified_person_lands_on_the_sites_widget(
    link: str, replies: list[SupportMessage], settings: Any
) -> None:
    response = Client().get(link)

    assert response["Location"] == settings.SITE_URL + "#support-chat"
    assert unread(replies) == [False, False]


def test_without_a_return_url_a_guest_lands_on_their_own_full_page_chat(
    guest: Contact,
    admin: Any,
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
    settings: Any,
) -> None:
    replies = replies_to(guest, admin)
    link = emailed_link(replies, notify, mailoutbox)

    response = Client().get(link)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}" == settings.SITE_URL
    assert location.path.startswith("/chat/")
    assert embed.guest_by_link(location.path.split("/")[2]) == guest
    assert unread(replies) == [False, False]
    assert Client().get(location.path).status_code == 200


def test_a_guest_lands_on_the_return_url_when_there_is_one(
    guest: Contact,
    admin: Any,
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
    settings: Any,
) -> None:
    settings.DESK_EMBED_RETURN_URL = RETURN_URL
    link = emailed_link(replies_to(guest, admin), notify, mailoutbox)

    assert Client().get(link)["Location"] == RETURN_URL


def test_opening_announces_the_same_event_as_mark_read(
    link: str,
    replies: list[SupportMessage],
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().get(link)

    [event] = {event["type"]: event for _, event in announced}.values()
    assert event["type"] == "messages_read"
    assert event["chat_id"] == str(replies[0].chat_id)
    assert sorted(event["message_ids"]) == sorted(str(m.id) for m in replies)


def test_each_click_is_recorded_as_opened_by_the_contact_with_no_session_user(
    link: str,
) -> None:
    Client().get(link)
    Client().get(link)

    clicks = ReplyEmailClick.objects.order_by("id")
    assert [(c.outcome, c.user, c.marked_read) for c in clicks] == [
        (ClickOutcome.CONTACT_OPENED, None, 2),
        (ClickOutcome.CONTACT_OPENED, None, 0),
    ]
    assert {click.email for click in clicks} == {ReplyEmail.objects.get()}


def test_a_contacts_link_acts_for_its_contact_whoever_is_logged_in(
    link: str,
    replies: list[SupportMessage],
    user: Any,
    chat: Any,
    reply: Callable[[str], SupportMessage],
    settings: Any,
) -> None:
    # A desk user's own unread reply stays unread: the link speaks for the person it names.
    own = reply("For Ann only.")
    browser = Client()
    browser.force_login(user)

    response = browser.get(link)

    assert response["Location"] == settings.SITE_URL + "#support-chat"
    assert unread([*replies, own]) == [False, False, True]


def test_a_head_request_marks_nothing_records_nothing_and_answers_like_a_get(
    link: str,
    replies: list[SupportMessage],
    settings: Any,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DESK_EMBED_RETURN_URL = RETURN_URL

    with django_capture_on_commit_callbacks(execute=True):
        head = Client().head(link)

    assert unread(replies) == [True, True]
    assert announced == []
    assert not ReplyEmailClick.objects.exists()
    get = Client().get(link)
    assert (head.status_code, head["Location"]) == (get.status_code, get["Location"])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda path: path[:-2] + ("A" if path[-2] != "A" else "B") + "/",  # the signature
        lambda path: path.replace("/open/", "/open/9"),  # the user
        lambda path: "/email/open/nonsense/",
    ],
)
def test_a_tampered_contact_link_is_refused_and_marks_nothing(
    tamper: Callable[[str], str], link: str, replies: list[SupportMessage]
) -> None:
    response = Client().get(tamper(link))

    assert response.status_code == 400
    assert b"This link doesn't work" in response.content
    assert unread(replies) == [True, True]


def test_an_expired_contact_link_is_refused_marks_nothing_and_is_recorded(
    link: str, replies: list[SupportMessage]
) -> None:
    with freeze_time("2026-02-12 10:05:01"):  # 14 days and a second after the email
        response = Client().get(link)

    assert response.status_code == 410
    assert unread(replies) == [True, True]
    assert list(ReplyEmailClick.objects.values_list("outcome", flat=True)) == [ClickOutcome.EXPIRED]


def test_a_deactivated_persons_link_goes_nowhere(
    link: str, identified: Contact, replies: list[SupportMessage]
) -> None:
    identified.user.is_active = False
    identified.user.save(update_fields=["is_active"])

    assert Client().get(link).status_code == 400
    assert Client().head(link).status_code == 400
    assert unread(replies) == [True, True]


def test_another_contacts_link_marks_only_that_contacts_replies(
    link: str, replies: list[SupportMessage], guest: Contact, admin: Any
) -> None:
    theirs = replies_to(guest, admin)

    Client().get(link)

    assert unread([*replies, *theirs]) == [False, False, True, True]


def test_a_guests_link_still_works_after_the_guest_merged_into_a_signed_in_person(
    guest: Contact,
    identified: Contact,
    admin: Any,
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
    settings: Any,
) -> None:
    replies = replies_to(guest, admin)
    link = emailed_link(replies, notify, mailoutbox)
    embed.guest_merge(guest=guest, into=identified)

    response = Client().get(link)

    assert (response.status_code, response["Location"]) == (
        302,
        settings.SITE_URL + "#support-chat",
    )
    assert unread(replies) == [False, False]
    assert ReplyEmail.objects.get().user_id == identified.user_id


def test_a_desk_user_still_has_to_log_in(
    reply: Callable[[str], SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
    settings: Any,
) -> None:
    with freeze_time(START):
        replies = [reply("Hi Ann!")]
    link = emailed_link(replies, notify, mailoutbox)

    response = Client().get(link)

    assert response["Location"].startswith(settings.LOGIN_URL)
    assert unread(replies) == [True]


# --- the email itself ----------------------------------------------------------------------------


def test_the_reply_email_goes_to_the_address_from_the_identity_token(
    link: str, mailoutbox: list[Any]
) -> None:
    assert mailoutbox[0].to == [IDA]


def test_a_contacts_reply_email_never_asks_them_to_log_in(
    replies: list[SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
    settings: Any,
) -> None:
    settings.DESK_EMBED_RETURN_URL = RETURN_URL

    emailed_link(replies, notify, mailoutbox)

    [message] = mailoutbox
    for part in (message.body, message.alternatives[0].content):
        text = part.lower()
        assert not any(words in text for words in ("log in", "login", "sign in", "password"))
        # The site they know is the host's, not desk's.
        assert "shop.example" in text
        assert "localhost" not in text.replace(settings.SITE_URL.lower(), "")
