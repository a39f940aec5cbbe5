"""The admins' dashboard in Chromium, live against a real desk server (tests/browser/conftest.py).

Users act over REST or their own websocket, as the widget would; admins use the pages. What the
server holds is read back over REST, never from the database in-process.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, WebSocketRoute, expect

from tests.browser.conftest import VIEWPORT, PageFor, Rest, opened_socket
from tests.live import BASE_DIR, LiveDesk, live_desk

pytestmark = pytest.mark.asyncio

LIST = "/desk/"
ARCHIVED = "/desk/?archived=1"


def card(page: Page, chat_id: str) -> Locator:
    return page.locator(f'.chat-card[data-chat-id="{chat_id}"]')


def first_card(page: Page) -> Locator:
    return page.locator(".chat-card").first


async def chat_ids(page: Page) -> list[str]:
    """The chat ids of the list's cards, top to bottom."""
    cards = page.locator(".chat-card")
    return list(await cards.evaluate_all("cards => cards.map(card => card.dataset.chatId)"))


async def open_live(page: Page, path: str) -> Page:
    """Open a dashboard page and wait until its socket is connected."""
    await page.goto(path)
    await expect(page.locator('[data-connection][data-state="connected"]')).to_be_visible()
    return page


async def user_says(rest: Rest, name: str, content: str) -> dict[str, Any]:
    return dict(await rest(name, "POST", "/api/support_chat/messages", {"content": content}))


# --- The list -------------------------------------------------------------------------------------


async def test_a_new_user_message_appears_at_the_top_of_the_list_live_and_unread(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    await rest("alice", "GET", f"/api/admin/chats/{live.chats[name]}")  # viewed: not unread
    page = await open_live(await page_for("alice"), LIST)
    await expect(card(page, live.chats[name])).to_have_attribute("data-unread", "false")

    await user_says(rest, name, "My invoice for March is wrong")
    top = first_card(page)
    await expect(top).to_have_attribute("data-chat-id", live.chats[name])
    await expect(top).to_have_attribute("data-unread", "true")
    await expect(top.locator(".chat-preview")).to_have_text("My invoice for March is wrong")
    await expect(top.locator(".chat-email")).to_have_text(f"{name}@example.com")
    await expect(top.locator(".chat-meta")).to_have_text("2 messages · just now")


async def test_another_admins_list_loses_the_unread_marker_when_a_chat_is_opened(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello?")
    bobs_list = await open_live(await page_for("bob"), LIST)
    await expect(card(bobs_list, live.chats[name])).to_have_attribute("data-unread", "true")

    alice = await page_for("alice")
    await alice.goto(f"/desk/chats/{live.chats[name]}/")
    await expect(card(bobs_list, live.chats[name])).to_have_attribute("data-unread", "false")


async def test_a_reply_from_the_chat_page_reaches_the_user_and_shows_as_sent(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Can I change my email?")
    page = await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")
    await page.get_by_label(f"Reply to {name}@example.com").fill("Yes, under Settings.")
    await page.keyboard.press("Enter")

    reply = page.locator(".message.from-admin").last
    await expect(reply.locator(".bubble")).to_have_text("Yes, under Settings.")
    await expect(reply.locator(".read-state")).to_have_text("Sent")
    await expect(page.get_by_label(f"Reply to {name}@example.com")).to_have_value("")
    messages = await rest.messages(name)
    assert [(m["sender_type"], m["content"]) for m in messages][-1] == (
        "admin",
        "Yes, under Settings.",
    )


async def test_a_refused_reply_shows_the_reason_and_keeps_the_text(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hi")
    page = await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")
    too_long = "x" * 5001
    reply_box = page.get_by_label(f"Reply to {name}@example.com")
    # Set as a script would, past the textarea's maxlength (which typing cannot pass).
    await reply_box.evaluate(
        "(box, text) => { box.value = text; box.dispatchEvent(new Event('input')); }", too_long
    )
    await reply_box.press("Enter")

    await expect(page.get_by_role("alert").filter(has_text="Not sent")).to_contain_text("5000")
    await expect(reply_box).to_have_value(too_long)
    await expect(page.locator(".message.from-admin")).to_have_count(0)
    assert [m["content"] for m in await rest.messages(name)] == ["Hi"]


async def test_a_reply_shows_read_as_soon_as_the_user_reads_it(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Is it fixed?")
    await rest.reply("bob", name, "It is now.")
    page = await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")
    state = page.locator(".message.from-admin .read-state")
    await expect(state).to_have_text("Sent")
    await rest(name, "PATCH", "/api/support_chat/mark_read")
    # The reader's own clock: "Read 14:05", or "Read 2:05 PM" in en-US.
    await expect(state).to_have_text(re.compile(r"^Read \d{1,2}:\d\d(\s[AP]M)?$"))


async def test_archiving_moves_the_chat_to_the_archived_tab_for_every_admin(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    chat_id = live.chats[name]
    await user_says(rest, name, "Thanks, all good now")
    bob = await page_for("bob")
    bobs_active = await open_live(bob, LIST)
    bobs_archived = await open_live(await bob.context.new_page(), ARCHIVED)
    await expect(card(bobs_active, chat_id)).to_be_visible()
    await expect(card(bobs_archived, chat_id)).to_have_count(0)

    alice = await open_live(await page_for("alice"), f"/desk/chats/{chat_id}/")
    await alice.get_by_role("button", name="Archive").click()
    await expect(alice.get_by_role("button", name="Restore")).to_be_visible()
    await expect(alice.locator("[data-archived-badge]")).to_be_visible()

    await expect(card(bobs_active, chat_id)).to_have_count(0)
    await expect(card(bobs_archived, chat_id)).to_be_visible()
    archived = await rest("alice", "GET", f"/api/admin/chats?archived=true&q={name}@example.com")
    assert [item["id"] for item in archived["items"]] == [chat_id]
    await alice.get_by_role("link", name="All chats").click()
    await alice.get_by_role("link", name="Archived").click()
    await expect(card(alice, chat_id)).to_be_visible()


async def test_a_user_message_brings_an_archived_chat_back_to_active_live(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    chat_id = live.chats[name]
    await user_says(rest, name, "Thanks!")
    await rest("alice", "POST", f"/api/admin/chats/{chat_id}/archive")
    alices_active = await open_live(await page_for("alice"), LIST)
    bobs_archived = await open_live(await page_for("bob"), ARCHIVED)
    await expect(card(alices_active, chat_id)).to_have_count(0)
    await expect(card(bobs_archived, chat_id)).to_be_visible()

    await user_says(rest, name, "Actually, it happened again")
    top = first_card(alices_active)
    await expect(top).to_have_attribute("data-chat-id", chat_id)
    await expect(top).to_have_attribute("data-unread", "true")
    await expect(top.locator(".chat-preview")).to_have_text("Actually, it happened again")
    await expect(top.locator("[data-field=count]")).to_have_text("2 messages")
    await expect(card(bobs_archived, chat_id)).to_have_count(0)


# --- One chat -------------------------------------------------------------------------------------


async def test_the_chat_page_shows_the_users_typing(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "One moment")
    page = await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")
    hint = page.locator("[data-typing]")
    await expect(hint).to_be_hidden()
    async with opened_socket(live, name, f"/ws/support_chat/{live.chats[name]}/") as socket:
        await socket.send(json.dumps({"action": "typing", "is_typing": True}))
        await expect(hint).to_be_visible()
        await expect(hint).to_have_text(f"{name}@example.com is typing…")
        await socket.send(json.dumps({"action": "typing", "is_typing": False}))
        await expect(hint).to_be_hidden()


async def test_new_messages_appear_on_the_open_chat_page_once(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "first")
    page = await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")
    await user_says(rest, name, "second")
    bubbles = page.locator(".message .bubble")
    await expect(bubbles).to_have_text(["first", "second"])
    await page.wait_for_timeout(300)
    await expect(bubbles).to_have_count(2)


# --- Content is text ------------------------------------------------------------------------------

MARKUP = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold</b>'


async def test_markup_in_messages_is_shown_as_text_live_and_after_reload(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "hello")
    listing = await open_live(await page_for("alice"), LIST)
    chat = await open_live(await listing.context.new_page(), f"/desk/chats/{live.chats[name]}/")
    await user_says(rest, name, MARKUP)

    await expect(card(listing, live.chats[name]).locator(".chat-preview")).to_have_text(MARKUP)
    await expect(chat.locator(".message .bubble").last).to_have_text(MARKUP)
    await listing.reload()
    await chat.reload()
    await expect(card(listing, live.chats[name]).locator(".chat-preview")).to_have_text(MARKUP)
    await expect(chat.locator(".message .bubble").last).to_have_text(MARKUP)
    for page in (listing, chat):
        assert await page.evaluate("window.pwned") is None
        assert await page.locator(".bubble b, .chat-preview b, .bubble img").count() == 0


# --- Connection trouble ---------------------------------------------------------------------------


class SocketCutter:
    """Stands between a page and its websocket (page.route_web_socket): can cut it and hold it."""

    def __init__(self) -> None:
        self.down = False
        self.routes: list[WebSocketRoute] = []

    async def handle(self, route: WebSocketRoute) -> None:
        if self.down:
            await route.close(code=4000, reason="cut by the test")
            return
        route.connect_to_server()
        self.routes.append(route)

    async def cut(self) -> None:
        self.down = True
        for route in self.routes:
            await route.close(code=4000, reason="cut by the test")
        self.routes.clear()

    async def restore(self, page: Page) -> None:
        self.down = False
        # DeskLive retries at once when the browser is back online, not at the end of its backoff.
        await page.evaluate("window.dispatchEvent(new Event('online'))")


async def test_a_cut_socket_shows_reconnecting_and_the_list_catches_up_after(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    cutter = SocketCutter()
    page = await page_for("alice")
    await page.route_web_socket("**/ws/admin/notifications/", cutter.handle)
    await open_live(page, LIST)
    await cutter.cut()
    await expect(page.locator("[data-connection]")).to_have_text("Reconnecting…")
    await expect(page.locator("[data-banner]")).to_have_text(
        "Reconnecting… updates may be delayed."
    )

    await user_says(rest, "ben", "Sent while the dashboard was away")
    await page.wait_for_timeout(500)
    await cutter.restore(page)
    await expect(page.locator("[data-connection]")).to_have_text("Live")
    await expect(page.locator("[data-banner]")).to_be_hidden()
    top = first_card(page)
    await expect(top).to_have_attribute("data-chat-id", live.chats["ben"])
    await expect(top.locator(".chat-preview")).to_have_text("Sent while the dashboard was away")


async def test_the_chat_page_polls_and_replies_over_rest_while_its_socket_is_down(
    page_for: PageFor,
    rest: Rest,
    live: LiveDesk,
    fresh_user: Callable[[], str],
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Are you there?")
    page = await page_for("alice")
    cutter = SocketCutter()
    cutter.down = True
    await page.route_web_socket("**/ws/support_chat/**", cutter.handle)
    await page.goto(f"/desk/chats/{live.chats[name]}/")
    await expect(page.locator('[data-connection][data-state="reconnecting"]')).to_be_visible()

    await user_says(rest, name, "Hello?")
    await expect(page.locator(".message .bubble").last).to_have_text("Hello?", timeout=12_000)
    await page.get_by_label(f"Reply to {name}@example.com").fill("Yes, here.")
    await page.keyboard.press("Enter")
    await expect(page.locator(".message.from-admin .bubble")).to_have_text(["Yes, here."])
    assert (await rest.messages(name))[-1]["content"] == "Yes, here."


async def test_a_refused_socket_says_why_instead_of_retrying(page_for: PageFor) -> None:
    page = await page_for("alice")
    attempts: list[WebSocketRoute] = []

    async def session_ended(route: WebSocketRoute) -> None:
        attempts.append(route)
        await route.close(code=4401, reason="not logged in")

    await page.route_web_socket("**/ws/admin/notifications/", session_ended)
    await page.goto(LIST)
    await expect(page.locator("[data-connection]")).to_have_text("Offline")
    await expect(page.locator("[data-banner]")).to_have_text(
        "Your session has ended: sign in again to see live updates. Sign in"
    )
    sign_in = page.locator("[data-banner]").get_by_role("link", name="Sign in")
    await expect(sign_in).to_have_attribute("href", "/accounts/login/?next=%2Fdesk%2F")
    await page.wait_for_timeout(1500)
    assert len(attempts) == 1


# --- A desk of demo conversations: "Load more" and the screenshots ------------------------------

DEMO_USERS = [
    "maria.lopez",
    "tom.becker",
    "priya.nair",
    "jonas.weber",
    "li.wei",
    "sam.okafor",
    "nora.fischer",
    "ahmed.khan",
]
# Customers who opened the widget and said nothing: enough of them for a second page of the list.
QUIET_USERS = [f"customer{n:02d}" for n in range(50)]


def seed_demo_conversations() -> None:
    """Run inside the demo desk's environment: conversations spread over the last two days."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from freezegun import freeze_time

    from chats import services

    people = {u.username: u for u in get_user_model().objects.all()}
    admin = people["alice"]
    now = datetime.now(UTC)

    def at(minutes_ago: float) -> Any:
        return freeze_time(now - timedelta(minutes=minutes_ago))

    def chat_of(name: str) -> Any:
        return services.chat_get_or_create(user=people[name]).id

    script: list[tuple[float, str, str]] = [
        (2 * 24 * 60 + 35, "sam.okafor", "Hi, I'd like to close my account."),
        (2 * 24 * 60 + 20, "alice", "sam.okafor|Sorry to see you go! I've started it for you."),
        (26 * 60, "maria.lopez", "Hi! My invoice for March shows the wrong VAT number."),
        (25 * 60 + 50, "alice", "maria.lopez|Thanks Maria, let me check with billing."),
        (25 * 60 + 10, "alice", "maria.lopez|Fixed: the corrected invoice is in your account."),
        (20 * 60, "ahmed.khan", "Where can I find the API documentation for webhooks?"),
        (19 * 60 + 40, "alice", "ahmed.khan|At /api/docs: the webhooks section is near the end."),
        (5 * 60, "nora.fischer", "Our team plan renewal failed: the card was declined."),
        (3 * 60, "jonas.weber", "Is there a way to export all my data as CSV?"),
        (2 * 60 + 45, "alice", "jonas.weber|Yes: Settings → Privacy → Export. It takes a minute."),
        (58, "li.wei", "The app logs me out every few minutes on my phone."),
        (14, "tom.becker", "Can I change the email address on my account?"),
        (12, "alice", "tom.becker|Yes: Settings, then Account, then Email."),
        (6, "maria.lopez", "Thank you! One more thing: can I get it as a PDF too?"),
        (5.5, "maria.lopez", "It's for our accountant, who needs it by Friday."),
        (2, "priya.nair", "Hello! Do you offer discounts for non-profits?"),
    ]
    for minutes_ago, who, content in script:
        with at(minutes_ago):
            if who == "alice":
                customer, text = content.split("|", 1)
                services.admin_reply_post(admin=admin, chat_id=chat_of(customer), content=text)
            else:
                services.user_message_post(user=people[who], content=content)
    with at(25 * 60):
        services.messages_mark_read(user=people["maria.lopez"])
    with at(2 * 60 + 30):
        services.messages_mark_read(user=people["jonas.weber"])
    with at(2 * 24 * 60):
        services.messages_mark_read(user=people["sam.okafor"])
        services.chat_mark_viewed(admin=admin, chat_id=chat_of("sam.okafor"))
        services.chat_archive(admin=admin, chat_id=chat_of("sam.okafor"))
    for name in ("jonas.weber", "tom.becker", "ahmed.khan", "nora.fischer"):
        with at(1):
            services.chat_mark_viewed(admin=admin, chat_id=chat_of(name))


@pytest.fixture(scope="module")
def demo_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    """A desk of its own with demo-looking people and conversations, for the screenshots."""
    with live_desk(
        Path(tmp_path_factory.mktemp("dashboard-demo")),
        servers=1,
        users=[*DEMO_USERS, *QUIET_USERS],
        admins=["alice"],
        env={"DESK_SERVE_STATIC": "true"},
    ) as desk:
        subprocess.run(
            [sys.executable, "-c", f"import {__name__} as m; m.seed_demo_conversations()"],
            cwd=BASE_DIR,
            env=desk.env,
            check=True,
            timeout=60,
        )
        yield desk


@contextlib.asynccontextmanager
async def demo_page(browser: Browser, desk: LiveDesk) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=desk.a.origin, viewport=VIEWPORT)
    await context.add_cookies(
        [{"name": "sessionid", "value": desk.cookies["alice"], "url": desk.a.origin}]
    )
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def test_screenshots_of_the_list_and_a_chat(
    browser: Browser, demo_desk: LiveDesk, screenshots: Path
) -> None:
    async with demo_page(browser, demo_desk) as page:
        await open_live(page, LIST)
        await expect(first_card(page).locator(".chat-email")).to_have_text("priya.nair@example.com")
        await page.screenshot(path=screenshots / "dashboard-list.png")

        await page.get_by_role("link", name="maria.lopez@example.com").click()
        await expect(page.locator('[data-connection][data-state="connected"]')).to_be_visible()
        await page.get_by_label("Reply to maria.lopez@example.com").fill("Of course, I'll")
        chat_socket = f"/ws/support_chat/{demo_desk.chats['maria.lopez']}/"
        async with opened_socket(demo_desk, "maria.lopez", chat_socket) as maria:
            await maria.send(json.dumps({"action": "typing", "is_typing": True}))
            await expect(page.locator("[data-typing]")).to_be_visible()
            await page.screenshot(path=screenshots / "dashboard-chat.png")
    assert (screenshots / "dashboard-list.png").stat().st_size > 10_000
    assert (screenshots / "dashboard-chat.png").stat().st_size > 10_000


async def test_load_more_appends_the_next_page_without_leaving_the_page(
    browser: Browser, demo_desk: LiveDesk
) -> None:
    async with demo_page(browser, demo_desk) as page:
        await open_live(page, LIST)
        cards = page.locator(".chat-card")
        await expect(cards).to_have_count(50)
        await page.get_by_role("link", name="Load more").click()
        await expect(cards).to_have_count(len(DEMO_USERS) - 1 + len(QUIET_USERS))
        await expect(page.get_by_role("link", name="Load more")).to_be_hidden()
        assert page.url.endswith(LIST)
        ids = await chat_ids(page)
        assert len(set(ids)) == len(ids)


async def test_a_chat_beyond_the_loaded_pages_comes_to_the_top_when_its_user_writes(
    browser: Browser, demo_desk: LiveDesk
) -> None:
    async with demo_page(browser, demo_desk) as page:
        await open_live(page, LIST)
        shown = set(await chat_ids(page))
        name = next(n for n in QUIET_USERS if demo_desk.chats[n] not in shown)
        await user_says(Rest(demo_desk), name, "First time here: how do refunds work?")

        top = first_card(page)
        await expect(top).to_have_attribute("data-chat-id", demo_desk.chats[name])
        await expect(top).to_have_attribute("data-unread", "true")
        await expect(top.locator(".chat-email")).to_have_text(f"{name}@example.com")
        await expect(top.locator(".chat-preview")).to_have_text(
            "First time here: how do refunds work?"
        )
        # The event has no message count: the refresh that follows brings it.
        await expect(top.locator("[data-field=count]")).to_have_text("1 message")
