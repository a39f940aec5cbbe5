"""The dashboard in Chromium with people from the embedded widget (chats/embed/): their cards built
live, a guest's chat merged into a person's, and the guest-link form run by dashboard.js.

The widget's people act over REST with their desk tokens, as the widget on a host page would.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from typing import Any
from urllib.error import HTTPError

import jwt
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import IDENTITY_SECRET, PageFor
from tests.browser.test_dashboard import LIST, card, first_card, open_live
from tests.live import LiveDesk

pytestmark = pytest.mark.asyncio


def _call(live: LiveDesk, method: str, path: str, body: Any, token: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        live.a.origin + path, json.dumps(body).encode(), headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)
    except HTTPError as error:
        raise AssertionError(f"{method} {path}: {error.code} {error.read()[:300]!r}") from None


async def widget(
    live: LiveDesk, method: str, path: str, body: Any, token: str | None = None
) -> Any:
    """What the embedded widget sends: no cookie; its desk token, once it has one."""
    return await asyncio.to_thread(_call, live, method, path, body, token)


def identity(sub: str, name: str, email: str) -> str:
    """An identity token as the host site signs it."""
    claims = {"sub": sub, "name": name, "email": email, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, IDENTITY_SECRET, algorithm="HS256")


async def new_guest(live: LiveDesk, name: str, email: str) -> dict[str, Any]:
    """A guest who gave a name and an address, and wrote once: the guest's token and chat."""
    guest = await widget(live, "POST", "/api/embed/guests", {"name": name, "email": email})
    message = await widget(
        live, "POST", "/api/support_chat/messages", {"content": "Hello"}, guest["token"]
    )
    return {**guest, "chat_id": message["chat_id"]}


async def test_a_guests_chat_appears_live_marked_as_a_guest(
    page_for: PageFor, live: LiveDesk
) -> None:
    page = await open_live(await page_for("alice"), LIST)
    guest = await new_guest(live, "Gina Live", "gina.live@visitor.example")
    shown = card(page, guest["chat_id"])
    await expect(first_card(page)).to_have_attribute("data-chat-id", guest["chat_id"])
    # The event carries the user's email only; the refresh that follows brings the guest.
    await expect(shown.locator(".guest-badge")).to_be_visible()
    await expect(shown.locator(".chat-name")).to_have_text("Gina Live")
    await expect(shown.locator(".chat-email")).to_have_text("gina.live@visitor.example")
    await expect(shown.locator(".unconfirmed")).to_be_visible()
    await expect(shown.locator(".external-id")).to_be_hidden()


async def test_a_guest_who_signs_in_on_the_host_site_leaves_one_card_the_persons(
    page_for: PageFor, live: LiveDesk
) -> None:
    page = await open_live(await page_for("alice"), LIST)
    guest = await new_guest(live, "Gina Merge", "gina.merge@visitor.example")
    await expect(card(page, guest["chat_id"])).to_be_visible()

    person = await widget(
        live,
        "POST",
        "/api/embed/token",
        {
            "identity": identity("shop-merge-1", "Gina Merged", "gina@shop.example"),
            "guest_secret": guest["guest_secret"],
        },
    )
    assert person["merged_messages"] == 1
    await expect(card(page, guest["chat_id"])).to_have_count(0)
    merged = card(page, person["chat_id"])
    await expect(merged.locator(".chat-name")).to_have_text("Gina Merged")
    await expect(merged.locator(".external-id")).to_have_text("ID shop-merge-1")
    await expect(merged.locator(".guest-badge")).to_be_hidden()


async def open_guest_link_form(page: Page) -> Page:
    await page.locator(".guest-link summary").click()
    # Set before submitting: a page reloaded by the form's own POST would lose it.
    await page.evaluate("window.stillThisPage = true")
    return page


async def test_the_guest_link_form_shows_the_link_without_leaving_the_page(
    page_for: PageFor, live: LiveDesk
) -> None:
    page = await open_guest_link_form(await open_live(await page_for("alice"), LIST))
    await page.get_by_label("Name", exact=True).fill("Gina Invited")
    await page.get_by_role("button", name="Create link").click()
    link = page.locator("[data-guest-link-url]")
    await expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/chat/[^/]+/$"))
    assert await page.evaluate("window.stillThisPage") is True
    await expect(page.get_by_label("Name", exact=True)).to_have_value("")
    chat_link = page.locator("[data-guest-link-chat]")
    await expect(chat_link).to_have_attribute("href", re.compile(r"^/desk/chats/"))
    # The link works: desk's own full-page chat for that guest.
    response = await page.request.get(await link.input_value())
    assert response.status == 200


async def test_the_guest_link_form_names_the_field_to_fix(
    page_for: PageFor, live: LiveDesk
) -> None:
    page = await open_guest_link_form(await open_live(await page_for("alice"), LIST))
    await page.get_by_label("Name", exact=True).fill("Gina")
    await page.get_by_label("Email the link to this address").check()
    await page.get_by_role("button", name="Create link").click()
    error = page.locator("[data-guest-link-error]")
    await expect(error).to_have_text("Give an email address to send the link to.")
    await expect(page.locator("#guest-email")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#guest-name")).not_to_have_attribute("aria-invalid", "true")
    await expect(page.locator("[data-guest-link-result]")).to_be_hidden()
    assert await page.evaluate("window.stillThisPage") is True
