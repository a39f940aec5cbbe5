"""The widget on a customer's page with a strict Content-Security-Policy of its own, in Chromium.

The widget talks to desk with the visitor's session on the page's own origin (relative API paths,
a socket to the page's host), so a site embeds it by serving its pages and desk on one origin: its
front proxy sends /static/, /api/ and /ws/ to desk. Here that site is a real server of its own
(tests/browser/other_site.py) that serves its page with its own CSP header and passes every other
request through to the real desk. The page's policy names the origin explicitly instead of 'self',
exactly as README's "Content-Security-Policy on the host page" lists the directives, so the test
proves that list is enough.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import VIEWPORT, Rest
from tests.browser.csp_watch import reported, watch
from tests.browser.other_site import Page as SitePage
from tests.browser.other_site import Site, other_site
from tests.live import LiveDesk

pytestmark = pytest.mark.asyncio

HOST_PAGE = "/acme/"
# The control: an inline script the page's CSP must block (no nonce, no 'unsafe-inline').
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme</title></head>
<body><h1>Acme Store</h1><p>Questions? Ask us in the chat.</p>
<script>document.title = "inline script ran";</script>
<script src="{origin}/static/chats/widget.js" defer></script>
</body></html>
"""


def host_policy(origin: str, *, sockets: bool = True) -> str:
    """The host page's own CSP: nothing but what the widget needs from desk."""
    ws = origin.replace("http://", "ws://", 1)
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {origin}",
            f"style-src {origin}",
            f"connect-src {origin}" + (f" {ws}" if sockets else ""),
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@contextlib.contextmanager
def customer_site(live: LiveDesk, *, sockets: bool) -> Iterator[Site]:
    """The customer's site, desk behind it, its page served under `host_policy`."""
    pages: dict[str, SitePage] = {}
    with other_site(pages, upstream=live.a.port) as site:
        pages[HOST_PAGE] = SitePage(
            PAGE.format(origin=site.origin),
            headers={"Content-Security-Policy": host_policy(site.origin, sockets=sockets)},
        )
        yield site


@pytest.fixture(scope="module")
def strict_site(live: LiveDesk) -> Iterator[Site]:
    with customer_site(live, sockets=True) as site:
        yield site


@pytest.fixture(scope="module")
def socketless_site(live: LiveDesk) -> Iterator[Site]:
    with customer_site(live, sockets=False) as site:
        yield site


async def visitor_on(browser: Browser, live: LiveDesk, site: Site, name: str) -> Page:
    """`name`, logged in (desk's session cookie is the host's), on the customer's page."""
    context = await browser.new_context(base_url=site.origin, viewport=VIEWPORT)
    await context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": live.cookies[name],
                "domain": "127.0.0.1",
                "path": "/",
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    return await context.new_page()


async def test_the_widget_works_on_a_host_page_with_a_strict_csp_of_its_own(
    browser: Browser,
    live: LiveDesk,
    rest: Rest,
    strict_site: Site,
    fresh_user: Callable[[], str],
) -> None:
    user = fresh_user()
    page = await visitor_on(browser, live, strict_site, user)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    violations = await watch(page)
    response = await page.goto(HOST_PAGE)
    assert response is not None
    assert (await response.all_headers())["content-security-policy"].startswith(
        "default-src 'none'"
    )

    await page.get_by_role("button", name=re.compile("^Open support chat")).click()
    await expect(page.locator(".dot")).to_have_attribute("data-state", "connected")
    await page.get_by_role("textbox", name="Message to support").fill("Do you ship to Norway?")
    await page.keyboard.press("Enter")
    # Stored, not just shown: a typed message is drawn at once as pending until the server has it.
    await expect(page.locator(".log .user:not(.pending) .bubble")).to_have_text(
        ["Do you ship to Norway?"]
    )

    assert [m["content"] for m in await rest.messages(user)] == ["Do you ship to Norway?"]
    # The page's policy is in force (its own inline script was blocked), and blocked nothing else.
    assert await page.title() == "Acme"
    assert await reported(page) == ["script-src-elem blocked inline"]
    assert len(violations) == 1, violations
    assert errors == []


async def test_a_host_csp_that_leaves_out_the_ws_origin_blocks_the_widgets_socket(
    browser: Browser,
    live: LiveDesk,
    socketless_site: Site,
    fresh_user: Callable[[], str],
) -> None:
    page = await visitor_on(browser, live, socketless_site, fresh_user())
    await watch(page)
    await page.goto(HOST_PAGE)

    ws = socketless_site.origin.replace("http://", "ws://", 1)
    await page.wait_for_function(
        "(ws) => window.__cspViolations.some((v) => v.startsWith(`connect-src blocked ${ws}/ws/`))",
        arg=ws,
    )
    await expect(page.locator(".dot")).not_to_have_attribute("data-state", "connected")
