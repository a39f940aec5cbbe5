"""The widget embedded on another site, in Chromium with third-party cookies blocked.

The shop is a real server of its own (tests/browser/other_site.py) at http://localhost:<port>, desk
is at http://127.0.0.1:<another port>: another host name and port, so another site, and the browser
keeps desk's cookies out of everything the shop's page does. Each visitor is a Chromium of its own
whose profile blocks third-party cookies (the first test proves the block is in force). The shop's
origin is in desk's DESK_EMBED_ORIGINS, and identity tokens are signed with desk's
DESK_IDENTITY_SECRET (tests/browser/conftest.py). Admins use desk's own pages in another browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import jwt
import pytest
import pytest_asyncio
from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    Route,
    WebSocketRoute,
    async_playwright,
    expect,
)
from playwright.async_api import Error as PlaywrightError

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    IDENTITY_SECRET,
    SHOP_PAGE,
    VIEWPORT,
    PageFor,
    Rest,
)
from tests.browser.csp_watch import reported, watch
from tests.browser.other_site import Page as SitePage
from tests.browser.other_site import Site, other_site
from tests.browser.test_dashboard import LIST, card, open_live
from tests.browser.test_widget import (
    bubbles,
    connected,
    cut_socket,
    eventually,
    open_widget,
    send,
)
from tests.faults.mail import written
from tests.live import LiveDesk, stop

pytestmark = pytest.mark.asyncio

# A fresh profile whose preferences block third-party cookies ("profile.cookie_controls_mode": 1);
# Chromium has no command-line switch that does it.
BLOCK_THIRD_PARTY_COOKIES = {"profile": {"cookie_controls_mode": 1}}
MESSAGES = re.compile(r"/api/support_chat/messages$")
NOT_THE_SHOPS_SECRET = "a-secret-of-the-right-length-but-not-the-shops"

SHOP_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Outdoor</title>
<style>
  body {{ margin: 0; font: 16px/1.5 Georgia, serif; color: #213; background: #f7f3ec; }}
  header {{ display: flex; align-items: center; gap: 16px; padding: 18px 48px; background: #1d3b2a;
    color: #f7f3ec; }}
  header strong {{ font-size: 22px; letter-spacing: .5px; }}
  header span {{ margin-left: auto; font: 13px/1.4 ui-monospace, monospace; opacity: .8; }}
  main {{ max-width: 760px; padding: 40px 48px; }}
  h1 {{ margin: 0 0 8px; font-size: 38px; }}
  .grid {{ display: grid; grid-template-columns: repeat(2, 1fr); gap: 18px; margin-top: 28px; }}
  .grid div {{ height: 120px; border-radius: 12px; background: #e5dccb; }}
</style></head>
<body>
<header><strong>Acme Outdoor</strong><span>this page: {origin} &middot; desk: {desk}</span></header>
<main><h1>Tents, stoves and boots</h1>
<p>{greeting} Questions about an order? Ask us in the chat.</p>
<div class="grid"><div></div><div></div><div></div><div></div></div></main>
<script src="{desk}/static/chats/widget.js" data-desk-url="{desk}"{identity} defer></script>
</body></html>
"""


def mint(sub: str, *, secret: str = IDENTITY_SECRET, lifetime: int = 3600, **claims: Any) -> str:
    """An identity token, as the shop's server signs it for its signed-in customer (PyJWT)."""
    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "iat": now, "exp": now + lifetime, **claims}, secret, algorithm="HS256"
    )


class Shop:
    """The host site: pages that embed desk's widget, on an origin other than desk's."""

    def __init__(self, site: Site, pages: dict[str, SitePage], desk: str) -> None:
        self.site = site
        self.pages = pages
        self.desk = desk

    @property
    def origin(self) -> str:
        return self.site.origin

    def page(
        self,
        path: str | None = None,
        *,
        identity: str | None = None,
        greeting: str = "Welcome!",
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve a page with the widget (for the person `identity` names, else a guest); its URL."""
        path = path or f"/pages/{uuid.uuid4().hex[:12]}/"
        attribute = f' data-desk-identity="{html.escape(identity)}"' if identity else ""
        self.pages[path] = SitePage(
            SHOP_HTML.format(
                origin=self.origin, desk=self.desk, identity=attribute, greeting=greeting
            ),
            headers=headers or {},
        )
        return self.site.url(path)


@pytest.fixture(scope="module")
def shop(live: LiveDesk, shop_port: int) -> Iterator[Shop]:
    pages: dict[str, SitePage] = {}
    with other_site(pages, host="localhost", port=shop_port) as site:
        yield Shop(site, pages, live.a.origin)


@pytest.fixture(scope="module")
def worker(live: LiveDesk) -> Iterator[None]:
    """A Celery worker on the live desk while this module runs: reply emails go out."""
    process = live.start_worker("embed-worker")
    yield
    stop(process)
    live.workers.remove(process)


Visitor = Callable[[], Awaitable[Page]]


@pytest_asyncio.fixture
async def visitor(tmp_path: Path) -> AsyncIterator[Visitor]:
    """`await visitor()`: a page in a browser of its own (its own profile, its own storage) that
    blocks third-party cookies. An uncaught JavaScript error on any of them fails the test."""
    errors: list[str] = []
    contexts: list[BrowserContext] = []
    async with async_playwright() as playwright:

        async def open_browser() -> Page:
            profile = tmp_path / f"profile-{len(contexts)}"
            (profile / "Default").mkdir(parents=True)
            (profile / "Default" / "Preferences").write_text(json.dumps(BLOCK_THIRD_PARTY_COOKIES))
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport=VIEWPORT,
            )
            contexts.append(context)
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            return page

        try:
            yield open_browser
        finally:
            for context in contexts:
                with contextlib.suppress(PlaywrightError):  # closed by the test already
                    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def first_message(page: Page, content: str) -> str:
    """Send the visitor's first message (it makes their chat); the new chat's id."""
    async with page.expect_response(
        lambda response: response.request.method == "POST" and bool(MESSAGES.search(response.url))
    ) as posted:
        await send(page, content)
    response: Response = await posted.value
    assert response.status == 201, await response.text()
    return str((await response.json())["chat_id"])


async def stored_contents(rest: Rest, chat_id: str) -> list[str]:
    chat = await rest("alice", "GET", f"/api/admin/chats/{chat_id}")
    return [message["content"] for message in chat["messages"]]


async def embed_call(
    live: LiveDesk, shop: Shop, method: str, path: str, body: Any = None, token: str = ""
) -> Any:
    """A request to desk as the shop's page makes it: its Origin, a desk token, no cookies."""

    def request() -> Any:
        headers = {"Origin": shop.origin, "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        call = urllib.request.Request(live.a.origin + path, data, headers, method=method)
        with urllib.request.urlopen(call, timeout=30) as answer:
            return json.loads(answer.read())

    return await asyncio.to_thread(request)


def guest_secrets(storage: dict[str, str]) -> list[str]:
    return [key for key in storage if key.startswith("desk-widget:") and key.endswith(":guest")]


async def local_storage(page: Page) -> dict[str, str]:
    return dict(await page.evaluate("() => ({...localStorage})"))


# --- The block on third-party cookies ------------------------------------------------------------


async def test_third_party_cookies_are_blocked_so_desks_cookie_never_reaches_it_from_the_shop(
    visitor: Visitor, live: LiveDesk, shop: Shop
) -> None:
    page = await visitor()
    # A cookie of desk's host that any request from another site would carry, were third-party
    # cookies allowed: SameSite=None (and so Secure; Chromium counts 127.0.0.1 as secure).
    await page.context.add_cookies(
        [
            {
                "name": "desk_probe",
                "value": "third-party",
                "domain": "127.0.0.1",
                "path": "/",
                "secure": True,
                "sameSite": "None",
            }
        ]
    )
    # The shop's <script src> to desk is a request with credentials: only the block keeps it out.
    async with page.expect_request(re.compile(r"/static/chats/widget\.js$")) as script:
        await page.goto(shop.page())
    from_the_shop = await (await script.value).all_headers()

    async with page.expect_request(re.compile(r"/static/chats/widget\.css$")) as own:
        await page.goto(live.a.origin + "/static/chats/widget.css")
    on_desks_own_pages = await (await own.value).all_headers()

    assert "desk_probe" not in from_the_shop.get("cookie", "")
    assert "desk_probe=third-party" in on_desks_own_pages.get("cookie", "")


# --- Guests ---------------------------------------------------------------------------------------


async def test_a_guest_asks_support_sees_the_reply_live_keeps_the_chat_on_reload_and_alone(
    visitor: Visitor, page_for: PageFor, rest: Rest, shop: Shop
) -> None:
    url = shop.page()
    page = await visitor()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    dashboard = await open_live(await page_for("alice"), LIST)
    await page.goto(url)
    await open_widget(page)
    await expect(page.locator(".dot")).to_have_attribute("data-state", "idle")
    # A page view makes no guest and no chat.
    assert not [request for request in requests if request.startswith("POST ")]

    chat_id = await first_message(page, "Do you ship tents to Norway?")

    # Support sees it live, marked as a guest's.
    await expect(card(dashboard, chat_id)).to_contain_text("Guest")
    await expect(card(dashboard, chat_id)).to_contain_text("Do you ship tents to Norway?")
    # The widget is live over its socket; support's reply shows up in it.
    await connected(page)
    await rest("alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": "We do!"})
    await expect(bubbles(page)).to_have_text(["Do you ship tents to Norway?", "We do!"])

    await page.reload()
    await open_widget(page)
    await expect(bubbles(page)).to_have_text(["Do you ship tents to Norway?", "We do!"])
    assert guest_secrets(await local_storage(page))

    stranger = await visitor()
    await stranger.goto(url)
    await open_widget(stranger)
    await expect(stranger.locator(".dot")).to_have_attribute("data-state", "idle")
    await expect(stranger.locator(".log .msg")).to_have_count(0)
    assert not guest_secrets(await local_storage(stranger))


async def test_a_guests_name_is_kept_in_the_browser_and_sent_with_the_first_message(
    visitor: Visitor, rest: Rest, shop: Shop
) -> None:
    url = shop.page()
    page = await visitor()
    await page.goto(url)
    await open_widget(page)
    await page.get_by_role("button", name="Add your name and email").click()
    await page.get_by_label("Your name").fill("Noor")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".who")).to_have_text("Chatting as Noor.")

    await page.reload()
    await open_widget(page)
    await expect(page.locator(".who")).to_have_text("Chatting as Noor.")
    chat_id = await first_message(page, "Is the blue stove back in stock?")

    chat = await rest("alice", "GET", f"/api/admin/chats/{chat_id}")
    assert (chat["contact"]["kind"], chat["contact"]["name"]) == ("guest", "Noor")


# --- Identified people ----------------------------------------------------------------------------


async def test_an_identified_customer_has_one_chat_keyed_by_their_id_on_every_device(
    visitor: Visitor, rest: Rest, shop: Shop
) -> None:
    laptop = await visitor()
    await laptop.goto(shop.page(identity=mint("shop-42", email="ida@example.com", name="Ida")))
    await open_widget(laptop)
    chat_id = await first_message(laptop, "Where is order 1042?")

    phone = await visitor()
    await phone.goto(shop.page(identity=mint("shop-42", email="ida@example.com", lifetime=600)))
    await open_widget(phone)

    await expect(bubbles(phone)).to_have_text(["Where is order 1042?"])
    chat = await rest("alice", "GET", f"/api/admin/chats/{chat_id}")
    assert chat["contact"]["kind"] == "identified"
    assert chat["contact"]["external_id"] == "shop-42"
    assert chat["user_email"] == "ida@example.com"
    assert await laptop.evaluate("() => localStorage.length") == 0


async def test_the_reply_email_goes_to_the_tokens_address_and_its_button_opens_the_shop_read(
    visitor: Visitor, rest: Rest, shop: Shop, live: LiveDesk, worker: None
) -> None:
    token = mint("shop-77", email="kim@example.com", name="Kim")
    # The shop's page for its signed-in customer, where reply emails take them back.
    shop.page(SHOP_PAGE, identity=token, greeting="Welcome back, Kim!")
    page = await visitor()
    await page.goto(shop.site.url(SHOP_PAGE))
    await open_widget(page)
    chat_id = await first_message(page, "Can I change my delivery address?")
    await page.context.close()  # Kim has left: the reply stays unread.

    replied = time.monotonic()
    reply = await rest(
        "alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": "Yes, send it here."}
    )
    sent = await mailed(live, "kim@example.com")

    assert sent is not None, "no reply email to the token's address within 30 s"
    assert time.monotonic() - replied >= 2  # DESK_REPLY_NOTIFICATION_DELAY
    button = open_link(sent, live)
    assert await read_at(rest, chat_id, reply["id"]) is None

    back = await visitor()
    await back.goto(button)
    assert back.url.startswith(shop.site.url(SHOP_PAGE)), back.url
    await expect(back.locator(".launcher")).to_have_attribute("aria-expanded", "true")
    await expect(back.locator(".log .admin .bubble")).to_have_text(["Yes, send it here."])
    assert await eventually(lambda: read_at(rest, chat_id, reply["id"]))


async def mailed(live: LiveDesk, address: str, within: float = 30) -> Message | None:
    """The first email to `address` the live desk writes within `within` seconds (the worker
    starts with the module and works through the session's earlier replies first)."""
    folder = Path(live.env["EMAIL_FILE_PATH"])
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = [m for m in await asyncio.to_thread(written, folder) if address in str(m["To"])]
        if found:
            return found[0]
        await asyncio.sleep(0.25)
    return None


def open_link(message: Message, live: LiveDesk) -> str:
    """The email's button: desk's click-back link."""
    text = " ".join(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message.walk()
        if part.get_content_type() in {"text/plain", "text/html"}
    )
    links = re.findall(re.escape(live.a.origin) + r"/email/open/[^\s\"'<>]+", text)
    assert links, text
    return str(links[0])


async def read_at(rest: Rest, chat_id: str, message_id: str) -> str | None:
    messages = (await rest("alice", "GET", f"/api/admin/chats/{chat_id}/messages"))["messages"]
    read: str | None = next(m["read_at"] for m in messages if m["id"] == message_id)
    return read


# --- A guest who signs in -------------------------------------------------------------------------


async def test_a_guest_who_signs_in_finds_their_guest_messages_in_their_chat_in_order(
    visitor: Visitor, rest: Rest, shop: Shop, live: LiveDesk
) -> None:
    token = mint("shop-88", email="lou@example.com", name="Lou")
    # The same person, signed in on another device, wrote before and between the guest messages.
    laptop = await embed_call(live, shop, "POST", "/api/embed/token", {"identity": token})

    async def from_the_laptop(content: str) -> None:
        body = {"content": content}
        path = "/api/support_chat/messages"
        await embed_call(live, shop, "POST", path, body, token=laptop["token"])

    await from_the_laptop("1 laptop: my tent pole broke")
    page = await visitor()
    await page.goto(shop.page())
    await open_widget(page)
    await first_message(page, "2 guest: it is the blue tent")
    await expect(page.locator(".log .msg:not(.pending)")).to_have_count(1)
    await from_the_laptop("3 laptop: bought in May")
    await send(page, "4 guest: I have the receipt")
    await expect(page.locator(".log .msg:not(.pending)")).to_have_count(2)

    # The shop's single-page app signs the visitor in.
    await page.evaluate("(token) => window.DeskWidget.identify(token)", token)

    in_order = [
        "1 laptop: my tent pole broke",
        "2 guest: it is the blue tent",
        "3 laptop: bought in May",
        "4 guest: I have the receipt",
    ]
    await expect(bubbles(page)).to_have_text(in_order)
    person = await embed_call(live, shop, "GET", "/api/embed/me", token=laptop["token"])
    assert await stored_contents(rest, person["chat_id"]) == in_order
    assert not guest_secrets(await local_storage(page))


async def test_reset_after_the_shops_sign_out_leaves_nothing_of_the_person_in_the_browser(
    visitor: Visitor, shop: Shop
) -> None:
    page = await visitor()
    await page.goto(shop.page())
    await open_widget(page)
    await page.get_by_role("button", name="Add your name and email").click()
    await page.get_by_label("Your name").fill("Sam")
    await page.get_by_role("button", name="Save").click()
    await first_message(page, "Hello from Sam")

    await page.evaluate("() => window.DeskWidget.reset()")

    await expect(page.locator(".log .msg")).to_have_count(0)
    await expect(page.locator(".dot")).to_have_attribute("data-state", "idle")
    await expect(page.locator(".who")).to_have_text("Chatting as a guest.")
    assert not [key for key in await local_storage(page) if key.startswith("desk-widget:")]


# --- Desk tokens that run out ---------------------------------------------------------------------


async def test_a_request_refused_for_an_expired_desk_token_is_renewed_once_and_sent_again(
    visitor: Visitor, rest: Rest, shop: Shop
) -> None:
    page = await visitor()
    await cut_socket(page)  # every message over REST
    await page.goto(shop.page())
    await open_widget(page)
    chat_id = await first_message(page, "First question")
    refused: list[str] = []

    async def expire_once(route: Route) -> None:
        if refused:
            await route.continue_()
            return
        refused.append(route.request.url)
        await route.fulfill(
            status=401,
            json={"detail": "The desk token has expired.", "reason": "token_expired"},
            headers={"Access-Control-Allow-Origin": shop.origin},
        )

    await page.route(MESSAGES, expire_once)
    async with page.expect_request(re.compile(r"/api/embed/me$")) as renewal:
        await send(page, "Second question")

    assert (await renewal.value).method == "GET"
    await expect(page.locator(".log .user:not(.pending) .bubble")).to_have_text(
        ["First question", "Second question"]
    )
    assert len(refused) == 1
    assert await stored_contents(rest, chat_id) == ["First question", "Second question"]


async def test_a_socket_closed_4401_renews_the_desk_token_and_connects_again(
    visitor: Visitor, shop: Shop
) -> None:
    page = await visitor()
    refused: list[str] = []

    async def refuse_once(websocket: WebSocketRoute) -> None:
        if refused:
            websocket.connect_to_server()
            return
        refused.append(websocket.url)
        await websocket.close(code=4401, reason="token expired")

    await page.route_web_socket(re.compile(r"/ws/support_chat/"), refuse_once)
    await page.goto(shop.page())
    await open_widget(page)
    async with page.expect_request(re.compile(r"/api/embed/me$")):
        await first_message(page, "Hello?")

    await connected(page)
    assert len(refused) == 1


# --- Support starts the conversation --------------------------------------------------------------


async def test_a_guest_link_made_on_the_chat_list_opens_the_chat_full_page_with_supports_messages(
    visitor: Visitor, page_for: PageFor, rest: Rest
) -> None:
    dashboard = await open_live(await page_for("alice"), LIST)
    await dashboard.get_by_text("Start a chat with a guest").click()
    await dashboard.get_by_label("Name", exact=True).fill("Dana")
    await dashboard.get_by_role("button", name="Create link").click()
    link = dashboard.locator("[data-guest-link-url]")
    await expect(link).to_have_value(re.compile(r"/chat/"))
    url = await link.input_value()
    chat_href = await dashboard.locator("[data-guest-link-chat]").get_attribute("href")
    chat_id = re.findall(r"[0-9a-f-]{36}", chat_href or "")[0]
    await rest("alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": "Hi Dana!"})

    page = await visitor()
    await page.goto(url)

    await expect(page.locator(".panel")).to_be_visible()
    await expect(page.locator(".launcher")).to_be_hidden()
    await expect(bubbles(page)).to_have_text(["Hi Dana!"])
    await connected(page)
    await rest("alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": "Still there?"})
    await expect(bubbles(page)).to_have_text(["Hi Dana!", "Still there?"])
    await send(page, "Yes, hello!")
    await expect(page.locator(".log .user:not(.pending) .bubble")).to_have_text(["Yes, hello!"])
    assert await stored_contents(rest, chat_id) == ["Hi Dana!", "Still there?", "Yes, hello!"]


# --- Refused identity tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param(mint("shop-99", secret=NOT_THE_SHOPS_SECRET), "identity_invalid", id="forged"),
        pytest.param(mint("shop-99", lifetime=-120), "identity_expired", id="expired"),
    ],
)
async def test_a_refused_identity_token_is_logged_with_its_reason_and_makes_no_chat(
    visitor: Visitor, shop: Shop, token: str, reason: str
) -> None:
    page = await visitor()
    logged: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            logged.append(message.text)

    page.on("console", console)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    async with page.expect_response(re.compile(r"/api/embed/token$")) as exchanged:
        await page.goto(shop.page(identity=token))

    assert (await exchanged.value).status == 401
    await expect(page.locator(".dot")).to_have_attribute("data-state", "idle")
    refusals = [text for text in logged if "identity token was refused" in text]
    assert len(refusals) == 1, logged
    assert f"({reason})" in refusals[0]
    assert not [r for r in requests if "/api/embed/guests" in r or MESSAGES.search(r)]


# --- The host page's own Content-Security-Policy --------------------------------------------------


async def test_the_widget_works_on_a_shop_page_whose_csp_names_only_desks_origin(
    visitor: Visitor, shop: Shop, live: LiveDesk
) -> None:
    desk = live.a.origin
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {desk}",
            f"style-src {desk}",
            f"connect-src {desk} {desk.replace('http://', 'ws://', 1)}",
        ]
    )
    page = await visitor()
    violations = await watch(page)
    await page.goto(shop.page(headers={"Content-Security-Policy": policy}))
    await open_widget(page)
    await first_message(page, "Do you sell gas canisters?")
    await connected(page)

    # The shop's own inline <style> is what its policy blocks, and nothing of the widget.
    assert await reported(page) == ["style-src-elem blocked inline"]
    assert len(violations) == 1, violations


# --- The README's screenshot ----------------------------------------------------------------------


async def test_screenshot_of_the_widget_embedded_on_a_page_of_another_origin(
    visitor: Visitor, rest: Rest, shop: Shop, screenshots: Path
) -> None:
    page = await visitor()
    await page.goto(shop.page(greeting="Spring sale: 20% off all tents."))
    await open_widget(page)
    await page.get_by_role("button", name="Add your name and email").click()
    await page.get_by_label("Your name").fill("Maya")
    await page.get_by_role("button", name="Save").click()
    chat_id = await first_message(page, "Hi! Does the Trail 2 tent fit two people with backpacks?")
    await rest(
        "alice",
        "POST",
        f"/api/admin/chats/{chat_id}/messages",
        {"content": "Hi Maya! Yes: it has two porches, one for each pack."},
    )
    await expect(page.locator(".log .msg:not(.pending)")).to_have_count(2)
    await page.keyboard.type("Perfect, thanks!")
    await page.wait_for_timeout(300)
    await page.screenshot(path=screenshots / "embed-widget.png")
    assert (screenshots / "embed-widget.png").stat().st_size > 10_000
