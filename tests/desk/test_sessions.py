"""Sessions (desk/sessions.py): read from Redis, recorded in the database, never a 500.

A session cookie of a shape Django never makes is no session: Django looked up any key of 8
characters or more, and one holding a NUL made PostgreSQL fail the query, for a page and for a
websocket alike. A signed-in request reads its session from Redis; the database stays the record
(a row deleted through the ORM ends the session at once) and the fallback when Redis does not
answer. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

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


# --- Cached in Redis, recorded in the database ---------------------------------------------------

UNREACHABLE_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "sessions": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    },
}


def session_queries(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if "django_session" in query["sql"]]


def test_a_signed_in_request_reads_its_session_from_the_cache_not_the_database(user: Any) -> None:
    browser = Client()
    browser.force_login(user)

    with CaptureQueriesContext(connection) as captured:
        assert browser.get("/api/support_chat").status_code == 200

    assert session_queries(captured) == []


def test_a_session_missing_from_the_cache_is_read_from_the_database_and_cached(user: Any) -> None:
    browser = Client()
    browser.force_login(user)
    caches["sessions"].clear()

    with CaptureQueriesContext(connection) as first:
        assert browser.get("/api/support_chat").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert browser.get("/api/support_chat").status_code == 200

    assert len(session_queries(first)) == 1
    assert session_queries(second) == []


def test_a_session_deleted_from_the_database_ends_at_once(user: Any) -> None:
    # Django admin, clearsessions or a script deleting the row ends the session: the cached copy
    # goes with it.
    browser = Client()
    browser.force_login(user)
    assert browser.get("/api/support_chat").status_code == 200

    Session.objects.filter(session_key=browser.cookies["sessionid"].value).delete()

    assert browser.get("/api/support_chat").status_code == 401


def test_a_logout_ends_the_session_everywhere(user: Any) -> None:
    browser = Client()
    browser.force_login(user)
    key = browser.cookies["sessionid"].value

    browser.post("/accounts/logout/")

    assert not Session.objects.filter(session_key=key).exists()
    assert SessionStore(session_key=key).load() == {}


@override_settings(CACHES=UNREACHABLE_CACHE)
def test_without_redis_sessions_are_read_from_the_database(user: Any) -> None:
    browser = Client()
    browser.force_login(user)

    assert browser.get("/api/support_chat").status_code == 200


@override_settings(CACHES=UNREACHABLE_CACHE)
def test_without_redis_a_logout_still_ends_the_session(user: Any) -> None:
    browser = Client()
    browser.force_login(user)

    assert browser.post("/accounts/logout/").status_code in (200, 302)

    assert browser.get("/api/support_chat").status_code == 401


@pytest.mark.asyncio
async def test_every_socket_and_thread_shares_one_sessions_client() -> None:
    # Django's caches[alias] made one Redis client, with its own connection, per asyncio context:
    # one per open websocket.
    async def in_a_task_of_its_own() -> object:
        return SessionStore()._cache

    in_tasks = await asyncio.gather(*(in_a_task_of_its_own() for _ in range(3)))
    in_a_thread = await asyncio.to_thread(lambda: SessionStore()._cache)

    assert len({id(client) for client in [*in_tasks, in_a_thread]}) == 1
