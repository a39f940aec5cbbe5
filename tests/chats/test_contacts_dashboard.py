"""People from the embedded widget in the admins' views: the list and detail, REST and pages.

A chat's `contact` (ChatListItemOut) says who a guest or an identified person is; the pages show
it (a Guest marker, the name, the email as given, marked while unconfirmed, the host's id); the
search finds them by any of these; and the list still runs a fixed number of queries.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chats import services
from chats.realtime.protocol import ADMINS_GROUP, EventType
from tests.chats.contacts import chat_of, guest, identified, make_contact_chats
from tests.chats.test_admin_list import make_chats
from tests.chats.test_dashboard import LIST, browser, card_ids, detail, text_of

pytestmark = pytest.mark.django_db


# --- REST ----------------------------------------------------------------------------------------


def test_a_guests_chat_carries_the_guest_with_the_address_unconfirmed(api: Any, admin: Any) -> None:
    contact = guest(name="Gina Guest", email="gina@visitor.example")
    [item] = api(admin).get("/admin/chats").json()["items"]
    assert item["id"] == str(chat_of(contact).id)
    assert item["contact"] == {
        "kind": "guest",
        "name": "Gina Guest",
        "email": "gina@visitor.example",
        "email_confirmed": False,
        "external_id": None,
    }
    # Reply emails go to the user's email: none until the guest confirms the address.
    assert item["user_email"] == ""


def test_an_identified_persons_chat_carries_the_host_sites_id(api: Any, admin: Any) -> None:
    identified(sub="shop-4417", email="ida@shop.example", name="Ida Shopper")
    [item] = api(admin).get("/admin/chats").json()["items"]
    assert item["contact"] == {
        "kind": "identified",
        "name": "Ida Shopper",
        "email": "ida@shop.example",
        "email_confirmed": True,
        "external_id": "shop-4417",
    }
    assert item["user_email"] == "ida@shop.example"


def test_a_desk_users_chat_has_no_contact(api: Any, admin: Any, say: Any) -> None:
    say("hello")
    [item] = api(admin).get("/admin/chats").json()["items"]
    assert item["contact"] is None
    assert item["user_email"] == "ann@example.com"


def test_the_detail_carries_the_contact(api: Any, admin: Any) -> None:
    contact = identified()
    body = api(admin).get(f"/admin/chats/{chat_of(contact).id}").json()
    assert body["contact"]["external_id"] == "shop-4417"
    assert [m["content"] for m in body["messages"]] == ["Where is order 4417?"]


def test_archiving_answers_and_announces_the_contact(
    api: Any, admin: Any, announced: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    chat = chat_of(guest())
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(admin).post(f"/admin/chats/{chat.id}/archive").json()
    assert answer["contact"]["kind"] == "guest"
    [event] = [e for group, e in announced if group == ADMINS_GROUP]
    assert event["type"] == EventType.CHAT_ARCHIVED
    assert event["chat"]["contact"]["name"] == "Gina Guest"


@pytest.mark.parametrize("size", [3, 120])
def test_the_list_of_contacts_runs_a_fixed_number_of_queries(
    api: Any, admin: Any, size: int, django_assert_max_num_queries: Any
) -> None:
    make_contact_chats(size)
    session = api(admin)
    session.get("/admin/chats")  # warm up the session and the user lookup
    with CaptureQueriesContext(connection) as queries:
        items = session.get("/admin/chats", limit=50).json()["items"]
    assert len(items) == min(size, 50)
    assert all(item["contact"] for item in items)
    # The user and the page itself (the session comes from Redis); nothing per chat or contact.
    assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]


def test_searching_contacts_runs_a_fixed_number_of_queries(
    api: Any, admin: Any, django_assert_max_num_queries: Any
) -> None:
    make_contact_chats(80)
    session = api(admin)
    session.get("/admin/chats")
    with django_assert_max_num_queries(3):
        items = session.get("/admin/chats", q="guest").json()["items"]
    assert len(items) == 40


# --- Search --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        "gina guest",  # the name, any case
        "GINA@VISITOR",  # the address as given, unconfirmed
        "ida shop",
        "ida@shop.example",
        "shop-4417",  # the host site's id
    ],
)
def test_search_finds_contacts_by_name_email_or_host_id(api: Any, admin: Any, q: str) -> None:
    gina, ida = guest(), identified()
    make_chats(3)
    expected = {str(chat_of(gina if "gina" in q.lower() else ida).id)}
    found = {item["id"] for item in api(admin).get("/admin/chats", q=q).json()["items"]}
    assert found == expected


def test_search_still_finds_desk_users_by_email(api: Any, admin: Any, say: Any) -> None:
    say("hello")
    guest()
    [item] = api(admin).get("/admin/chats", q="ann@").json()["items"]
    assert item["user_email"] == "ann@example.com"


def test_search_on_the_page_finds_a_guest_by_name(admin: Any) -> None:
    gina = guest()
    make_chats(3)
    response = browser(admin).get(LIST, {"q": "Gina"})
    assert card_ids(response) == [str(chat_of(gina).id)]
    assert "Chats whose email, name or ID contains" in text_of(response)


# --- The pages -----------------------------------------------------------------------------------


def test_a_guests_card_is_marked_and_shows_name_and_unconfirmed_address(admin: Any) -> None:
    guest(name="Gina Guest", email="gina@visitor.example")
    page = browser(admin).get(LIST).text
    assert '<span class="badge guest-badge" data-field="guest">Guest</span>' in page
    assert '<span class="chat-name" dir="auto" data-field="name">Gina Guest</span>' in page
    assert 'data-field="email">gina@visitor.example</span>' in page
    assert '<span class="unconfirmed" data-field="unconfirmed">unconfirmed</span>' in page


def test_an_identified_persons_card_shows_the_host_id_and_no_guest_marker(admin: Any) -> None:
    identified(sub="shop-4417")
    page = browser(admin).get(LIST).text
    assert 'ID <bdi data-field="external-id-value">shop-4417</bdi>' in page
    assert 'data-field="guest" hidden>Guest' in page
    assert 'data-field="unconfirmed" hidden>' in page


def test_a_guest_who_gave_nothing_is_shown_as_anonymous(admin: Any) -> None:
    guest(name="", email="")
    page = browser(admin).get(LIST).text
    assert '<span class="chat-name" dir="auto" data-field="name">Anonymous</span>' in page


def test_a_desk_users_card_shows_only_the_email(admin: Any, say: Any) -> None:
    say("hello")
    page = browser(admin).get(LIST).text
    assert 'data-field="email">ann@example.com</span>' in page
    assert 'data-field="guest" hidden>Guest' in page
    assert 'data-field="name" hidden>' in page


@pytest.mark.parametrize("size", [3, 60])
def test_the_page_of_contacts_runs_a_fixed_number_of_queries(
    admin: Any, size: int, django_assert_max_num_queries: Any
) -> None:
    make_contact_chats(size)
    session = browser(admin)
    with django_assert_max_num_queries(3):
        response = session.get(LIST)
    assert len(card_ids(response)) == min(size, 50)


def test_the_detail_of_a_guest_shows_who_they_are(admin: Any) -> None:
    chat = chat_of(guest(name="Gina Guest", email="gina@visitor.example"))
    response = browser(admin).get(detail(chat))
    assert '<h1 dir="auto">Gina Guest</h1>' in response.text
    assert '<span class="badge guest-badge">Guest</span>' in response.text
    details = text_of(response)
    assert "A guest of the embedded chat · gina@visitor.example unconfirmed" in details
    # Their messages are signed with their name.
    assert '<span class="sender" data-field="sender">Gina Guest</span>' in response.text


def test_the_detail_of_an_identified_person_shows_the_host_id(admin: Any) -> None:
    chat = chat_of(identified(sub="shop-4417", email="ida@shop.example", name="Ida Shopper"))
    response = browser(admin).get(detail(chat))
    assert '<h1 dir="auto">Ida Shopper</h1>' in response.text
    assert "Signed in on your site · ida@shop.example · ID shop-4417" in text_of(response)
    assert "unconfirmed" not in text_of(response)
    assert "guest-badge" not in response.text


def test_the_detail_gives_the_script_the_contacts_name_for_new_messages(admin: Any) -> None:
    chat = chat_of(guest(name="Gina Guest"))
    assert '"userLabel": "Gina Guest"' in browser(admin).get(detail(chat)).text


def test_the_detail_of_a_desk_user_is_as_before(admin: Any, say: Any, chat: Any) -> None:
    say("hello")
    response = browser(admin).get(detail(chat))
    assert '<h1 dir="auto">ann@example.com</h1>' in response.text
    assert "data-person" not in response.text


def test_a_contacts_name_is_text_in_the_list_and_the_detail(admin: Any) -> None:
    chat = chat_of(guest(name='<img src=x onerror="alert(1)">'))
    session = browser(admin)
    for page in (session.get(LIST).text, session.get(detail(chat)).text):
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_a_contacts_name_cannot_close_the_pages_configuration_script(admin: Any) -> None:
    chat = chat_of(guest(name="</script><script>alert(1)</script>"))
    assert "</script><script>alert(1)" not in browser(admin).get(detail(chat)).text


def test_opening_a_guests_chat_marks_it_viewed_as_any_other(admin: Any) -> None:
    chat = chat_of(guest())
    browser(admin).get(detail(chat))
    chat.refresh_from_db()
    assert chat.admin_viewed_at is not None
    assert services.chat_for_user(user=chat.user) == chat
