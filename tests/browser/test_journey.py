"""The whole product in one story: a user in the widget, two admins on the dashboard.

Every step happens in the browser; nothing is posted behind the pages' backs. Each step waits for
what the next person would see live, without a reload.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PageFor, Rest
from tests.browser.test_dashboard import ARCHIVED, LIST, card, first_card, open_live
from tests.browser.test_widget import connected, open_widget, send
from tests.live import LiveDesk

pytestmark = pytest.mark.asyncio


async def test_a_conversation_from_the_widget_through_the_dashboard_to_archive_and_back(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    chat_id = live.chats[name]
    alices_list = await open_live(await page_for("alice"), LIST)
    bobs_list = await open_live(await page_for("bob"), LIST)
    widget = await page_for(name)
    await widget.goto("/")
    await connected(widget)

    # The user writes in the widget: both admins' lists show it live, at the top, unread.
    await open_widget(widget)
    await send(widget, "Hi, where is my order?")
    for admin_list in (alices_list, bobs_list):
        await expect(first_card(admin_list)).to_have_attribute("data-chat-id", chat_id)
        await expect(first_card(admin_list)).to_have_attribute("data-unread", "true")
    await widget.keyboard.press("Escape")

    # Alice opens the chat: Bob's list loses the marker.
    await card(alices_list, chat_id).locator("a").first.click()
    await expect(alices_list.locator('[data-connection][data-state="connected"]')).to_be_visible()
    await expect(card(bobs_list, chat_id)).to_have_attribute("data-unread", "false")

    # Alice replies: the widget shows it live with badge 1; opening the panel clears it.
    chat_page = alices_list
    await chat_page.get_by_label(f"Reply to {name}@example.com").fill("It ships tomorrow.")
    await chat_page.keyboard.press("Enter")
    await expect(widget.locator(".badge")).to_have_text("1")
    await open_widget(widget)
    await expect(widget.locator(".log .admin .bubble")).to_have_text(["It ships tomorrow."])
    await expect(widget.locator(".badge")).to_be_hidden()
    await expect(chat_page.locator(".message.from-admin .read-state")).to_contain_text("Read")

    # Alice archives: the chat leaves Bob's Active tab and is in Archived.
    bobs_archived = await open_live(await bobs_list.context.new_page(), ARCHIVED)
    await chat_page.get_by_role("button", name="Archive").click()
    await expect(card(bobs_list, chat_id)).to_have_count(0)
    await expect(card(bobs_archived, chat_id)).to_be_visible()

    # Alice goes back to her list (an open chat would mark new messages viewed at once); the user
    # writes again: the chat is back at the top of Active, unread, on both lists.
    await open_live(chat_page, LIST)
    await expect(card(chat_page, chat_id)).to_have_count(0)
    await send(widget, "One more question.")
    await expect(card(bobs_archived, chat_id)).to_have_count(0)
    for admin_list in (chat_page, bobs_list):
        await expect(first_card(admin_list)).to_have_attribute("data-chat-id", chat_id)
        await expect(first_card(admin_list)).to_have_attribute("data-unread", "true")
    chat = await rest("bob", "GET", f"/api/admin/chats?archived=false&q={name}@example.com")
    assert [(item["id"], item["archived"]) for item in chat["items"]] == [(chat_id, False)]
    assert [m["content"] for m in await rest.messages(name)] == [
        "Hi, where is my order?",
        "It ships tomorrow.",
        "One more question.",
    ]
