"""The widget in the reader's language, embedded on another site, in Chromium against a real desk.

The host site (tests/browser/other_site.py) is on http://localhost:<shop port>, desk on 127.0.0.1:
the widget is embedded and its visitor a guest, as on a customer's site. The widget's language
comes from its script tag (data-desk-lang), else the host page's <html lang>, else the browser's
languages (the browser context's locale).

Two kinds of catalog:
- a pseudo-translation made here from every string the JavaScript sources mark (each ASCII letter
  turned into its full-width twin), served in place of desk's: a word of the widget's chrome still
  in plain ASCII letters was never marked for translation. These tests pass before any
  translation exists.
- desk's own catalogs (GET /api/i18n/<language>): `test_*_with_desks_catalog` and the screenshots
  need the translators' work in locale/ (they fail on the strings not yet translated).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from babel import Locale
from playwright.async_api import (
    Browser,
    FloatRect,
    Locator,
    Page,
    Request,
    Route,
    WebSocket,
    expect,
)

from desk import catalogs
from tests.browser.conftest import VIEWPORT, Rest
from tests.browser.other_site import Page as SitePage
from tests.browser.other_site import Site, other_site
from tests.live import LiveDesk

pytestmark = pytest.mark.asyncio

HOST_HTML = """<!doctype html>
<html{lang}><head><meta charset="utf-8"><title>Nordlicht Teehaus</title>
<style>
  body {{ margin: 0; font: 16px/1.5 Georgia, serif; color: #213; background: #f4f1ea; }}
  main {{ max-width: 720px; padding: 48px; }}
  h1 {{ margin: 0 0 8px; font-size: 34px; }}
  .shelf {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 16px; margin-top: 28px; }}
  .shelf div {{ height: 140px; border-radius: 12px; background: #e2dac8; }}
</style></head>
<body><main><h1>{heading}</h1><p>{text}</p>
<div class="shelf"><div></div><div></div><div></div></div></main>
<script src="{desk}/static/chats/widget.js" data-desk-url="{desk}"{script} defer></script>
</body></html>
"""
PAGES = {
    "en": ("Nordlicht Tea House", "Loose-leaf teas, shipped every Tuesday."),
    "ru": ("Чайный дом «Нордлихт»", "Листовой чай с доставкой по вторникам."),  # noqa: RUF001
    "ar": ("بيت شاي نوردليشت", "شاي أوراق كاملة، يُشحن كل ثلاثاء."),
    "de": ("Teehaus Nordlicht", "Loser Tee, jeden Dienstag versandt."),
}
# The chrome's words: the text of each element of the widget with text of its own (a sentence
# with a name in a <bdi> whole), and its labels; not what people wrote (messages, files).
CHROME_TEXTS = """() => {
  const root = document.getElementById("desk-widget").shadowRoot;
  const theirs = "style, link, svg, .bubble, .attachment, .upload-name, .lightbox-title";
  const found = new Set();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    // The sentence a <bdi> (a name, a time) is part of, whole.
    const element = node.parentElement && node.parentElement.closest(":not(bdi)");
    if (!element || !node.data.trim() || element.closest(theirs)) continue;
    found.add(element.textContent.trim());
  }
  for (const element of root.querySelectorAll("*")) {
    if (element.closest(theirs)) continue;
    for (const name of ["placeholder", "aria-label", "title", "alt"]) {
      const value = (element.getAttribute(name) || "").trim();
      if (value) found.add(value);
    }
  }
  return [...found];
}"""
FULL_WIDTH = {code: code + 0xFEE0 for code in [*range(0x41, 0x5B), *range(0x61, 0x7B)]}
# Each plural form of the pseudo-translation ends with its CLDR category's mark.
PLURAL_MARKS = {"zero": "⁰", "one": "¹", "two": "²", "few": "³", "many": "⁴", "other": "⁵"}
PLACEHOLDER = re.compile(r"(%\(\w+\)s|%%)")
ASCII_WORD = re.compile(r"[A-Za-z]{2,}")


def pseudo(text: str) -> str:
    """`text` in full-width letters (U+FF21...), its placeholders as they are."""
    return "".join(
        part if PLACEHOLDER.fullmatch(part) else part.translate(FULL_WIDTH)
        for part in PLACEHOLDER.split(text)
    )


def marked_messages() -> list[Any]:
    """Every string widget.js and dashboard.js mark for translation (Babel's Message objects)."""
    return [message for message in catalogs.template("djangojs") if message.id]


def catalog_key(message: Any) -> str:
    singular = message.id if isinstance(message.id, str) else message.id[0]
    return f"{message.context}\u0004{singular}" if message.context else singular


def pseudo_catalog(language: str, direction: str) -> dict[str, Any]:
    """A catalog in the shape of GET /api/i18n/<language>, every string pseudo-translated."""
    categories = Locale.parse(language).plural_form.tags | {"other"}
    messages: dict[str, Any] = {}
    for message in marked_messages():
        if isinstance(message.id, str):
            messages[catalog_key(message)] = pseudo(message.id)
        else:
            singular, plural = message.id[0], message.id[1]
            messages[catalog_key(message)] = {
                category: pseudo(singular if category == "one" else plural) + PLURAL_MARKS[category]
                for category in categories
            }
    return {"language": language, "direction": direction, "messages": messages}


class Host:
    """The site that embeds desk's widget: pages made for each test."""

    def __init__(self, site: Site, pages: dict[str, SitePage], desk: str) -> None:
        self.site = site
        self.pages = pages
        self.desk = desk

    def page(self, *, lang: str | None, script_lang: str | None = None) -> str:
        """A page with `<html lang>` (None: none) and the widget (with data-desk-lang); its URL."""
        heading, text = PAGES.get(lang or "en", PAGES["en"])
        path = f"/pages/{uuid.uuid4().hex[:12]}/"
        self.pages[path] = SitePage(
            HOST_HTML.format(
                lang=f' lang="{html.escape(lang)}"' if lang else "",
                script=f' data-desk-lang="{html.escape(script_lang)}"' if script_lang else "",
                desk=self.desk,
                heading=heading,
                text=text,
            )
        )
        return self.site.url(path)


@pytest.fixture(scope="module")
def host(live: LiveDesk, shop_port: int) -> Iterator[Host]:
    pages: dict[str, SitePage] = {}
    with other_site(pages, host="localhost", port=shop_port) as site:
        yield Host(site, pages, live.a.origin)


Visitor = Callable[..., Awaitable[Page]]


@pytest_asyncio.fixture
async def visitor(browser: Browser, live: LiveDesk) -> AsyncIterator[Visitor]:
    """`await visitor(locale="ru-RU", pseudo="ru")`: a page in a browser context of its own, with
    the pseudo-translation served for the language `pseudo` names. An uncaught JavaScript error
    fails the test."""
    errors: list[str] = []

    async def open_page(*, pseudo: str | None = None, **context: Any) -> Page:
        context.setdefault("locale", "en-US")
        browsing = await browser.new_context(viewport=VIEWPORT, **context)
        if pseudo:
            catalog = pseudo_catalog(pseudo, "rtl" if pseudo == "ar" else "ltr")

            async def serve(route: Route) -> None:
                # Cross-origin, as desk's own answer is: the host page may read it.
                await route.fulfill(json=catalog, headers={"Access-Control-Allow-Origin": "*"})

            await browsing.route(f"{live.a.origin}/api/i18n/{pseudo}", serve)
        page = await browsing.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    assert not errors, f"JavaScript errors on the page: {errors}"


def widget(page: Page) -> Any:
    return page.locator("#desk-widget")


async def shown(page: Page, url: str) -> None:
    """The host page, with the widget's launcher shown (its language has loaded by then)."""
    await page.goto(url)
    await expect(page.locator(".launcher")).to_be_visible()


async def opened(page: Page) -> None:
    await page.locator(".launcher").click()
    await expect(page.locator("textarea")).to_be_focused()
    await expect(page.locator(".dot")).to_have_attribute("data-state", re.compile("idle|connected"))


async def first_message(page: Page, content: str) -> str:
    """The guest's first message (it makes their chat), stored; the chat's id."""
    async with page.expect_response(
        lambda response: (
            response.request.method == "POST"
            and response.url.endswith("/api/support_chat/messages")
        )
    ) as posted:
        await page.locator("textarea").fill(content)
        await page.keyboard.press("Enter")
    response = await posted.value
    assert response.status == 201, await response.text()
    await expect(page.locator(".log .msg:not(.pending)")).to_have_count(1)
    return str((await response.json())["chat_id"])


def staff_texts(live: LiveDesk, language: str) -> list[str]:
    """What staff wrote for the widget (greeting, reply time, away message), in `language`."""
    asked = urllib.request.Request(
        live.a.origin + "/api/embed/availability", headers={"Accept-Language": language}
    )
    with urllib.request.urlopen(asked, timeout=10) as answer:
        said = json.load(answer)
    return [said[name].strip() for name in ("greeting", "reply_time", "away_message")]


async def chrome_texts(page: Page, people: list[str]) -> list[str]:
    """The widget's chrome (CHROME_TEXTS), the words of `people` (the names and addresses people
    gave, the texts staff wrote) each replaced by a bullet."""
    texts = []
    for text in await page.evaluate(CHROME_TEXTS):
        for words in sorted(people, key=len, reverse=True):
            text = text.replace(words, "•")
        if text.strip("• "):
            texts.append(text)
    return texts


async def a_conversation(
    page: Page, rest: Rest, *, name: str, said: str, reply: str
) -> tuple[str, list[str]]:
    """The guest gives their name and email, writes, and support answers: the chat's id, and the
    people's words the widget shows outside messages (names, the address)."""
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    await page.locator(".edit").click()
    await page.locator(".details input[name=name]").fill(name)
    await page.locator(".details input[name=email]").fill(email)
    await page.locator(".details .save").click()
    await expect(page.locator(".who")).to_contain_text(name)
    chat_id = await first_message(page, said)
    answer = await rest("alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": reply})
    await expect(page.locator(".log .msg")).to_have_count(2)
    return chat_id, [name, email, *([answer["sender_name"]] if answer.get("sender_name") else [])]


async def box(locator: Locator) -> FloatRect:
    """Where `locator`'s element is on the page (it must be shown)."""
    found = await locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


async def eventually(check: Callable[[], Any]) -> Any:
    """The first truthy result of `check`, polled for up to ten seconds (None if none came)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while True:
                if result := check():
                    return result
                await asyncio.sleep(0.1)
    return None


# --- Which language -------------------------------------------------------------------------------


async def test_the_script_tags_language_comes_before_the_host_pages(
    visitor: Visitor, host: Host
) -> None:
    page = await visitor(pseudo="ru")
    await shown(page, host.page(lang="en", script_lang="ru"))

    await expect(widget(page)).to_have_attribute("lang", "ru")
    await expect(widget(page)).to_have_attribute("dir", "ltr")
    await expect(page.locator(".launcher")).to_have_attribute(
        "aria-label", pseudo("Open support chat")
    )


async def test_the_host_pages_language_is_the_widgets_when_its_script_names_none(
    visitor: Visitor, host: Host
) -> None:
    page = await visitor(pseudo="ar", locale="de-DE")
    await shown(page, host.page(lang="ar"))

    await expect(widget(page)).to_have_attribute("lang", "ar")
    await expect(widget(page)).to_have_attribute("dir", "rtl")


async def test_the_browsers_languages_choose_when_the_page_states_none(
    visitor: Visitor, host: Host
) -> None:
    page = await visitor(pseudo="ru", locale="ru-RU")
    await shown(page, host.page(lang=None))

    await expect(widget(page)).to_have_attribute("lang", "ru")
    await opened(page)
    await expect(page.locator("textarea")).to_have_attribute(
        "placeholder", pseudo("Write a message…")
    )


async def test_a_language_desk_does_not_speak_is_passed_over_for_the_next_choice(
    visitor: Visitor, host: Host
) -> None:
    page = await visitor(locale="ja-JP")
    await shown(page, host.page(lang="de-CH", script_lang="ja"))

    await expect(widget(page)).to_have_attribute("lang", "de")


async def test_a_reader_whose_language_desk_does_not_speak_gets_english(
    visitor: Visitor, host: Host
) -> None:
    page = await visitor(locale="ja-JP")
    await shown(page, host.page(lang="ja"))

    await expect(widget(page)).to_have_attribute("lang", "en")
    await expect(page.locator(".launcher")).to_have_attribute("aria-label", "Open support chat")


async def test_without_its_catalog_the_widget_works_in_english(
    visitor: Visitor, host: Host, live: LiveDesk
) -> None:
    page = await visitor(locale="ru-RU")

    async def unreachable(route: Route) -> None:
        await route.abort()

    await page.context.route(f"{live.a.origin}/api/i18n/**", unreachable)
    await shown(page, host.page(lang="ru"))

    await expect(widget(page)).to_have_attribute("lang", "en")
    await opened(page)
    await expect(page.get_by_role("textbox", name="Message to support")).to_be_visible()
    await first_message(page, "Здравствуйте! Is my order on its way?")


# --- What the widget tells desk -------------------------------------------------------------------


async def test_the_widgets_requests_and_socket_say_the_readers_language_and_time_zone(
    visitor: Visitor, host: Host, live: LiveDesk
) -> None:
    page = await visitor(pseudo="de", locale="de-DE", timezone_id="Europe/Berlin")
    requests: list[Request] = []
    sockets: list[WebSocket] = []
    page.on("request", lambda request: requests.append(request))
    page.on("websocket", lambda socket: sockets.append(socket))
    await shown(page, host.page(lang="de"))
    await opened(page)

    await first_message(page, "Ist mein Tee schon unterwegs?")
    assert await eventually(lambda: sockets), "the widget opened no socket"

    to_desk = [r for r in requests if "/api/" in r.url and "/api/i18n/" not in r.url]
    assert {r.url.split("/api/")[1] for r in to_desk} >= {
        "embed/availability",
        "support_chat/messages",
    }
    for request in to_desk:
        headers = await request.all_headers()
        assert headers.get("accept-language") == "de", request.url
        assert headers.get("x-desk-time-zone") == "Europe/Berlin", request.url
    assert sockets[0].url.endswith("?lang=de&tz=Europe%2FBerlin")


# --- Every word translated ------------------------------------------------------------------------


async def test_every_word_of_the_widgets_chrome_goes_through_the_catalog(
    visitor: Visitor, host: Host, live: LiveDesk, rest: Rest
) -> None:
    staff = await asyncio.to_thread(staff_texts, live, "ru")
    page = await visitor(pseudo="ru", locale="ru-RU", timezone_id="Europe/Moscow")
    await shown(page, host.page(lang="ru"))
    closed = await chrome_texts(page, staff)
    await opened(page)

    _chat, people = await a_conversation(
        page, rest, name="Nadia", said="Where is my order #1042?", reply="On its way, Nadia!"
    )

    people += staff
    untranslated = [
        text for text in closed + await chrome_texts(page, people) if ASCII_WORD.search(text)
    ]
    assert not untranslated, f"not marked for translation: {untranslated}"


async def test_the_unread_replies_are_counted_with_the_languages_plural_forms(
    visitor: Visitor, host: Host, rest: Rest
) -> None:
    page = await visitor(pseudo="ru", locale="ru-RU")
    await shown(page, host.page(lang="ru"))
    await opened(page)
    chat_id = await first_message(page, "Здравствуйте!")
    await page.locator(".close").click()
    launcher = page.locator(".launcher")
    english = (
        "Open support chat, %(count)s unread reply",
        "Open support chat, %(count)s unread replies",
    )

    for count, category in [(1, "one"), (3, "few"), (5, "many")]:
        while await page.locator(".log .msg.admin").count() < count:
            content = f"#{await page.locator('.log .msg.admin').count()}"
            await rest(
                "alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": content}
            )
            await expect(page.locator(".log .msg.admin")).to_have_count(int(content[1:]) + 1)
        form = pseudo(english[category != "one"]) + PLURAL_MARKS[category]
        await expect(launcher).to_have_attribute(
            "aria-label", form.replace("%(count)s", str(count))
        )


@pytest.mark.parametrize("language", ["ru", "ar"])
async def test_no_english_is_left_in_the_widgets_chrome_with_desks_catalog(
    visitor: Visitor, host: Host, live: LiveDesk, rest: Rest, language: str
) -> None:
    """Needs the translations in locale/: every string the widget shows that the catalog has not
    translated into `language` (or has left as in English on purpose) is reported."""
    served = await asyncio.to_thread(catalog_of, live, language)
    staff = await asyncio.to_thread(staff_texts, live, language)
    page = await visitor(locale=f"{language}-EG" if language == "ar" else "ru-RU")
    await shown(page, host.page(lang=language))
    closed = await chrome_texts(page, staff)
    await opened(page)
    _chat, people = await a_conversation(page, rest, name="Sami", said="Hello?", reply="Hi Sami!")

    people += staff
    shown_texts = closed + await chrome_texts(page, people)
    left = sorted(
        {
            f"{message_id!r} in {text!r}"
            for message_id, pattern in english_patterns(served)
            for text in shown_texts
            if pattern.search(text)
        }
    )
    assert not left, f"English left in the {language} widget: {left}"


def catalog_of(live: LiveDesk, language: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{live.a.origin}/api/i18n/{language}", timeout=10) as answer:
        return dict(json.load(answer)["messages"])


def english_patterns(served: dict[str, Any]) -> Iterator[tuple[str, re.Pattern[str]]]:
    """A pattern for each English string of widget.js that `served` does not keep as it is: its
    words, with anything in place of its placeholders."""
    for message in marked_messages():
        if not any(path.endswith("widget.js") for path, _line in message.locations):
            continue
        texts = [message.id] if isinstance(message.id, str) else list(message.id)
        translated = served.get(catalog_key(message))
        for english in texts:
            if translated == english:
                continue  # the same in both languages, on purpose
            parts = PLACEHOLDER.split(english)
            if not any(
                ASCII_WORD.search(part) for part in parts if not PLACEHOLDER.fullmatch(part)
            ):
                continue  # no words of its own ("%(count)s+")
            body = "".join(
                ".+?" if PLACEHOLDER.fullmatch(part) else re.escape(part) for part in parts
            )
            yield english, re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])")


# --- Right to left --------------------------------------------------------------------------------


async def test_in_arabic_the_launcher_and_panel_sit_at_the_bottom_left(
    visitor: Visitor, host: Host
) -> None:
    page = await visitor(pseudo="ar", locale="ar-EG")
    await shown(page, host.page(lang="ar"))

    launcher = await box(page.locator(".launcher"))
    assert launcher["x"] < 100, launcher
    await opened(page)
    panel = await box(page.locator(".panel"))
    assert panel["x"] < 100, panel
    assert panel["x"] + panel["width"] < VIEWPORT["width"] / 2, panel
    assert (
        await page.locator(".panel").evaluate("(node) => getComputedStyle(node).direction") == "rtl"
    )


async def test_a_message_in_the_other_direction_is_laid_out_in_its_own(
    visitor: Visitor, host: Host, rest: Rest
) -> None:
    page = await visitor(pseudo="ar", locale="ar-EG")
    await shown(page, host.page(lang="ar"))
    await opened(page)
    chat_id = await first_message(page, "Order #1042: the teapot arrived broken, can you help?")
    await rest(
        "alice",
        "POST",
        f"/api/admin/chats/{chat_id}/messages",
        {"content": "آسفون جدًا! سنرسل إبريقًا جديدًا (#1042)."},
    )

    english, arabic = page.locator(".log .bubble").nth(0), page.locator(".log .bubble").nth(1)
    await expect(arabic).to_be_visible()
    for bubble in (english, arabic):
        await expect(bubble).to_have_attribute("dir", "auto")
    direction = "(node) => getComputedStyle(node).direction"
    assert await english.evaluate(direction) == "ltr"
    assert await arabic.evaluate(direction) == "rtl"
    # The person's own message at the inline end's opposite: on the left in Arabic, replies right.
    assert (await box(english))["x"] < (await box(arabic))["x"]
    await expect(page.locator("textarea")).to_have_attribute("dir", "auto")
    isolation = "(node) => getComputedStyle(node).unicodeBidi"
    assert await page.locator(".log .meta time").first.evaluate(isolation) == "isolate"


# --- Screenshots ----------------------------------------------------------------------------------


async def test_screenshots_of_the_widget_in_russian_and_arabic(
    visitor: Visitor, host: Host, rest: Rest, screenshots: Path
) -> None:
    """docs/screenshots/widget-ru.png and widget-ar.png (with DESK_SCREENSHOTS=docs/screenshots):
    desk's own catalogs, so they show the translators' words."""
    conversations = {
        "ru": (
            "ru-RU",
            "Europe/Moscow",
            "Наталья",
            "Здравствуйте! Можно поменять сорт чая в заказе №1042?",
            "Конечно, Наталья! Заказ ещё не отправлен. Какой сорт вы хотите?",
            "Tie Guan Yin, пожалуйста 🍵",
        ),
        "ar": (
            "ar-EG",
            "Africa/Cairo",
            "ليلى",
            "مرحبًا! هل يمكنني تغيير الشاي في الطلب رقم 1042؟",
            "بالتأكيد يا ليلى! لم يُشحن الطلب بعد. أي نوع تريدين؟",
            "Tie Guan Yin من فضلك 🍵",
        ),
    }
    for language, (locale, zone, name, said, reply, again) in conversations.items():
        page = await visitor(locale=locale, timezone_id=zone)
        await shown(page, host.page(lang=language))
        await opened(page)
        chat_id, _people = await a_conversation(page, rest, name=name, said=said, reply=reply)
        await page.locator("textarea").fill(again)
        await page.keyboard.press("Enter")
        await expect(page.locator(".log .msg:not(.pending)")).to_have_count(3)
        await rest("alice", "POST", f"/api/admin/chats/{chat_id}/messages", {"content": "👍"})
        await expect(page.locator(".log .msg")).to_have_count(4)
        await page.mouse.move(0, 0)
        await page.wait_for_timeout(300)
        await page.screenshot(path=screenshots / f"widget-{language}.png")
