"""A NUL anywhere in a request's path or query string: 400 (the API: its 422), never a 500.

PostgreSQL refuses NUL in a query, so before desk.middleware.RejectNulMiddleware a NUL that
reached one (an admin list filter) was a 500 there; SQLite compared it quietly. Run on both.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client

from desk.middleware import NUL_DETAIL


@pytest.fixture
def staff_browser(db: None) -> Client:
    """A superuser in the Django admin: every list and filter is open to them."""
    superuser = get_user_model().objects.create_superuser(
        username="root@example.com", email="root@example.com", password="pw-for-tests"
    )
    browser = Client()
    browser.force_login(superuser)
    return browser


@pytest.mark.parametrize(
    "path",
    [
        "/admin/chats/supportmessage/?sender_type=%00",
        "/admin/chats/supportmessage/?sender_type=a%00b",
        "/admin/chats/supportchat/?q=%00",
        "/admin/chats/supportmessage/?%00=1",
        "/admin/chats/supportchat/%00/change/",
    ],
)
def test_a_nul_in_an_admin_page_is_refused_with_400(path: str, staff_browser: Client) -> None:
    response = staff_browser.get(path)

    assert response.status_code == 400
    assert response.content.decode() == NUL_DETAIL


def test_a_nul_in_a_page_query_is_refused_with_400(db: None) -> None:
    assert Client().get("/accounts/login/?next=%00").status_code == 400


def test_the_400_carries_the_security_middlewares_headers(db: None) -> None:
    response = Client().get("/accounts/login/?next=%00")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_a_nul_in_an_api_query_parameter_gets_the_apis_422_naming_it(console: Client) -> None:
    response = console.get("/api/admin/chats?archived=false&cursor=%00")

    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["query", "cursor"], "msg": NUL_DETAIL, "type": "invalid"}]
    }


def test_a_nul_in_an_api_path_gets_the_apis_422_naming_the_parameter(console: Client) -> None:
    response = console.get("/api/admin/chats/%00/messages")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "chat_id"]


@pytest.mark.asyncio
async def test_a_nul_in_an_api_query_is_refused_on_the_async_path_too() -> None:
    # Refused before authentication, so anonymous and without the database.
    response = await AsyncClient().get("/api/support_chat/messages", {"after": "\x00"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "after"]


def test_a_request_without_nul_passes_the_guard(console: Client) -> None:
    assert console.get("/api/admin/chats?q=ann").status_code == 200
