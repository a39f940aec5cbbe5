"""In Chromium: a page of another app on desk's host cannot open an admin's socket with her cookies.

Cookies belong to a host, not to a port, so a page on `http://127.0.0.1:<other port>` that opens
`ws://127.0.0.1:<desk's port>/ws/admin/notifications/` sends the admin's session cookie along. Its
Origin names another port, which REST's CSRF check refuses, and so must the socket
(desk/runtime/origins.py).
The same script, run on a page of desk's own origin, connects and receives the admins' events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.async_api import Page

from tests.browser.conftest import PageFor, Rest
from tests.browser.other_site import Page as SitePage
from tests.browser.other_site import Site, other_site
from tests.live import LiveDesk

pytestmark = pytest.mark.asyncio

FEED = "/ws/admin/notifications/"

# Opens the admins' feed; `outcome` settles with the first event's type, or how the socket closed.
PROBE = """
window.probe = (url) => {
  window.outcome = new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.onopen = () => { window.opened = true; };
    socket.onmessage = (message) => {
      resolve("event " + JSON.parse(message.data).type);
      socket.close();
    };
    socket.onclose = (close) => {
      resolve((window.opened ? "closed after opening " : "refused ") + close.code);
    };
  });
};
const target = new URLSearchParams(location.search).get("ws");
if (target) window.probe(target);
"""
ATTACK = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another app on the same host</title></head>
<body><h1>Another app</h1><script src="/probe.js"></script></body></html>
"""


@pytest.fixture(scope="module")
def attacker() -> Iterator[Site]:
    with other_site(
        {"/": SitePage(ATTACK), "/probe.js": SitePage(PROBE, "text/javascript")}
    ) as site:
        yield site


async def outcome(page: Page, rest: Rest, user: str) -> str:
    """Once the socket opened, a user writes to support; what the probe saw."""
    await page.wait_for_function("() => window.outcome !== undefined")
    opened = await page.evaluate(
        "() => Promise.race([window.outcome.then(() => false),"
        " new Promise((resolve) => { const t = setInterval(() => {"
        " if (window.opened) { clearInterval(t); resolve(true); } }, 50); })])"
    )
    if opened:
        await rest(user, "POST", "/api/support_chat/messages", {"content": "Where is my order?"})
    return str(await page.evaluate("() => window.outcome"))


async def test_a_page_on_another_port_of_desks_host_cannot_open_an_admins_socket(
    page_for: PageFor, live: LiveDesk, rest: Rest, attacker: Site, fresh_user: Callable[[], str]
) -> None:
    admin = await page_for("alice")
    await admin.goto(attacker.url("/?ws=" + live.a.url(FEED)))
    assert await admin.evaluate("() => location.origin") == attacker.origin
    # The session cookie is for 127.0.0.1, so the handshake carries it: only the Origin differs.
    cookies = await admin.context.cookies(live.a.origin)
    assert any(cookie["name"] == "sessionid" for cookie in cookies)

    seen = await outcome(admin, rest, fresh_user())

    assert seen.startswith("refused "), seen


async def test_the_same_script_on_desks_own_origin_receives_the_admins_events(
    page_for: PageFor, live: LiveDesk, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    admin = await page_for("alice")
    await admin.goto("/accounts/login/")
    await admin.evaluate(PROBE)
    await admin.evaluate("(url) => window.probe(url)", live.a.url(FEED))

    seen = await outcome(admin, rest, fresh_user())

    assert seen.startswith("event "), seen
