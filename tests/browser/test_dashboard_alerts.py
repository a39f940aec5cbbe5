"""How the dashboard gets an admin's attention, in Chromium (tests/browser/conftest.py): the number
of unread chats in the tab's title, desktop notifications with a short tone while the tab is
hidden, and the choice of staff alert emails.

The desk is shared by the whole session, so a title's count is checked against what the server
says (GET /api/admin/unread) at that moment, never against a fixed number. A hidden tab is made
with an init script (Chromium's headless tabs are always visible), and the page's Notification
and tone are recorded by wrappers that still call the real ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PageFor, Rest
from tests.browser.test_dashboard import LIST, open_live, user_says
from tests.live import LiveDesk

pytestmark = pytest.mark.asyncio

LIST_TITLE = "Support Chats · desk"

# document.visibilityState and document.hidden under the test's control: `window.setHidden(true)`
# and back, with the visibilitychange event a browser sends.
HIDDEN_TAB = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true,
    get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  window.setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""

# Every `new Notification(...)` the page makes, in window.notifications (the real one still made),
# and every tone started, in window.tones.
RECORDER = """
(() => {
  const Real = window.Notification;
  const made = [];
  function Recorded(title, options) {
    const notification = new Real(title, options);
    made.push({ title, body: options.body, tag: options.tag, notification });
    return notification;
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  Recorded.prototype = Real.prototype;
  window.Notification = Recorded;
  window.notifications = made;
  window.tones = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.tones += 1;
    return start.apply(this, args);
  };
})();
"""


async def unread_count(rest: Rest) -> int:
    return int((await rest("alice", "GET", "/api/admin/unread"))["unread_chats"])


def titled(count: int, title: str) -> str:
    return f"({count}) {title}" if count else title


async def set_hidden(page: Page, hidden: bool) -> None:
    await page.evaluate("hidden => window.setHidden(hidden)", hidden)


async def notifications(page: Page) -> list[dict[str, Any]]:
    made = await page.evaluate(
        "window.notifications.map(({ title, body, tag }) => ({ title, body, tag }))"
    )
    return list(made)


async def watched_page(
    page_for: PageFor, *, notifications_allowed: bool = True, name: str = "alice"
) -> Page:
    """A page whose tab the test can hide, recording its notifications and tones."""
    page = await page_for(name)
    await page.context.add_init_script(HIDDEN_TAB)
    await page.context.add_init_script(RECORDER)
    if notifications_allowed:
        await page.context.grant_permissions(["notifications"])
    return page


# --- The title ------------------------------------------------------------------------------------


async def test_the_list_title_counts_the_unread_chats_when_it_opens(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    await user_says(rest, fresh_user(), "Hello?")
    page = await open_live(await page_for("alice"), LIST)

    await expect(page).to_have_title(titled(await unread_count(rest), LIST_TITLE))
    assert await unread_count(rest) > 0


async def test_the_list_title_counts_a_new_unread_chat_live(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    page = await open_live(await page_for("alice"), LIST)
    before = await unread_count(rest)
    await expect(page).to_have_title(titled(before, LIST_TITLE))

    await user_says(rest, fresh_user(), "Is anyone there?")
    await expect(page).to_have_title(titled(before + 1, LIST_TITLE))


async def test_the_list_title_drops_a_chat_once_an_admin_opens_it(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello?")
    page = await open_live(await page_for("alice"), LIST)
    before = await unread_count(rest)
    await expect(page).to_have_title(titled(before, LIST_TITLE))

    await rest("bob", "GET", f"/api/admin/chats/{live.chats[name]}")
    await expect(page).to_have_title(titled(before - 1, LIST_TITLE))


async def test_the_list_title_has_no_count_without_unread_chats(
    page_for: PageFor, rest: Rest
) -> None:
    page = await page_for("alice")

    async def none_unread(route: Any) -> None:
        await route.fulfill(json={"unread_chats": 0})

    await page.route("**/api/admin/unread", none_unread)
    await open_live(page, LIST)
    await page.wait_for_timeout(700)  # the count asked again after the socket opened

    assert await page.title() == LIST_TITLE


async def test_the_chat_page_counts_its_own_chat_while_hidden_and_not_once_looked_at(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello?")
    title = f"{name}@example.com · desk"
    page = await open_live(await watched_page(page_for), f"/desk/chats/{live.chats[name]}/")
    before = await unread_count(rest)  # opening the chat marked it viewed
    await expect(page).to_have_title(titled(before, title))

    await set_hidden(page, True)
    await user_says(rest, name, "Still there?")
    await expect(page).to_have_title(titled(before + 1, title))
    await set_hidden(page, False)
    await expect(page).to_have_title(titled(before, title))


# --- Desktop notifications ------------------------------------------------------------------------


async def test_the_topbar_offers_desktop_notifications_before_the_browser_has_asked(
    page_for: PageFor,
) -> None:
    page = await open_live(await page_for("alice"), LIST)

    await expect(page.get_by_role("button", name="Turn on desktop notifications")).to_be_visible()


async def test_turning_them_on_where_the_browser_allows_says_they_are_on(
    page_for: PageFor,
) -> None:
    page = await open_live(await page_for("alice"), LIST)
    await page.context.grant_permissions(["notifications"])
    await page.get_by_role("button", name="Turn on desktop notifications").click()

    await expect(page.locator("[data-notify]")).to_contain_text("Desktop notifications on")
    await expect(page.get_by_role("button", name="Sound on")).to_be_focused()
    await expect(page.get_by_role("button", name="Turn on desktop notifications")).to_have_count(0)


async def test_turning_them_on_where_the_browser_refuses_says_they_are_blocked(
    page_for: PageFor,
) -> None:
    page = await open_live(await page_for("alice"), LIST)
    # Headless Chromium answers "denied" to a permission nobody granted.
    await page.get_by_role("button", name="Turn on desktop notifications").click()

    await expect(page.locator("[data-notify]")).to_have_text(
        "Notifications are blocked in your browser settings"
    )


async def test_the_sound_can_be_turned_off_and_stays_off_after_a_reload(
    page_for: PageFor,
) -> None:
    page = await watched_page(page_for)
    await open_live(page, LIST)
    await page.get_by_role("button", name="Sound on").click()
    await expect(page.get_by_role("button", name="Sound off")).to_be_visible()

    await open_live(page, LIST)
    await expect(page.get_by_role("button", name="Sound off")).to_be_visible()


async def test_a_new_user_message_while_the_list_is_hidden_shows_a_notification(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    page = await open_live(await watched_page(page_for), LIST)
    await set_hidden(page, True)

    await user_says(rest, name, "My order has not arrived")
    await expect(page.locator(f'.chat-card[data-chat-id="{live.chats[name]}"]')).to_be_visible()
    assert await notifications(page) == [
        {
            "title": f"New message from {name}@example.com",
            "body": "My order has not arrived",
            "tag": live.chats[name],
        }
    ]


async def test_a_new_user_message_while_the_list_is_in_view_shows_none(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    page = await open_live(await watched_page(page_for), LIST)

    await user_says(rest, name, "Hello")
    await expect(page.locator(f'.chat-card[data-chat-id="{live.chats[name]}"]')).to_be_visible()
    assert await notifications(page) == []


async def test_an_admins_reply_while_the_list_is_hidden_shows_none(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await open_live(await watched_page(page_for), LIST)
    await set_hidden(page, True)

    await rest.reply("bob", name, "Hi, how can I help?")
    card = page.locator(f'.chat-card[data-chat-id="{live.chats[name]}"]')
    await expect(card.locator(".chat-preview")).to_have_text("Support: Hi, how can I help?")
    assert await notifications(page) == []


async def test_clicking_a_notification_opens_its_chat(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    page = await open_live(await watched_page(page_for), LIST)
    await set_hidden(page, True)
    await user_says(rest, name, "Please call me back")
    await page.wait_for_function("window.notifications.length === 1")

    await page.evaluate("window.notifications[0].notification.onclick()")
    await expect(page).to_have_url(re.compile(f"/desk/chats/{live.chats[name]}/$"))


async def test_a_new_message_while_the_chat_page_is_hidden_shows_a_notification(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await watched_page(page_for)
    await open_live(page, f"/desk/chats/{live.chats[name]}/")
    await set_hidden(page, True)

    await rest.reply("bob", name, "Hi!")  # an admin's: no notification
    await user_says(rest, name, "Can you refund me?")
    await expect(page.locator(".message .bubble").last).to_have_text("Can you refund me?")
    assert await notifications(page) == [
        {
            "title": f"New message from {name}@example.com",
            "body": "Can you refund me?",
            "tag": live.chats[name],
        }
    ]


async def test_a_notification_plays_a_tone_once_per_chat_while_hidden(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    page = await open_live(await watched_page(page_for, notifications_allowed=False), LIST)
    await page.context.grant_permissions(["notifications"])
    await page.get_by_role("button", name="Turn on desktop notifications").click()
    await expect(page.get_by_role("button", name="Sound on")).to_be_visible()
    await set_hidden(page, True)

    await user_says(rest, name, "First")
    await user_says(rest, name, "Second")
    await page.wait_for_function("window.notifications.length === 2")
    assert await page.evaluate("window.tones") == 1


async def test_with_the_sound_off_a_notification_plays_no_tone(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    page = await open_live(await watched_page(page_for, notifications_allowed=False), LIST)
    await page.context.grant_permissions(["notifications"])
    await page.get_by_role("button", name="Turn on desktop notifications").click()
    await page.get_by_role("button", name="Sound on").click()
    await set_hidden(page, True)

    await user_says(rest, fresh_user(), "Hello")
    await page.wait_for_function("window.notifications.length === 1")
    assert await page.evaluate("window.tones") == 0


# --- Staff alert emails ---------------------------------------------------------------------------


async def test_the_staff_alert_choice_is_saved_and_kept_after_a_reload(
    page_for: PageFor, rest: Rest
) -> None:
    page = await open_live(await page_for("bob"), LIST)
    choice = page.get_by_label("Email me about new messages")
    await expect(choice).to_be_enabled()

    await choice.select_option(label="Only chats I have answered")
    await expect(page.locator("[data-staff-alerts-status]")).to_have_text("Saved")
    assert await rest("bob", "GET", "/api/admin/staff_alerts") == {"scope": "answered"}
    await page.reload()
    await expect(choice).to_have_value("answered")


async def test_a_refused_staff_alert_choice_says_why_and_shows_the_saved_one(
    page_for: PageFor, rest: Rest
) -> None:
    page = await page_for("alice")
    saved = (await rest("alice", "GET", "/api/admin/staff_alerts"))["scope"]

    async def refuse(route: Any) -> None:
        await route.fulfill(status=403, json={"detail": "You are no longer staff."})

    await page.route("**/api/admin/staff_alerts", refuse)
    await open_live(page, LIST)
    choice = page.get_by_label("Email me about new messages")
    await choice.select_option("none" if saved != "none" else "all")

    await expect(page.locator("[data-staff-alerts-status]")).to_have_text(
        "You are no longer staff."
    )
    await expect(choice).to_have_value(saved)
