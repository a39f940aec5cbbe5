"""The admins' dashboard pages (/desk/), through Django's test client: no browser, no JavaScript.

What the pages do live in a browser is tested in tests/browser/test_dashboard.py.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from freezegun import freeze_time

from chats import services
from chats.models import AdminAction, ChatAuditEntry, SupportChat, SupportMessage
from chats.realtime import protocol
from tests.chats.test_admin_list import make_chats
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

LIST = "/desk/"


def detail(chat: SupportChat) -> str:
    return f"/desk/chats/{chat.id}/"


def browser(person: Any = None) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


def card_ids(response: Any) -> list[str]:
    """The chat ids of the list's cards, top to bottom (the card template has an empty id)."""
    return [found for found in re.findall(r'data-chat-id="([^"]*)"', response.text) if found]


def text_of(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))


# --- Who may see it -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["list", "detail"])
def test_anonymous_visitor_is_sent_to_log_in_and_back(chat: SupportChat, path: str) -> None:
    url = LIST if path == "list" else detail(chat)
    response = browser().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("path", ["list", "detail"])
def test_logged_in_non_staff_user_gets_403(user: Any, chat: SupportChat, path: str) -> None:
    url = LIST if path == "list" else detail(chat)
    assert browser(user).get(url).status_code == 403
    assert not ChatAuditEntry.objects.exists()


def test_any_admin_sees_the_list(other_admin: Any, say: Any) -> None:
    say("hello")
    response = browser(other_admin).get(LIST)
    assert response.status_code == 200
    assert "<h1>Support Chats</h1>" in response.text
    assert "ann@example.com" in response.text


def test_unknown_chat_is_404(admin: Any) -> None:
    assert browser(admin).get(f"/desk/chats/{uuid.uuid4()}/").status_code == 404


def test_archive_form_of_an_unknown_chat_is_404(admin: Any) -> None:
    assert browser(admin).post(f"/desk/chats/{uuid.uuid4()}/archive").status_code == 404


# --- The list -------------------------------------------------------------------------------------


def test_card_shows_unread_marker_email_preview_and_count(admin: Any, say: Any) -> None:
    say("first")
    say("Where is my order?")
    response = browser(admin).get(LIST)
    assert 'data-unread="true"' in response.text
    assert "(unread)" in response.text
    assert "Where is my order?" in response.text
    assert "2 messages" in response.text


def test_card_keeps_its_relative_time_for_the_script_to_update(admin: Any, say: Any) -> None:
    with freeze_time("2026-01-29 10:00:00"):
        say("hello")
    with freeze_time("2026-01-29 10:02:00"):
        response = browser(admin).get(LIST)
    assert 'data-relative-time="2026-01-29T10:00:00+00:00"' in response.text
    assert "2\xa0minutes ago" in response.text


def test_card_of_a_viewed_chat_has_no_unread_marker(admin: Any, say: Any, chat: Any) -> None:
    say("hello")
    services.chat_mark_viewed(admin=admin, chat_id=chat.id)
    response = browser(admin).get(LIST)
    assert 'data-unread="false"' in response.text
    assert "(unread)" not in response.text


def test_card_of_a_reply_says_support_wrote_last(admin: Any, say: Any, reply: Any) -> None:
    say("question")
    reply("answer")
    assert 'Support: </span><span data-field="preview">answer' in browser(admin).get(LIST).text


def test_active_tab_shows_newest_activity_first(admin: Any) -> None:
    chats = make_chats(3)
    assert card_ids(browser(admin).get(LIST)) == [str(c.id) for c in reversed(chats)]


def test_archived_tab_shows_only_archived_chats(admin: Any) -> None:
    active, archived = make_chats(2)
    services.chat_archive(admin=admin, chat_id=archived.id)
    session = browser(admin)
    assert card_ids(session.get(LIST, {"archived": "1"})) == [str(archived.id)]
    assert card_ids(session.get(LIST)) == [str(active.id)]


def test_current_tab_is_marked_for_assistive_technology(admin: Any) -> None:
    response = browser(admin).get(LIST, {"archived": "1"})
    assert re.search(r'href="/desk/\?archived=1" aria-current="page">Archived<', response.text)


def test_cards_of_the_archived_tab_link_back_to_it(admin: Any) -> None:
    [chat] = make_chats(1, archived=True)
    response = browser(admin).get(LIST, {"archived": "1"})
    assert f'href="/desk/chats/{chat.id}/?archived=1"' in response.text


def test_search_finds_chats_by_a_fragment_of_the_email(admin: Any) -> None:
    chats = make_chats(12)
    found = card_ids(browser(admin).get(LIST, {"q": "U1"}))
    assert set(found) == {str(chats[i].id) for i in (1, 10, 11)}


def test_search_box_keeps_the_query_and_the_tab(admin: Any) -> None:
    response = browser(admin).get(LIST, {"q": "ann", "archived": "1"})
    assert 'name="q" value="ann"' in response.text
    assert '<input type="hidden" name="archived" value="1">' in response.text


def test_empty_tab_says_so(admin: Any) -> None:
    assert "No archived chats." in text_of(browser(admin).get(LIST, {"archived": "1"}))


def test_load_more_link_leads_to_the_next_page_without_repeats(admin: Any) -> None:
    make_chats(53)
    session = browser(admin)
    first = session.get(LIST, {"q": "example"})
    next_url = re.search(r'data-load-more href="([^"]+)"', first.text)
    assert next_url is not None
    assert "q=example" in next_url.group(1)
    second = session.get(next_url.group(1).replace("&amp;", "&"))
    assert len(card_ids(first)) == 50
    assert len(card_ids(second)) == 3
    assert not set(card_ids(first)) & set(card_ids(second))
    assert re.search(r'data-load-more href=""[^>]*hidden', second.text)


def test_malformed_cursor_is_400(admin: Any) -> None:
    assert browser(admin).get(LIST, {"cursor": "garbage"}).status_code == 400


@pytest.mark.parametrize("size", [3, 60])
def test_the_list_runs_a_fixed_number_of_queries(
    admin: Any, size: int, django_assert_max_num_queries: Any
) -> None:
    make_chats(size, messages_each=3)
    session = browser(admin)
    # Session, user and the page itself: nothing per chat, whatever the number of chats.
    with django_assert_max_num_queries(3):
        response = session.get(LIST)
    assert len(card_ids(response)) == min(size, 50)


# --- One chat -------------------------------------------------------------------------------------


def test_detail_shows_the_users_email_and_messages(admin: Any, say: Any, chat: Any) -> None:
    say("hello there")
    response = browser(admin).get(detail(chat))
    assert response.status_code == 200
    assert '<h1 dir="auto">ann@example.com</h1>' in response.text
    assert "hello there" in response.text


def test_detail_groups_messages_by_day_with_times(
    admin: Any, say: Any, reply: Any, chat: Any
) -> None:
    with freeze_time("2026-01-29 09:15:00"):
        say("monday morning")
    with freeze_time("2026-01-29 14:05:00"):
        reply("monday afternoon")
    with freeze_time("2026-01-30 08:00:00"):
        say("tuesday")
        text = text_of(browser(admin).get(detail(chat)))
    assert re.search(
        r"Thursday, January 29 .*monday morning .*09:15 .*monday afternoon .*14:05"
        r" .*Friday, January 30 .*tuesday .*08:00",
        text,
    ), text


def test_replies_show_whether_the_user_read_them(
    admin: Any, user: Any, reply: Any, chat: Any
) -> None:
    with freeze_time("2026-01-29 14:00:00"):
        reply("first answer")
    with freeze_time("2026-01-29 14:05:00"):
        services.messages_mark_read(user=user)
        reply("second answer")
    text = text_of(browser(admin).get(detail(chat)))
    assert re.search(r"first answer .*Read 14:05 .*second answer .*Sent", text), text


def test_opening_a_chat_marks_it_viewed(admin: Any, say: Any, chat: SupportChat) -> None:
    say("hello")
    with freeze_time("2026-01-29 10:00:00"):
        browser(admin).get(detail(chat))
    chat.refresh_from_db()
    assert chat.admin_viewed_at is not None
    assert chat.admin_viewed_at.isoformat() == "2026-01-29T10:00:00+00:00"
    assert ChatAuditEntry.objects.get().action == AdminAction.VIEWED
    assert 'data-unread="false"' in browser(admin).get(LIST).text


def test_opening_a_chat_tells_the_other_admins_after_commit(
    admin: Any, chat: SupportChat, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    dashboard = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(protocol.ADMINS_GROUP, dashboard)

    async def received(within: float = 1.0) -> Any:
        try:
            return (await asyncio.wait_for(layer.receive(dashboard), within))["event"]
        except TimeoutError:
            return None

    with django_capture_on_commit_callbacks() as callbacks:
        browser(admin).get(detail(chat))
    assert async_to_sync(received)(0.1) is None

    for callback in callbacks:
        callback()
    event = async_to_sync(received)()
    assert event["type"] == "chat_viewed"
    assert event["chat_id"] == str(chat.id)
    assert event["admin"] == {"id": admin.id, "email": admin.email}


def test_back_link_returns_to_the_tab_the_admin_came_from(admin: Any, chat: SupportChat) -> None:
    session = browser(admin)
    assert 'class="back" href="/desk/"' in session.get(detail(chat)).text
    came_from_archived = session.get(detail(chat), {"archived": "1"}).text
    assert 'class="back" href="/desk/?archived=1"' in came_from_archived


def test_archive_form_archives_and_restore_form_restores(admin: Any, chat: SupportChat) -> None:
    session = browser(admin)
    response = session.post(f"/desk/chats/{chat.id}/archive")
    assert response.status_code == 302
    assert response["Location"] == detail(chat)
    chat.refresh_from_db()
    assert chat.archived
    page = session.get(detail(chat)).text
    assert f'action="/desk/chats/{chat.id}/unarchive"' in page
    assert ">Restore</button>" in page

    session.post(f"/desk/chats/{chat.id}/unarchive")
    chat.refresh_from_db()
    assert not chat.archived


def test_reply_form_posts_a_reply(admin: Any, chat: SupportChat) -> None:
    response = browser(admin).post(f"/desk/chats/{chat.id}/reply", {"content": "  On it!  "})
    assert response.status_code == 302
    message = SupportMessage.objects.get()
    assert (message.content, message.sender_type, message.sender) == ("On it!", "admin", admin)


def test_empty_reply_is_refused_with_the_reason_shown(admin: Any, chat: SupportChat) -> None:
    response = browser(admin).post(f"/desk/chats/{chat.id}/reply", {"content": "   "})
    assert response.status_code == 422
    assert 'role="alert" data-composer-error>' in response.text
    assert not SupportMessage.objects.exists()


def test_reply_form_shares_the_admins_message_allowance(
    admin: Any, chat: SupportChat, settings: Any
) -> None:
    settings.DESK_MESSAGES_PER_MINUTE = 2
    session = browser(admin)
    answers = [
        session.post(f"/desk/chats/{chat.id}/reply", {"content": f"reply {n}"}) for n in range(3)
    ]
    assert [answer.status_code for answer in answers] == [302, 302, 429]
    assert int(answers[-1]["Retry-After"]) >= 1
    assert "reply 2" in answers[-1].text  # the draft is kept
    assert SupportMessage.objects.count() == 2


def test_reply_form_is_refused_to_non_staff(user: Any, chat: SupportChat) -> None:
    assert browser(user).post(f"/desk/chats/{chat.id}/reply", {"content": "hi"}).status_code == 403
    assert not SupportMessage.objects.exists()


# --- Content is text ------------------------------------------------------------------------------

SCRIPT = '<script>alert("x")</script><b>bold</b>'


def test_message_content_is_escaped_in_the_list(admin: Any) -> None:
    services.user_message_post(user=make_user("eve<script>@example.com"), content=SCRIPT)
    page = browser(admin).get(LIST).text
    assert "<script>alert" not in page
    assert "<b>bold" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page
    assert "eve&lt;script&gt;@example.com" in page


def test_message_content_is_escaped_in_the_chat(admin: Any, say: Any, chat: SupportChat) -> None:
    say(SCRIPT)
    page = browser(admin).get(detail(chat)).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_pages_configuration_cannot_close_its_script_tag(admin: Any) -> None:
    evil = make_user("</script><script>alert(1)</script>@example.com")
    chat = services.chat_get_or_create(user=evil)
    page = browser(admin).get(detail(chat)).text
    assert "</script><script>alert(1)" not in page
