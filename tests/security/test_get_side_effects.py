"""Opening a chat marks it viewed, but not when another site sent the admin's browser there.

Both edges that open a chat (the REST detail and the dashboard page) are played: a cross-site
navigation is served in full and changes nothing (no viewed time, no audit row, no `chat_viewed`
broadcast); desk's own pages, a typed URL and non-browser clients mark the chat as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from chats.models import ChatAuditEntry, SupportChat
from chats.realtime.protocol import ADMINS_GROUP, Delivery

pytestmark = pytest.mark.django_db

Open = Callable[..., Any]


@dataclass(frozen=True)
class Effects:
    viewed: bool
    audit_rows: int
    broadcasts: int


def viewed_broadcasts(announced: list[Delivery]) -> int:
    """chat_viewed events sent to the admins' dashboards."""
    return sum(
        1 for group, event in announced if group == ADMINS_GROUP and event["type"] == "chat_viewed"
    )


@pytest.fixture(params=["api", "page"])
def open_chat(
    request: pytest.FixtureRequest,
    admin: Any,
    chat: SupportChat,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., Effects]:
    """`open_chat(**headers)`: the admin opens the chat (REST detail or dashboard page) with
    these request headers; the answer must be served in full; returns what the opening did."""
    browser = Client()
    browser.force_login(admin)
    url = f"/api/admin/chats/{chat.id}" if request.param == "api" else f"/desk/chats/{chat.id}/"

    def opened(**headers: str) -> Effects:
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.get(url, headers=headers)
        assert response.status_code == 200, response.content[:300]
        assert str(chat.id) in response.text
        chat.refresh_from_db()
        return Effects(
            viewed=chat.admin_viewed_at is not None,
            audit_rows=ChatAuditEntry.objects.filter(chat=chat).count(),
            broadcasts=viewed_broadcasts(announced),
        )

    return opened


NOTHING = Effects(viewed=False, audit_rows=0, broadcasts=0)
MARKED = Effects(viewed=True, audit_rows=1, broadcasts=1)


def test_a_cross_site_navigation_is_served_and_marks_nothing(open_chat: Open) -> None:
    assert open_chat(**{"Sec-Fetch-Site": "cross-site"}) == NOTHING


def test_a_request_from_a_sibling_subdomain_marks_nothing(open_chat: Open) -> None:
    assert open_chat(**{"Sec-Fetch-Site": "same-site"}) == NOTHING


def test_a_request_from_desks_own_pages_marks_the_chat_viewed(open_chat: Open) -> None:
    assert open_chat(**{"Sec-Fetch-Site": "same-origin"}) == MARKED


def test_a_typed_url_or_a_bookmark_marks_the_chat_viewed(open_chat: Open) -> None:
    assert open_chat(**{"Sec-Fetch-Site": "none"}) == MARKED


def test_a_client_that_sends_no_browser_headers_marks_the_chat_viewed(open_chat: Open) -> None:
    assert open_chat() == MARKED


def test_sec_fetch_site_outranks_an_origin_that_looks_like_desks(open_chat: Open) -> None:
    assert open_chat(**{"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"}) == NOTHING


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "null", "http://testserver.evil.example", "https://testserver"],
)
def test_a_foreign_origin_without_sec_fetch_site_marks_nothing(
    open_chat: Open, origin: str
) -> None:
    assert open_chat(Origin=origin) == NOTHING


def test_desks_own_origin_without_sec_fetch_site_marks_the_chat_viewed(open_chat: Open) -> None:
    assert open_chat(Origin="http://testserver") == MARKED


@pytest.mark.parametrize(
    "referer",
    ["https://evil.example/page", "http://testserver.evil.example/", "not a url", "http://["],
)
def test_a_foreign_or_broken_referer_without_sec_fetch_site_marks_nothing(
    open_chat: Open, referer: str
) -> None:
    assert open_chat(Referer=referer) == NOTHING


def test_a_referer_from_desks_own_pages_marks_the_chat_viewed(open_chat: Open) -> None:
    assert open_chat(Referer="http://testserver/desk/?archived=1") == MARKED


def test_an_origin_in_csrf_trusted_origins_marks_the_chat_viewed(
    open_chat: Open, settings: Any
) -> None:
    # A wildcard entry: the check is Django's own, subdomain matching included.
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    assert open_chat(Origin="https://dashboard.example.com") == MARKED


def test_a_referer_from_a_trusted_origin_marks_the_chat_viewed(
    open_chat: Open, settings: Any
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://support.example.com"]
    assert open_chat(Referer="https://support.example.com/inbox") == MARKED
