"""Formatted messages in Chromium: DeskLive.format (widget.js) against the table the server's
formatter passes too (tests/formatting_cases.json, tests/chats/test_formatting.py), and formatted
messages in the widget embedded on another site and on the dashboard.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, Route, expect

from chats.formatting import format_message
from tests.browser.conftest import PageFor, Rest
from tests.browser.other_site import Page as SitePage
from tests.browser.test_dashboard import open_live, user_says
from tests.browser.test_embed import MESSAGES, Shop, Visitor, shop, visitor
from tests.browser.test_widget import connected, open_widget, send
from tests.chats.test_formatting import ADVERSARIAL, as_browser_writes_it
from tests.live import LiveDesk

pytestmark = pytest.mark.asyncio

# Fixtures of test_embed.py, used here as they are: the shop on another site, its visitors.
__all__ = ["shop", "visitor"]

CASES = json.loads((Path(__file__).parent.parent / "formatting_cases.json").read_text("utf-8"))

# widget.js with data-desk-widget="off" (DeskLive alone, as the dashboard loads it), after every
# way of parsing a string as HTML has been made to throw: the formatter builds its nodes itself.
LOAD_DESKLIVE = """() => {
  const refuse = (name) => () => { throw new Error(`${name} was used`); };
  for (const [prototype, name] of [
    [Element.prototype, "innerHTML"], [Element.prototype, "outerHTML"],
    [ShadowRoot.prototype, "innerHTML"],
  ]) {
    const { get } = Object.getOwnPropertyDescriptor(prototype, name);
    Object.defineProperty(prototype, name, { get, set: refuse(name), configurable: true });
  }
  Element.prototype.insertAdjacentHTML = refuse("insertAdjacentHTML");
  Range.prototype.createContextualFragment = refuse("createContextualFragment");
  DOMParser.prototype.parseFromString = refuse("DOMParser");
  document.write = refuse("document.write");
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/static/chats/widget.js";
    script.setAttribute("data-desk-widget", "off");
    script.onload = resolve;
    script.onerror = () => reject(new Error("widget.js did not load"));
    document.head.append(script);
  });
}"""

# Each source's nodes, serialised by the browser.
RENDER = """(sources) => sources.map((source) => {
  const box = document.createElement("div");
  box.append(DeskLive.format(source));
  return box.innerHTML;
})"""


async def formatter(page_for: PageFor) -> Page:
    """A page of desk's (its CSP in force) with DeskLive loaded and nothing else running."""
    page = await page_for(None)
    await page.goto("/accounts/login/")
    await page.evaluate(LOAD_DESKLIVE)
    return page


# --- The formatter ------------------------------------------------------------------------------


async def test_the_browsers_formatter_renders_the_shared_table(page_for: PageFor) -> None:
    page = await formatter(page_for)

    rendered = await page.evaluate(RENDER, [case["source"] for case in CASES])

    assert dict(zip([case["name"] for case in CASES], rendered, strict=True)) == {
        case["name"]: case["html"] for case in CASES
    }


TOKENS = [
    *["*", "**", "***", "_", "`", "``", "```", "\n", "\r\n", " ", "\t", "- ", "* ", "1. ", "2) "],
    *[
        "a",
        "bc",
        "é",
        "мир",
        "مرحبا",
        "😀",
        "\U0001d400",
        "\u00a0",
        "(",
        ")",
        ".",
        ",",
        "!",
        "@",
        "#",
    ],
    *["x.example", "ann@x.example", "https://", "http://", "www.", "mailto:", "javascript:"],
    *["<b>", "&amp;", '"', "'", "[x]", "/"],
]


def random_sources(count: int, seed: int) -> list[str]:
    chance = random.Random(seed)
    return [
        "".join(chance.choice(TOKENS) for _ in range(chance.randint(1, 40))) for _ in range(count)
    ]


async def test_the_browser_and_the_server_render_random_sources_alike(page_for: PageFor) -> None:
    sources = random_sources(600, seed=17)
    page = await formatter(page_for)

    rendered = await page.evaluate(RENDER, sources)

    differ = [
        (source, in_browser, on_server)
        for source, in_browser in zip(sources, rendered, strict=True)
        if in_browser != (on_server := as_browser_writes_it(format_message(source)))
    ]
    assert differ == []


async def test_a_hostile_5000_character_message_formats_quickly_in_the_browser(
    page_for: PageFor,
) -> None:
    page = await formatter(page_for)

    milliseconds = await page.evaluate(
        """(sources) => sources.map((source) => {
          const started = performance.now();
          DeskLive.format(source);
          return performance.now() - started;
        })""",
        list(ADVERSARIAL.values()),
    )

    assert max(milliseconds) < 250, dict(zip(ADVERSARIAL, milliseconds, strict=True))


# --- In the widget, embedded on the shop ----------------------------------------------------------

LINK = 'target="_blank" rel="noopener noreferrer nofollow"'
QUESTION = "Is the **Fjell 2** tent `waterproof`?\n- for *winter* camping\n- in Norway"
QUESTION_HTML = (
    "Is the <strong>Fjell 2</strong> tent <code>waterproof</code>?"
    "<ul><li>for <em>winter</em> camping</li><li>in Norway</li></ul>"
)


def answer(tents: str) -> tuple[str, str]:
    """Support's reply with a link to the shop's tents page, and its HTML."""
    source = f"Yes:\n1. sealed seams\n2. photos: {tents}.\n\nNot a link: javascript:alert(1)"
    html = (
        f'Yes:<ol><li>sealed seams</li><li>photos: <a href="{tents}" {LINK}>{tents}</a>.</li></ol>'
        "Not a link: javascript:alert(1)"
    )
    return source, html


async def inner_html(locator: Locator) -> str:
    return str(await locator.evaluate("(element) => element.innerHTML"))


async def test_the_widget_on_another_site_formats_messages_and_opens_links_in_a_new_tab(
    visitor: Visitor, shop: Shop, rest: Rest, screenshots: Path
) -> None:
    shop.pages["/tents/"] = SitePage("<!doctype html><title>Tents</title><h1>Tents</h1>")
    tents = shop.site.url("/tents/")
    reply, reply_html = answer(tents)
    page = await visitor()
    home = shop.page()
    await page.goto(home)
    await open_widget(page)
    # The first message waits at the door, so that its pending bubble can be seen.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route(MESSAGES, hold)
    async with page.expect_response(
        lambda response: response.request.method == "POST" and bool(MESSAGES.search(response.url))
    ) as posted:
        await send(page, QUESTION)
        pending = page.locator(".log .pending .bubble")
        await expect(pending.locator("li")).to_have_count(2)
        assert await inner_html(pending) == QUESTION_HTML
        release.set()
    chat_id = str((await (await posted.value).json())["chat_id"])
    await page.unroute(MESSAGES)
    mine = page.locator(".log .user:not(.pending) .bubble")
    await expect(mine.locator("strong")).to_have_text("Fjell 2")
    assert await inner_html(mine) == QUESTION_HTML

    await connected(page)
    await rest("alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": reply})
    theirs = page.locator(".log .admin .bubble")
    await expect(theirs.locator("a")).to_have_count(1)
    assert await inner_html(theirs) == reply_html == as_browser_writes_it(format_message(reply))
    await page.screenshot(path=screenshots / "formatting-widget.png")

    async with page.context.expect_page() as opened:
        await theirs.get_by_role("link", name=tents).click()
    tab = await opened.value
    await tab.wait_for_load_state()
    assert tab.url == tents
    assert await tab.title() == "Tents"
    assert await tab.evaluate("window.opener") is None
    assert page.url == home


async def test_javascript_in_a_message_is_text_that_a_click_does_nothing_with(
    visitor: Visitor, shop: Shop, rest: Rest
) -> None:
    hostile = "Click javascript:alert(1) or [here](javascript:alert(2)) or JaVaScRiPt:alert(3)"
    page = await visitor()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    home = shop.page()
    await page.goto(home)
    await open_widget(page)
    chat_id = await first_message_id(page, "Hello")
    await rest("alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": hostile})
    bubble = page.locator(".log .admin .bubble")
    await expect(bubble).to_have_text(hostile)

    assert await bubble.locator("a").count() == 0
    # A click right on the words: nothing opens, nothing runs, the page stays.
    spot = await bubble.evaluate(
        """(bubble) => {
          const text = bubble.firstChild;
          const range = document.createRange();
          range.setStart(text, text.data.indexOf("javascript:"));
          range.setEnd(text, text.data.indexOf("javascript:") + 10);
          const box = range.getBoundingClientRect();
          return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
        }"""
    )
    await page.mouse.click(spot["x"], spot["y"])
    await page.wait_for_timeout(500)
    assert dialogs == []
    assert page.url == home
    assert len(page.context.pages) == 1


async def first_message_id(page: Page, content: str) -> str:
    async with page.expect_response(
        lambda response: response.request.method == "POST" and bool(MESSAGES.search(response.url))
    ) as posted:
        await send(page, content)
    return str((await (await posted.value).json())["chat_id"])


async def test_a_line_break_is_a_br_that_reads_as_a_new_line(
    page_for: PageFor, rest: Rest, fresh_user: Callable[[], str]
) -> None:
    user = fresh_user()
    await rest.reply("alice", user, "First line\nsecond line")
    page = await page_for(user)
    await page.goto("/")
    await open_widget(page)
    bubble = page.locator(".log .admin .bubble")

    await expect(bubble).to_have_text(["First line\nsecond line"], use_inner_text=True)
    assert await inner_html(bubble) == "First line<br>second line"


# --- On the dashboard ---------------------------------------------------------------------------


async def test_the_dashboard_formats_messages_as_the_server_rendered_them_and_live(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str], screenshots: Path
) -> None:
    name = fresh_user()
    await user_says(rest, name, QUESTION)
    page = await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")
    bubbles = page.locator(".message .bubble")
    # Rendered by the server (chats/formatting.py).
    await expect(bubbles).to_have_count(1)
    assert await inner_html(bubbles.first) == QUESTION_HTML

    # Live, by dashboard.js (DeskLive.format): the user's next message, and support's reply
    # written in the composer, which stays plain text.
    await user_says(rest, name, QUESTION)
    await expect(bubbles).to_have_count(2)
    reply, reply_html = answer("https://shop.example/tents/")
    await page.get_by_label(f"Reply to {name}@example.com").fill(reply)
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(bubbles).to_have_count(3)
    live_html = [await inner_html(bubble) for bubble in await bubbles.all()]
    assert live_html == [QUESTION_HTML, QUESTION_HTML, reply_html]
    link = page.locator(".message.from-admin .bubble a")
    await expect(link).to_have_attribute("href", "https://shop.example/tents/")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")

    # Reloaded, the server renders all three exactly as the browser did.
    await page.reload()
    await expect(bubbles).to_have_count(3)
    assert [await inner_html(bubble) for bubble in await bubbles.all()] == live_html
    await page.screenshot(path=screenshots / "formatting-dashboard.png")
    stored = [message["content"] for message in await rest.messages(name)]
    assert stored == [QUESTION, QUESTION, reply]


async def test_the_chat_list_shows_the_last_message_as_plain_text(
    page_for: PageFor, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    page = await open_live(await page_for("alice"), "/desk/")

    await user_says(rest, name, "**Where** is https://x.example?")

    preview = page.locator(f'.chat-card[data-chat-id="{live.chats[name]}"] [data-field="preview"]')
    await expect(preview).to_have_text("**Where** is https://x.example?")
    assert await preview.locator("*").count() == 0
