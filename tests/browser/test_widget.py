"""The chat widget in Chromium, on the demo host page, against a real desk server and real Redis.

What the server holds is read back over REST (`rest`), and what admins see over their own websocket,
so each test checks the whole path, not just the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, WebSocketRoute, expect

from tests.browser.conftest import PageFor, Rest, logged_in_page, opened_socket
from tests.live import LiveDesk, live_desk, next_event

pytestmark = pytest.mark.asyncio

OPEN = "Open support chat"


async def eventually(check: Callable[[], Awaitable[Any]]) -> Any:
    """The first truthy result of `check`, polled for up to ten seconds (None if none came)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while True:
                if result := await check():
                    return result
                await asyncio.sleep(0.2)
    return None


async def connected(page: Page) -> None:
    await expect(page.locator(".dot")).to_have_attribute("data-state", "connected")


async def open_widget(page: Page) -> None:
    await page.get_by_role("button", name=re.compile(f"^{OPEN}")).click()
    await expect(page.get_by_role("textbox", name="Message to support")).to_be_focused()


async def send(page: Page, content: str) -> None:
    await page.get_by_role("textbox", name="Message to support").fill(content)
    await page.keyboard.press("Enter")


def bubbles(page: Page) -> Any:
    return page.locator(".log .bubble")


async def cut_socket(page: Page) -> None:
    """Every websocket the page opens is closed at once; HTTP still works, so polling must."""

    async def refuse(websocket: WebSocketRoute) -> None:
        await websocket.close(code=1011, reason="cut by the test")

    await page.route_web_socket(re.compile(r"/ws/"), refuse)


async def test_widget_shows_history_and_sends_a_message_that_admins_receive_live(
    page_for: PageFor, live: LiveDesk, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    await rest.reply("alice", user, "Welcome to Acme! How can we help?")
    page = await page_for(user)
    await page.goto("/")
    await open_widget(page)
    await expect(bubbles(page)).to_have_text(["Welcome to Acme! How can we help?"])
    await connected(page)

    async with opened_socket(live, "alice", f"/ws/support_chat/{live.chats[user]}/") as admin:
        await send(page, "My parcel never arrived.")
        event = await next_event(admin, type="new_message")

    assert event["message"]["content"] == "My parcel never arrived."
    await expect(page.locator(".log .user:not(.pending) .bubble")).to_have_text(
        ["My parcel never arrived."]
    )
    stored = [m["content"] for m in await rest.messages(user) if m["sender_type"] == "user"]
    assert stored == ["My parcel never arrived."]


async def test_a_reply_shows_a_badge_live_and_opening_the_panel_marks_it_read_on_the_server(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    page = await page_for(user)
    await page.goto("/")
    await connected(page)
    badge = page.locator(".badge")
    await expect(badge).to_be_hidden()

    reply = await rest.reply("alice", user, "Your refund is on its way.")
    await expect(badge).to_have_text("1")
    await expect(page.get_by_role("button", name=f"{OPEN}, 1 unread reply")).to_be_visible()
    await open_widget(page)

    await expect(badge).to_be_hidden()

    async def read_at() -> Any:
        return {m["id"]: m["read_at"] for m in await rest.messages(user)}[reply["id"]]

    assert await eventually(read_at)


async def test_another_tab_of_the_same_user_loses_its_badge_when_one_tab_opens_the_panel(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    first = await page_for(user)
    second = await first.context.new_page()
    for page in (first, second):
        await page.goto("/")
        await connected(page)
    await rest.reply("alice", user, "We have found your order.")
    for page in (first, second):
        await expect(page.locator(".badge")).to_have_text("1")

    await open_widget(first)

    await expect(second.locator(".badge")).to_be_hidden()


async def test_markup_in_messages_is_shown_as_text_and_never_runs(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> <b>bold</b>'
    await rest.reply("alice", user, hostile)
    page = await page_for(user)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto("/")
    await open_widget(page)
    await send(page, hostile)

    await expect(page.locator(".log .msg:not(.pending) .bubble")).to_have_text([hostile, hostile])
    assert await page.locator(".log img, .log script, .log b").count() == 0
    await page.wait_for_timeout(500)
    assert dialogs == []


async def test_long_words_wrap_and_right_to_left_text_and_emoji_display(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    await rest.reply("alice", user, "x" * 400)
    await rest.reply("alice", user, "مرحبا، كيف يمكننا مساعدتك؟ 👋🏽")
    page = await page_for(user)
    await page.goto("/")
    await open_widget(page)

    scroller = page.locator(".scroll")
    await expect(bubbles(page)).to_have_count(2)
    assert await scroller.evaluate("el => el.scrollWidth <= el.clientWidth")
    arabic = bubbles(page).nth(1)
    assert await arabic.get_attribute("dir") == "auto"
    assert await arabic.evaluate("el => getComputedStyle(el).direction") == "rtl"


async def test_polling_delivers_a_reply_within_six_seconds_while_the_socket_is_down(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    page = await page_for(user)
    await cut_socket(page)
    await page.goto("/")
    await open_widget(page)
    await expect(bubbles(page)).to_have_count(0)
    dot = page.locator(".dot")
    await expect(dot).to_have_attribute("data-state", re.compile("reconnecting|offline"))
    await expect(page.locator(".state")).to_have_text(re.compile("Reconnecting|Offline"))

    await rest.reply("alice", user, "Polling works too.")

    await expect(bubbles(page)).to_have_text(["Polling works too."], timeout=6_500)


async def test_after_its_socket_drops_the_widget_reconnects_and_syncs_what_it_missed(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    first = await rest.reply("alice", user, "Before the drop")
    page = await page_for(user)
    sockets: list[WebSocketRoute] = []
    frames: list[tuple[int, dict[str, Any]]] = []  # (which socket, frame)

    async def watch(websocket: WebSocketRoute) -> None:
        server = websocket.connect_to_server()
        number = len(sockets)

        def to_server(message: str | bytes) -> None:
            frames.append((number, json.loads(message)))
            server.send(message)

        websocket.on_message(to_server)
        sockets.append(websocket)

    await page.route_web_socket(re.compile(r"/ws/"), watch)
    await page.goto("/")
    await open_widget(page)
    await connected(page)

    await sockets[0].close(code=1012, reason="server restart")
    missed = await rest.reply("alice", user, "Sent while the socket was down")

    await expect(bubbles(page)).to_have_text(["Before the drop", "Sent while the socket was down"])
    await connected(page)
    assert len(sockets) == 2
    # From the newest message it had: the first one, or the missed one if a polling tick fell
    # between the drop and the reconnect.
    syncs = [
        frame["after"] for number, frame in frames if number == 1 and frame["action"] == "sync"
    ]
    assert syncs, frames
    assert syncs[0] in {first["id"], missed["id"]}


async def test_a_message_typed_offline_is_kept_and_arrives_exactly_once_when_back_online(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    page = await page_for(user)
    await page.goto("/")
    await open_widget(page)
    await connected(page)
    await page.context.set_offline(True)
    await expect(page.locator(".dot")).to_have_attribute("data-state", "offline")

    await send(page, "Sent from a tunnel")
    await expect(page.locator(".pending .meta")).to_have_text("Waiting to send…")
    await page.wait_for_timeout(1_000)
    assert await rest.messages(user) == []
    await page.context.set_offline(False)

    await expect(page.locator(".pending")).to_have_count(0)
    await expect(bubbles(page)).to_have_text(["Sent from a tunnel"])
    await connected(page)
    await page.wait_for_timeout(6_000)  # past a polling tick and the reconnect's sync
    assert [m["content"] for m in await rest.messages(user)] == ["Sent from a tunnel"]


async def test_a_message_that_could_not_be_sent_survives_a_reload_and_is_sent_once(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    page = await page_for(user)
    await cut_socket(page)

    async def fail_posts(route: Any) -> None:
        if route.request.method == "POST":
            await route.abort("connectionreset")
        else:
            await route.continue_()

    await page.route("**/api/support_chat/messages", fail_posts)
    await page.goto("/")
    await open_widget(page)
    await send(page, "Please keep this one")
    await expect(page.locator(".pending .meta")).to_have_text("Waiting to send…")
    await page.unroute("**/api/support_chat/messages")
    await page.unroute_all()

    await page.reload()

    await open_widget(page)
    await expect(page.locator(".log .msg:not(.pending) .bubble")).to_have_text(
        ["Please keep this one"]
    )
    await page.wait_for_timeout(6_000)  # past a polling tick
    assert [m["content"] for m in await rest.messages(user)] == ["Please keep this one"]
    await expect(page.locator(".pending")).to_have_count(0)


async def lose_post_answers(page: Page) -> list[int]:
    """Messages posted over REST reach the server, but the page never gets the answer."""
    lost: list[int] = []

    async def lose_answer(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        response = await route.fetch()
        lost.append(response.status)
        await route.abort("connectionreset")

    await page.route("**/api/support_chat/messages", lose_answer)
    return lost


@pytest.mark.parametrize("reload", [False, True], ids=["same-page", "after-a-reload"])
async def test_a_message_whose_answer_was_lost_is_not_sent_again(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str], reload: bool
) -> None:
    user = fresh_user()
    await rest.reply("alice", user, "Hello!")
    page = await page_for(user)
    await cut_socket(page)
    lost = await lose_post_answers(page)
    await page.goto("/")
    await open_widget(page)

    await send(page, "Did this arrive?")
    if reload:
        await expect(page.locator(".pending .meta")).to_have_text("Waiting to send…")
        assert lost == [201]
        await page.unroute_all()
        await page.reload()
        await open_widget(page)

    await expect(page.locator(".log .msg:not(.pending) .bubble")).to_have_text(
        ["Hello!", "Did this arrive?"], timeout=12_000
    )
    if reload:
        await page.wait_for_timeout(6_000)  # past a polling tick
    await expect(page.locator(".pending")).to_have_count(0)
    assert lost == [201]
    assert [m["content"] for m in await rest.messages(user)] == ["Hello!", "Did this arrive?"]


async def test_an_invalid_message_is_marked_failed_with_the_servers_reason_and_a_retry_button(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    page = await page_for(user)
    await page.goto("/")
    await open_widget(page)
    await connected(page)

    await send(page, "x" * 5_001)

    failed = page.locator(".failed")
    await expect(failed.get_by_role("alert")).to_contain_text("Not sent: ")
    await expect(failed.get_by_role("alert")).to_contain_text("5000")
    await expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    await failed.get_by_role("button", name="Delete").click()
    await expect(failed).to_have_count(0)
    assert await rest.messages(user) == []


async def test_a_message_over_the_rate_limit_is_marked_failed_with_when_to_try_again(
    browser: Browser, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        # A desk of its own, with an allowance of two messages a minute.
        strict = live_desk(
            tmp_path,
            servers=1,
            users=["rita"],
            env={"DESK_SERVE_STATIC": "true", "DESK_MESSAGES_PER_MINUTE": "2"},
        )
        desk = await asyncio.to_thread(stack.enter_context, strict)
        page = await logged_in_page(browser, desk, "rita")
        await page.goto("/")
        await open_widget(page)
        await connected(page)

        for n in range(1, 4):
            await send(page, f"Message {n}")

        failed = page.locator(".failed")
        await expect(failed.locator(".bubble")).to_have_text(["Message 3"])
        await expect(failed.get_by_role("alert")).to_contain_text("Try again in")
        await expect(failed.get_by_role("button", name="Retry")).to_be_visible()
        await expect(page.locator(".log .msg:not(.pending) .bubble")).to_have_text(
            ["Message 1", "Message 2"]
        )
        await page.context.close()
        await asyncio.to_thread(stack.close)


async def test_support_typing_and_having_seen_the_chat_are_shown(
    page_for: PageFor, live: LiveDesk, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    page = await page_for(user)
    await page.goto("/")
    await open_widget(page)
    await connected(page)
    await send(page, "Is anyone there?")
    await expect(page.locator(".log .user:not(.pending)")).to_have_count(1)
    seen = page.get_by_text("Seen by support")
    await expect(seen).to_be_hidden()

    chat = live.chats[user]
    async with opened_socket(live, "alice", f"/ws/support_chat/{chat}/") as admin:
        await admin.send('{"action": "viewed"}')
        await expect(seen).to_be_visible()
        await admin.send('{"action": "typing", "is_typing": true}')
        await expect(page.get_by_text("Support is typing…")).to_be_visible()
        await admin.send('{"action": "typing", "is_typing": false}')
        await expect(page.get_by_text("Support is typing…")).to_be_hidden()


async def test_the_support_chat_link_opens_the_panel_on_load_and_on_hash_change(
    page_for: PageFor, fresh_user: Callable[[], str]
) -> None:
    page = await page_for(fresh_user())
    launcher = page.locator(".launcher")

    await page.goto("/#support-chat")
    await expect(launcher).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_role("textbox", name="Message to support")).to_be_focused()

    await page.keyboard.press("Escape")
    await expect(launcher).to_have_attribute("aria-expanded", "false")
    await page.evaluate("location.hash = 'support-chat'")
    await expect(launcher).to_have_attribute("aria-expanded", "true")


async def test_the_badge_shows_nine_plus_above_nine_unread_replies(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    for n in range(10):
        await rest.reply("alice", user, f"Update {n + 1}")
    page = await page_for(user)

    await page.goto("/")

    await expect(page.locator(".badge")).to_have_text("9+")
    await expect(page.get_by_role("button", name=f"{OPEN}, 10 unread replies")).to_be_visible()


async def test_the_widget_works_with_the_keyboard_alone(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    page = await page_for(user)
    await page.goto("/")
    await connected(page)
    launcher = page.locator(".launcher")
    for _ in range(20):
        await page.keyboard.press("Tab")
        if await launcher.evaluate("el => el.getRootNode().activeElement === el"):
            break
    await expect(launcher).to_be_focused()

    await page.keyboard.press("Enter")
    await expect(page.get_by_role("textbox", name="Message to support")).to_be_focused()
    await page.keyboard.type("Typed without a mouse")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("on two lines")
    await page.keyboard.press("Enter")
    await expect(page.locator(".log .msg:not(.pending) .bubble")).to_have_text(
        ["Typed without a mouse\non two lines"], use_inner_text=True
    )
    await page.keyboard.press("Escape")

    await expect(launcher).to_have_attribute("aria-expanded", "false")
    await expect(launcher).to_be_focused()
    assert [m["content"] for m in await rest.messages(user)] == [
        "Typed without a mouse\non two lines"
    ]


async def test_a_visitor_who_is_not_signed_in_gets_a_sign_in_link(page_for: PageFor) -> None:
    page = await page_for(None)
    await page.goto("/")

    await page.get_by_role("button", name=OPEN).click()

    link = page.get_by_role("link", name="Sign in to chat with support")
    await expect(link).to_be_focused()
    assert await link.get_attribute("href") == "/accounts/login/?next=%2F%23support-chat"


async def test_screenshots_of_the_widget_closed_and_open(
    page_for: PageFor, rest: Rest, screenshots: Path
) -> None:
    page = await page_for("emma")
    await page.goto("/")
    await open_widget(page)
    await send(page, "Hi! I ordered the stoneware teapot on Monday. Can I still change the colour?")
    await expect(page.locator(".log .msg:not(.pending)")).to_have_count(1)
    await page.keyboard.press("Escape")
    await rest.reply(
        "alice", "emma", "Hi Emma! Yes, it hasn't shipped yet. Which colour would you like?"
    )
    await expect(page.locator(".badge")).to_have_text("1")
    await page.locator(".launcher").blur()
    await page.mouse.move(0, 0)  # no hover effect on the launcher
    await page.wait_for_timeout(300)  # the panel's closing transition
    await page.screenshot(path=screenshots / "widget-closed.png")

    await open_widget(page)
    await send(page, "The sage green one, please 🌿")
    await expect(page.locator(".log .msg:not(.pending)")).to_have_count(3)
    await rest.reply("alice", "emma", "Done! Your teapot ships in sage green tomorrow morning.")
    await expect(page.locator(".log .msg")).to_have_count(4)
    await page.keyboard.type("Perfect, thank you!")
    await page.wait_for_timeout(300)
    await page.screenshot(path=screenshots / "widget-open.png")
