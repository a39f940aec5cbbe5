"""Requests another site makes with the visitor's cookies are refused: CSRF, origins, cookies.

The mutating endpoints are taken from the authorization matrix's rows (which follow the URL
configuration), so a new form or API operation is checked here as soon as it has its row.
"""

from __future__ import annotations

import json
import runpy
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

import desk.settings
from tests.security.conftest import FIGURES, World
from tests.security.test_authorization_matrix import ROWS, Case, socket_outcome

# The token in the link is the credential: mailbox providers post here with no session and no
# CSRF token (RFC 8058 one-click unsubscribe). And the embedded widget's own endpoints read no
# cookie at all: their credential is in the body or the Authorization header, which another site
# cannot make a visitor's browser send (the matrix holds that a session gets nothing there).
# Nothing else is exempt.
CSRF_EXEMPT = {
    "/email/u/<str:token>",
    "POST /api/embed/token",
    "POST /api/embed/guests",
    "PATCH /api/embed/me",
}
FOREIGN_ORIGIN = "https://evil.example"
FORM = "application/x-www-form-urlencoded"

MUTATING = [
    pytest.param(route, case, id=f"{case.method} {route} {case.variant}".strip())
    for route, cases in sorted(ROWS.items())
    for case in cases
    if case.method != "GET" and route not in CSRF_EXEMPT
]


def strict_browser(user: Any) -> tuple[Client, str]:
    """A logged-in browser that enforces CSRF as real ones do, and its CSRF token."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/accounts/login/")  # any page with a form sets the CSRF cookie
    return browser, browser.cookies["csrftoken"].value


def send(browser: Client, case: Case, world: World, **headers: str) -> Any:
    url = case.url(world)
    if case.json is not None:
        data = case.json(world) if callable(case.json) else case.json
        body, content_type = json.dumps(data), "application/json"
    else:
        form = (case.form(world) if callable(case.form) else case.form) or {"content": "Hi"}
        if case.method == "POST":
            # Multipart, as a browser posts a form (one with a file, an upload, included).
            return browser.post(url, form, headers=headers)
        body, content_type = urlencode(form), FORM
    return browser.generic(case.method, url, body, content_type, headers=headers)


def allowed_role(case: Case) -> str:
    """Someone the endpoint would serve: the check must be CSRF's, not a permission refusal."""
    return "admin" if case.expect["admin"].status < 400 else "owner"


@pytest.mark.parametrize(("route", "case"), MUTATING)
def test_a_mutating_request_without_the_csrf_token_is_refused(
    route: str, case: Case, world: World
) -> None:
    browser, _ = strict_browser(getattr(world, allowed_role(case)))
    response = send(browser, case, world)
    FIGURES["CSRF: mutating requests refused without a token"] += 1
    assert response.status_code == 403, response.content[:300]
    assert b"CSRF" in response.content


@pytest.mark.parametrize(("route", "case"), MUTATING)
def test_a_mutating_request_from_a_foreign_origin_is_refused_even_with_the_token(
    route: str, case: Case, world: World
) -> None:
    browser, token = strict_browser(getattr(world, allowed_role(case)))
    response = send(browser, case, world, X_CSRFToken=token, Origin=FOREIGN_ORIGIN)
    assert response.status_code == 403, response.content[:300]


@pytest.mark.parametrize(("route", "case"), MUTATING)
def test_a_mutating_request_with_the_token_gets_its_matrix_answer(
    route: str, case: Case, world: World
) -> None:
    role = allowed_role(case)
    browser, token = strict_browser(getattr(world, role))
    response = send(browser, case, world, X_CSRFToken=token)
    assert response.status_code == case.expect[role].status, response.content[:300]


def test_the_login_form_refuses_a_post_without_the_csrf_token(world: World) -> None:
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/accounts/login/", {"username": world.owner.username, "password": "pw-for-tests"}
    )
    assert response.status_code == 403


def test_one_click_unsubscribe_needs_no_session_and_no_token(world: World) -> None:
    response = Client(enforce_csrf_checks=True).post(
        f"/email/u/{world.unsubscribe_token}", "List-Unsubscribe=One-Click",
        "application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 200


# --- Sockets: the browser's Origin ---------------------------------------------------------------


@pytest.fixture
def owner_cookie(world: World, browsers: dict[str, Client]) -> str:
    return str(browsers["owner"].cookies["sessionid"].value)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [
        FOREIGN_ORIGIN,
        "http://testserver.evil.example",
        "http://testserver:9999",
        "https://testserver",
        "null",
        None,
    ],
    ids=[
        "another site",
        "a look-alike host",
        "another port of the same host",
        "the same host over another scheme",
        "null (sandboxed page)",
        "no Origin header",
    ],
)
async def test_a_socket_opened_from_another_origin_is_refused(
    origin: str | None, world: World, owner_cookie: str
) -> None:
    from chats import ratelimit

    try:
        outcome = await socket_outcome(f"/ws/support_chat/{world.chat.id}/", owner_cookie, origin)
    finally:
        await ratelimit.close()
    FIGURES["origin: foreign-origin sockets refused"] += 1
    assert outcome == 403


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_opened_from_the_sites_own_origin_is_accepted(
    world: World, owner_cookie: str
) -> None:
    from chats import ratelimit

    try:
        outcome = await socket_outcome(f"/ws/support_chat/{world.chat.id}/", owner_cookie)
    finally:
        await ratelimit.close()
    assert outcome == 1000


# --- Cookies -------------------------------------------------------------------------------------


@pytest.fixture
def login_cookies(world: World) -> SimpleCookie:
    """The cookies a real login sets (the form, its CSRF token, the password)."""
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")
    response = browser.post(
        "/accounts/login/",
        {
            "username": world.owner.username,
            "password": "pw-for-tests",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302
    return response.cookies


def test_the_session_cookie_is_httponly_samesite_lax_and_secure(
    login_cookies: SimpleCookie,
) -> None:
    session = login_cookies["sessionid"]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert session["secure"] is True


def test_the_csrf_cookie_is_samesite_lax_and_secure_and_readable_by_the_widget(
    login_cookies: SimpleCookie,
) -> None:
    csrf = login_cookies["csrftoken"]
    assert csrf["samesite"] == "Lax"
    assert csrf["secure"] is True
    # widget.js reads it to send X-CSRFToken.
    assert not csrf["httponly"]


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Evaluate desk/settings.py afresh with these environment variables."""

    def load(**env: str) -> dict[str, Any]:
        for name in ("DEBUG", "SITE_URL", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DESK_DATA_DIR", str(tmp_path))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(desk.settings.__file__)

    return load


def test_cookies_are_not_secure_only_in_debug_so_http_localhost_works(load: Any) -> None:
    loaded = load(DEBUG="true")
    assert loaded["SESSION_COOKIE_SECURE"] is False
    assert loaded["CSRF_COOKIE_SECURE"] is False
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True


def test_cookies_are_secure_only_outside_debug(load: Any) -> None:
    loaded = load(DEBUG="false")
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
