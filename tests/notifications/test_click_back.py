"""The email's button: back into the chat, for the right user only, and each click recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from freezegun import freeze_time

from chats.models import SupportMessage
from chats.realtime.builders import as_json
from chats.realtime.protocol import Delivery
from notifications.models import ClickOutcome, ReplyEmail, ReplyEmailClick
from tests.notifications.conftest import START, open_link

SENT_AT = "2026-01-29 10:05:00"


@pytest.fixture(autouse=True)
def clicked_soon_after() -> Iterator[None]:
    """Clicks happen at 10:10, five minutes after the email, unless a test says otherwise."""
    with freeze_time("2026-01-29 10:10:00"):
        yield


@pytest.fixture
def replies(reply: Callable[[str], SupportMessage]) -> list[SupportMessage]:
    with freeze_time(START):
        return [reply("Hi Ann!"), reply("It ships tomorrow.")]


@pytest.fixture
def link(
    replies: list[SupportMessage],
    notify: Callable[[SupportMessage], None],
    mailoutbox: list[Any],
) -> str:
    """The path of the open link in the email sent at 10:05:00 about both replies."""
    with freeze_time(SENT_AT):
        notify(replies[0])
    return urlsplit(open_link(mailoutbox[0])).path


@pytest.fixture
def browser() -> Client:
    return Client()


def unread(messages: list[SupportMessage]) -> list[bool]:
    return [SupportMessage.objects.get(id=message.id).read_at is None for message in messages]


def clicks() -> list[str]:
    return list(ReplyEmailClick.objects.order_by("id").values_list("outcome", flat=True))


def test_the_right_user_gets_the_replies_marked_read_and_lands_on_the_open_chat(
    link: str, browser: Client, user: Any, replies: list[SupportMessage], settings: Any
) -> None:
    browser.force_login(user)

    response = browser.get(link)

    assert response.status_code == 302
    assert response["Location"] == settings.SITE_URL + "#support-chat"
    assert unread(replies) == [False, False]


def test_opening_announces_the_same_event_as_mark_read(
    link: str,
    browser: Client,
    user: Any,
    replies: list[SupportMessage],
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    browser.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        browser.get(link)

    [event] = {event["type"]: event for _, event in announced}.values()
    assert event["type"] == "messages_read"
    assert event["chat_id"] == str(replies[0].chat_id)
    assert sorted(event["message_ids"]) == sorted(str(m.id) for m in replies)
    read_at = SupportMessage.objects.get(id=replies[0].id).read_at
    assert event["read_at"] == as_json({"read_at": read_at})["read_at"]


def test_a_logged_out_click_goes_to_the_login_page_and_then_back_into_the_chat(
    link: str, browser: Client, replies: list[SupportMessage], settings: Any
) -> None:
    to_login = browser.get(link)
    assert to_login.status_code == 302
    assert to_login["Location"].startswith(settings.LOGIN_URL)
    assert unread(replies) == [True, True]

    login_page = browser.get(to_login["Location"])
    signed_in = browser.post(
        to_login["Location"],
        {
            "username": "ann@example.com",
            "password": "pw-for-tests",
            "next": login_page.context["next"],
        },
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == link

    back = browser.get(signed_in["Location"])
    assert back["Location"] == settings.SITE_URL + "#support-chat"
    assert unread(replies) == [False, False]


def test_another_logged_in_user_is_refused_and_nothing_is_marked(
    link: str, browser: Client, other_user: Any, replies: list[SupportMessage]
) -> None:
    browser.force_login(other_user)

    response = browser.get(link)

    assert response.status_code == 403
    assert b"This link is for another account" in response.content
    assert unread(replies) == [True, True]


def test_an_admin_is_refused_too(
    link: str, browser: Client, admin: Any, replies: list[SupportMessage]
) -> None:
    browser.force_login(admin)

    assert browser.get(link).status_code == 403
    assert unread(replies) == [True, True]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda path: path[:-2] + ("A" if path[-2] != "A" else "B") + "/",  # the signature
        lambda path: path.replace("/open/", "/open/9"),  # the user
        lambda path: "/email/open/nonsense/",
    ],
)
def test_a_tampered_link_shows_a_friendly_page_with_a_way_to_the_site(
    tamper: Callable[[str], str],
    link: str,
    browser: Client,
    user: Any,
    replies: list[SupportMessage],
    settings: Any,
) -> None:
    browser.force_login(user)

    response = browser.get(tamper(link))

    assert response.status_code == 400
    assert b"This link doesn't work" in response.content
    assert f'href="{settings.SITE_URL}"'.encode() in response.content
    assert unread(replies) == [True, True]


def test_an_expired_link_shows_a_friendly_page_and_marks_nothing(
    link: str, browser: Client, user: Any, replies: list[SupportMessage]
) -> None:
    browser.force_login(user)

    with freeze_time("2026-02-12 10:05:01"):  # 14 days and a second after the email
        response = browser.get(link)

    assert response.status_code == 410
    assert b"This link has expired" in response.content
    assert unread(replies) == [True, True]


def test_a_link_still_works_on_its_fourteenth_day(
    link: str, browser: Client, user: Any, replies: list[SupportMessage]
) -> None:
    browser.force_login(user)

    with freeze_time("2026-02-12 10:05:00"):
        response = browser.get(link)

    assert response.status_code == 302
    assert unread(replies) == [False, False]


def test_a_second_click_marks_nothing_new_and_still_opens_the_chat(
    link: str, browser: Client, user: Any
) -> None:
    browser.force_login(user)
    browser.get(link)

    response = browser.get(link)

    assert response.status_code == 302
    assert list(ReplyEmailClick.objects.order_by("id").values_list("marked_read", flat=True)) == [
        2,
        0,
    ]


def test_each_click_is_recorded_with_who_and_what_happened(
    link: str, browser: Client, user: Any, other_user: Any
) -> None:
    browser.get(link)
    browser.force_login(other_user)
    browser.get(link)
    browser.force_login(user)
    browser.get(link)
    with freeze_time("2026-02-12 10:05:01"):
        browser.get(link)

    assert clicks() == [
        ClickOutcome.LOGIN_REQUIRED,
        ClickOutcome.OTHER_USER,
        ClickOutcome.OPENED,
        ClickOutcome.EXPIRED,
    ]
    recorded = ReplyEmailClick.objects.order_by("id")
    assert [click.user for click in recorded] == [None, other_user, user, user]
    assert {click.email for click in recorded} == {ReplyEmail.objects.get()}


def test_a_link_to_another_email_marks_only_that_emails_replies(
    link: str,
    browser: Client,
    user: Any,
    reply: Callable[[str], SupportMessage],
    replies: list[SupportMessage],
) -> None:
    with freeze_time("2026-01-29 10:06:00"):
        later = reply("And one more thing.")
    browser.force_login(user)

    browser.get(link)

    assert unread([*replies, later]) == [False, False, True]


# --- HEAD: link checkers and mailbox scanners ask without meaning to click -----------------------

# Who follows the link, and when: each gets its own answer (into the chat, the login page, a
# refusal, the expired page).
FOLLOWERS = ["the links user", "logged out", "another user", "the links user, too late"]


def follow(browser: Client, link: str, method: str, who: str, user: Any, other: Any) -> Any:
    if who in ("the links user", "the links user, too late"):
        browser.force_login(user)
    elif who == "another user":
        browser.force_login(other)
    when = "2026-02-12 10:05:01" if who.endswith("too late") else "2026-01-29 10:10:00"
    with freeze_time(when):
        return browser.generic(method, link)


def test_a_head_request_by_the_links_user_marks_nothing(
    link: str,
    browser: Client,
    user: Any,
    replies: list[SupportMessage],
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    browser.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.head(link)

    assert response.status_code == 302
    assert unread(replies) == [True, True]
    assert announced == []


@pytest.mark.parametrize("who", FOLLOWERS)
def test_a_head_request_records_no_click(
    who: str, link: str, browser: Client, user: Any, other_user: Any
) -> None:
    follow(browser, link, "HEAD", who, user, other_user)

    assert clicks() == []


@pytest.mark.parametrize("who", FOLLOWERS)
def test_a_head_request_gets_the_status_and_location_a_get_would(
    who: str, link: str, user: Any, other_user: Any
) -> None:
    head = follow(Client(), link, "HEAD", who, user, other_user)
    get = follow(Client(), link, "GET", who, user, other_user)

    assert (head.status_code, head.get("Location")) == (get.status_code, get.get("Location"))
