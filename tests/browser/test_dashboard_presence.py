"""Who is there, on the admins' dashboard in Chromium (tests/browser/conftest.py): a dot on the
card of each person who has their chat open, "Online" / "Offline" on the chat's page, kept live
by `presence` events; and replies labelled with their agent's name.

A person is online while their widget's socket is open: here a real websocket client as that
person (`opened_socket`), on the live desk.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.conftest import PageFor, Rest, opened_socket
from tests.browser.test_dashboard import (
    LIST,
    SocketCutter,
    card,
    demo_page,
    open_live,
    user_says,
)
from tests.browser.test_dashboard import demo_desk as demo_desk
from tests.live import BASE_DIR, LiveDesk

pytestmark = pytest.mark.asyncio


def widget_path(live: LiveDesk, name: str) -> str:
    return f"/ws/support_chat/{live.chats[name]}/"


def presence(page: Page) -> Locator:
    """The chat page's "Online" / "Offline" next to the person's name."""
    return page.locator("[data-presence]")


# --- The list -------------------------------------------------------------------------------------


async def test_a_card_shows_a_dot_when_its_person_opens_the_chat(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await open_live(await page_for("alice"), LIST)
    dot = card(page, live.chats[name]).locator("[data-field=presence]")
    await expect(dot).to_be_hidden()

    async with opened_socket(live, name, widget_path(live, name)):
        await expect(dot).to_be_visible()
        await expect(card(page, live.chats[name])).to_have_attribute("data-online", "true")
        await expect(dot).to_have_text("Online")


async def test_a_cards_dot_goes_when_its_person_closes_the_chat(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await open_live(await page_for("alice"), LIST)
    dot = card(page, live.chats[name]).locator("[data-field=presence]")
    async with opened_socket(live, name, widget_path(live, name)):
        await expect(dot).to_be_visible()

    await expect(dot).to_be_hidden()
    await expect(card(page, live.chats[name])).to_have_attribute("data-online", "false")


async def test_a_card_drawn_when_the_list_loads_shows_a_person_already_there(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    async with opened_socket(live, name, widget_path(live, name)):
        page = await open_live(await page_for("alice"), LIST)

        await expect(card(page, live.chats[name]).locator("[data-field=presence]")).to_be_visible()


async def test_a_card_redrawn_from_an_event_keeps_its_dot(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    chat_id = live.chats[name]
    await user_says(rest, name, "Hello")
    page = await open_live(await page_for("alice"), LIST)
    async with opened_socket(live, name, widget_path(live, name)):
        await expect(card(page, chat_id)).to_have_attribute("data-online", "true")
        await rest("bob", "POST", f"/api/admin/chats/{chat_id}/archive")
        await expect(card(page, chat_id)).to_have_count(0)
        await rest("bob", "POST", f"/api/admin/chats/{chat_id}/unarchive")

        # Drawn again from the event's row, whose `user_online` is null (unknown).
        await expect(card(page, chat_id)).to_be_visible()
        await expect(card(page, chat_id).locator("[data-field=presence]")).to_be_visible()


# --- One chat -------------------------------------------------------------------------------------


async def test_the_chat_page_says_whether_the_person_is_there_when_it_opens(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await page_for("alice")
    await open_live(page, f"/desk/chats/{live.chats[name]}/")
    await expect(presence(page)).to_have_text("Offline")

    async with opened_socket(live, name, widget_path(live, name)):
        await page.reload()
        await expect(presence(page)).to_have_text("Online")
        await expect(presence(page)).to_have_attribute("data-online", "true")


async def test_the_chat_page_learns_who_came_while_its_socket_was_down(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await page_for("alice")
    cutter = SocketCutter()
    await page.route_web_socket("**/ws/support_chat/**", cutter.handle)
    await open_live(page, f"/desk/chats/{live.chats[name]}/")
    await cutter.cut()
    await expect(page.locator('[data-connection][data-state="reconnecting"]')).to_be_visible()

    async with opened_socket(live, name, widget_path(live, name)):
        await page.wait_for_timeout(500)  # its `presence` event went nowhere
        await expect(presence(page)).to_have_text("Offline")
        await cutter.restore(page)

        await expect(presence(page)).to_have_text("Online")


# --- Agent names ----------------------------------------------------------------------------------


def agent_reply(chat_id: str, first_name: str, content: str) -> None:
    """Run inside the live desk's environment: a staff member with a first name (the seeded
    admins have none) replies in the chat, through the service every reply goes through."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from chats import services

    username = f"agent-{first_name.lower()}"
    agent, _ = get_user_model().objects.get_or_create(
        username=username,
        defaults={"email": f"{username}@example.com", "first_name": first_name, "is_staff": True},
    )
    services.admin_reply_post(admin=agent, chat_id=chat_id, content=content)


async def reply_as_agent(live: LiveDesk, chat_id: str, first_name: str, content: str) -> None:
    call = f"import {__name__} as m, sys; m.agent_reply(*sys.argv[1:])"
    command = [sys.executable, "-c", call, chat_id, first_name, content]
    await asyncio.to_thread(
        subprocess.run, command, cwd=BASE_DIR, env=live.env, check=True, timeout=60
    )


async def test_a_live_reply_is_labelled_with_its_agents_name(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")

    await reply_as_agent(live, live.chats[name], "Carol", "Hi, how can I help?")
    reply = page.locator(".message.from-admin").last
    await expect(reply.locator(".bubble")).to_have_text("Hi, how can I help?")
    await expect(reply.locator("[data-field=sender]")).to_have_text("Carol")


async def test_a_live_reply_from_an_admin_without_a_name_is_labelled_support(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")

    await rest.reply("bob", name, "Hi from support.")
    reply = page.locator(".message.from-admin").last
    await expect(reply.locator(".bubble")).to_have_text("Hi from support.")
    await expect(reply.locator("[data-field=sender]")).to_have_text("Support")


# --- The screenshot -------------------------------------------------------------------------------


async def test_screenshot_of_the_list_with_people_online(
    browser: Browser, demo_desk: LiveDesk, screenshots: Path
) -> None:
    async with (
        opened_socket(demo_desk, "priya.nair", widget_path(demo_desk, "priya.nair")),
        opened_socket(demo_desk, "maria.lopez", widget_path(demo_desk, "maria.lopez")),
        opened_socket(demo_desk, "li.wei", widget_path(demo_desk, "li.wei")),
        demo_page(browser, demo_desk) as page,
    ):
        await open_live(page, LIST)
        await expect(page.locator(".chat-card[data-online=true]")).to_have_count(3)
        offer = page.get_by_role("button", name="Turn on desktop notifications")
        await expect(offer).to_be_visible()
        await expect(page).to_have_title("(3) Support Chats · desk")
        await page.screenshot(path=screenshots / "dashboard-presence.png")
    assert (screenshots / "dashboard-presence.png").stat().st_size > 10_000
