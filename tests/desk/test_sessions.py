"""A session cookie of a shape Django never makes is no session (desk/sessions.py), never a 500.

Django looked up any key of 8 characters or more; one holding a NUL made PostgreSQL fail the
query, for a page and for a websocket alike. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chats.errors import CloseCode
from desk.asgi import application
from desk.sessions import SessionStore
from tests.realtime.conftest import ORIGIN, WebsocketCommunicator

NUL_KEY = "abcdefghijklmnopqrstuvwxyz01234\x00"


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(NUL_KEY, id="a NUL"),
        pytest.param("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", id="capitals"),
        pytest.param("abcdefgh-ijklmnop", id="punctuation"),
        pytest.param("abc", id="too short"),
    ],
)
def test_a_malformed_key_is_no_session_and_asks_nothing(
    key: str, db: None, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        store = SessionStore(session_key=key)
        assert store.session_key is None
        assert dict(store.items()) == {}


def test_a_key_django_made_still_finds_its_session(user: Any) -> None:
    browser = Client()
    browser.force_login(user)
    key = browser.cookies["sessionid"].value

    assert SessionStore(session_key=key).load()["_auth_user_id"] == str(user.pk)


def test_a_page_with_a_nul_in_the_session_cookie_is_served_to_an_anonymous_visitor(
    db: None,
) -> None:
    browser = Client()
    browser.cookies["sessionid"] = NUL_KEY

    response = browser.get("/desk/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_api_with_a_nul_in_the_session_cookie_answers_401(db: None) -> None:
    browser = Client()
    browser.cookies["sessionid"] = NUL_KEY

    assert browser.get("/api/support_chat").status_code == 401


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_with_a_nul_in_the_session_cookie_is_closed_as_anonymous() -> None:
    cookie = b'sessionid="' + NUL_KEY[:-1].encode() + b'\\000"'  # a NUL, as a cookie quotes it
    socket = WebsocketCommunicator(
        application, "/ws/admin/notifications/", [(b"origin", ORIGIN.encode()), (b"cookie", cookie)]
    )

    await socket.connect(within=5)
    closed = await socket.receive_output(5)
    await socket.send_input({"type": "websocket.disconnect", "code": closed.get("code", 1000)})
    await socket.wait(5)

    assert closed == {"type": "websocket.close", "code": CloseCode.UNAUTHENTICATED}
