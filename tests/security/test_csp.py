"""desk's pages carry a strict Content-Security-Policy (SECURE_CSP in desk/settings.py).

Injected markup cannot run script: scripts come from desk's origin or carry the response's nonce,
and no page of desk may be framed. Every inline <script> and <style> desk's own templates render
carries that nonce, so the policy blocks nothing of desk's. tests/browser/test_csp_pages.py checks
the same pages in Chromium.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

import desk.settings
from tests.conftest import make_user
from tests.security.conftest import World

# Every kind of page desk serves, and who looks at it.
PAGES: dict[str, tuple[str, Callable[[World], str]]] = {
    "demo page": ("anonymous", lambda world: "/"),
    "login": ("anonymous", lambda world: "/accounts/login/"),
    "dashboard list": ("admin", lambda world: "/desk/"),
    "dashboard chat": ("admin", lambda world: f"/desk/chats/{world.chat.id}/"),
    "email: unsubscribe": ("anonymous", lambda world: f"/email/u/{world.unsubscribe_token}"),
    "email: broken link": ("anonymous", lambda world: "/email/open/not-a-token/"),
    "email: another account's link": ("other", lambda world: f"/email/open/{world.open_token}/"),
    "Django admin login": ("anonymous", lambda world: "/admin/login/"),
    "Django admin list": ("superuser", lambda world: "/admin/chats/supportchat/"),
    "Django admin form": (
        "superuser",
        lambda world: f"/admin/chats/supportchat/{world.chat.id}/change/",
    ),
    "API docs": ("admin", lambda world: "/api/docs"),
    "API": ("admin", lambda world: "/api/admin/chats"),
    "not found": ("anonymous", lambda world: "/no-such-page/"),
}


def policy(response: Any) -> dict[str, list[str]]:
    """The enforced policy, directive -> sources."""
    header = response.headers["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


class InlineCode(HTMLParser):
    """The nonce of every inline <script> (that a browser would run) and <style> on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.nonces: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        data_block = (values.get("type") or "").split(";")[0].strip() == "application/json"
        if (tag == "script" and "src" not in values and not data_block) or tag == "style":
            self.nonces.append(values.get("nonce"))


def fetch(name: str, world: World, browsers: dict[str, Client]) -> Any:
    role, url = PAGES[name]
    if role == "superuser" and role not in browsers:
        # Django admin's own pages (change lists, forms) need a superuser, not only staff.
        browsers[role] = Client()
        browsers[role].force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    response = browsers[role].get(url(world))
    assert response.status_code < 500, response.status_code
    return response


@pytest.mark.parametrize("name", PAGES)
def test_each_kind_of_page_is_sent_with_the_content_security_policy(
    name: str, world: World, browsers: dict[str, Client]
) -> None:
    assert "default-src" in policy(fetch(name, world, browsers))


@pytest.mark.parametrize("name", PAGES)
def test_no_page_lets_an_injected_inline_script_run(
    name: str, world: World, browsers: dict[str, Client]
) -> None:
    sources = policy(fetch(name, world, browsers))["script-src"]
    assert "'unsafe-inline'" not in sources
    assert "'unsafe-eval'" not in sources
    assert all(source == "'self'" or source.startswith("'nonce-") for source in sources), sources


@pytest.mark.parametrize("name", PAGES)
def test_every_inline_script_and_style_on_a_page_carries_the_responses_nonce(
    name: str, world: World, browsers: dict[str, Client]
) -> None:
    response = fetch(name, world, browsers)
    found = InlineCode()
    found.feed(response.content.decode())
    if not found.nonces:
        return
    sources = policy(response)
    nonces = {f"'nonce-{nonce}'" for nonce in found.nonces}
    assert len(nonces) == 1, found.nonces
    assert nonces <= set(sources["script-src"]) & set(sources["style-src"])


def test_the_demo_page_style_has_the_nonce_the_policy_names(
    world: World, browsers: dict[str, Client]
) -> None:
    # The check above, on a page known to have an inline <style>: it must not pass vacuously.
    response = fetch("demo page", world, browsers)
    found = InlineCode()
    found.feed(response.content.decode())
    assert found.nonces
    assert f"'nonce-{found.nonces[0]}'" in policy(response)["style-src"]


def test_each_response_gets_a_nonce_of_its_own(world: World, browsers: dict[str, Client]) -> None:
    first = policy(fetch("demo page", world, browsers))["style-src"]
    second = policy(fetch("demo page", world, browsers))["style-src"]
    assert first != second


def test_no_site_may_frame_a_page_of_desk(world: World, browsers: dict[str, Client]) -> None:
    assert policy(fetch("dashboard list", world, browsers))["frame-ancestors"] == ["'none'"]


def test_plugins_and_base_urls_are_refused(world: World, browsers: dict[str, Client]) -> None:
    found = policy(fetch("dashboard list", world, browsers))
    assert found["object-src"] == ["'none'"]
    assert found["base-uri"] == ["'none'"]


def test_pages_may_open_sockets_to_desks_own_host(
    world: World, browsers: dict[str, Client], settings: Any
) -> None:
    sources = policy(fetch("dashboard list", world, browsers))["connect-src"]
    site = urlsplit(settings.SITE_URL)
    assert "'self'" in sources
    assert f"{'wss' if site.scheme == 'https' else 'ws'}://{site.netloc}" in sources


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Evaluate desk/settings.py afresh with these environment variables."""

    def load(**env: str) -> dict[str, Any]:
        monkeypatch.setenv("DESK_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("SECRET_KEY", "test-not-a-secret")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(desk.settings.__file__)

    return load


def test_an_https_site_allows_its_sockets_over_wss(load: Callable[..., dict[str, Any]]) -> None:
    loaded = load(SITE_URL="https://support.example.com", DEBUG="false")
    assert "wss://support.example.com" in loaded["SECURE_CSP"]["connect-src"]
