"""The admins' dashboard in Russian and Arabic, in Chromium (tests/browser/conftest.py).

A staff member's language is their browser's (the browser context's `locale` sets Accept-Language
and navigator.languages) until they choose one with the topbar's switcher; dates and times are in
the browser's time zone (the context's `timezone_id`). Translated texts are compared with what the
catalogs say (locale/, read in this process), so these tests hold whatever words the translators
chose. Those that say `translated(...)` or `js_text(...)` fail until the catalogs are translated.

`DESK_SCREENSHOTS=docs/screenshots` keeps the screenshots (dashboard-ru.png, dashboard-ar.png).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.dates import format_date
from django.utils import translation
from django.utils.translation import gettext, pgettext
from playwright.async_api import Browser, FloatRect, Locator, Page, expect

from desk import i18n
from tests.browser.conftest import VIEWPORT, Rest
from tests.browser.test_dashboard import LIST, card, open_live, user_says
from tests.browser.test_dashboard import demo_desk as demo_desk
from tests.chats.test_dashboard_languages import english_texts
from tests.live import BASE_DIR, LiveDesk

pytestmark = pytest.mark.asyncio

# Far from UTC either way: a message near midnight UTC is on another day there.
KIRITIMATI = "Pacific/Kiritimati"  # UTC+14
PAGO_PAGO = "Pacific/Pago_Pago"  # UTC-11


def translated(language: str, text: str, context: str | None = None) -> str:
    """A text of the pages (django.po) in `language`; fails while it is not translated."""
    with translation.override(language):
        result = pgettext(context, text) if context else gettext(text)
    assert result != text, f"{text!r} has no {language} translation yet (run the translators)"
    return result


def js_text(language: str, text: str, context: str | None = None) -> str:
    """A text of dashboard.js (djangojs.po) in `language`; fails while it is not translated."""
    messages = i18n.catalog(language)["messages"]
    result = messages.get(f"{context}\x04{text}" if context else text)
    assert isinstance(result, str), f"{text!r} has no {language} translation yet (djangojs)"
    assert result != text, f"{text!r} is still English in {language}"
    return result


def js_plural(language: str, singular: str, count: int) -> str:
    """The form dashboard.js picks for `count`: the catalog's, by its CLDR plural category."""
    forms = i18n.catalog(language)["messages"].get(singular)
    assert isinstance(forms, dict), f"{singular!r} has no {language} plural forms yet (djangojs)"
    category = Locale.parse(language).plural_form(count)
    form = forms[category] if category in forms else forms["other"]
    return str(form).replace("%(count)s", str(count))


@pytest.fixture
def staff_page(
    browser: Browser, live: LiveDesk
) -> Callable[..., contextlib.AbstractAsyncContextManager[Page]]:
    """`async with staff_page("alice", locale="ru-RU", timezone_id=...)`: a page of a browser
    that prefers that language and lives in that time zone, logged in as the staff member."""

    @contextlib.asynccontextmanager
    async def open_page(
        name: str, *, locale: str, timezone_id: str = "UTC", desk: LiveDesk | None = None
    ) -> AsyncIterator[Page]:
        server = desk or live
        context = await browser.new_context(
            base_url=server.a.origin, viewport=VIEWPORT, locale=locale, timezone_id=timezone_id
        )
        await context.add_cookies(
            [{"name": "sessionid", "value": server.cookies[name], "url": server.a.origin}]
        )
        errors: list[str] = []
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page
        finally:
            await context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"

    return open_page


# Run in a live desk's environment (this module imports Django's apps, so it is not imported
# there): messages at given moments, for day headings. argv[1]: JSON [[who, content, ISO moment,
# the chat's user or null], ...]; with the chat's user, the message is the admin `who`'s reply.
SEED_MESSAGES = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
import django
django.setup()
from django.contrib.auth import get_user_model
from freezegun import freeze_time
from chats import services
people = {person.username: person for person in get_user_model().objects.all()}
for who, content, moment, customer in json.loads(sys.argv[1]):
    with freeze_time(moment):
        if customer is None:
            services.user_message_post(user=people[who], content=content)
        else:
            chat = services.chat_get_or_create(user=people[customer])
            services.admin_reply_post(admin=people[who], chat_id=chat.id, content=content)
"""


def post_at(live: LiveDesk, messages: list[tuple[str, str, datetime, str | None]]) -> None:
    spec = [[who, text, at.isoformat(), chat_of] for who, text, at, chat_of in messages]
    subprocess.run(
        [sys.executable, "-c", SEED_MESSAGES, json.dumps(spec)],
        cwd=BASE_DIR,
        env=live.env,
        check=True,
        timeout=60,
    )


async def box(locator: Locator) -> FloatRect:
    found = await locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


async def visible_texts(page: Page) -> list[str]:
    """The texts a staff member sees (and hears: aria-labels, placeholders, titles), but for what
    people wrote and who they are (dir="auto": messages, names, emails), previews, a reply's
    sender, ids and the language switcher's names (each in its own language)."""
    return list(
        await page.evaluate(
            """() => {
      const skip = "[dir=auto]:not(.chat-preview), [data-field=preview], .sender, bdi, " +
        "[data-language-select], script, style";
      const texts = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        const text = node.textContent.replace(/\\s+/g, " ").trim();
        if (!text || parent.closest(skip) || !parent.checkVisibility()) continue;
        texts.push(text);
      }
      for (const element of document.querySelectorAll("[placeholder], [aria-label], [title]")) {
        if (element.closest(skip) || !element.checkVisibility()) continue;
        for (const name of ["placeholder", "aria-label", "title"]) {
          const value = (element.getAttribute(name) || "").replace(/\\s+/g, " ").trim();
          if (value) texts.push(value);
        }
      }
      return texts;
    }"""
        )
    )


# --- The language of the dashboard ----------------------------------------------------------------


async def test_the_list_is_in_russian_for_a_russian_browser(
    staff_page: Any, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Здравствуйте! Where is my order?")
    async with staff_page("alice", locale="ru-RU") as page:
        await open_live(page, LIST)
        await expect(page.locator("html")).to_have_attribute("lang", "ru")
        await expect(page.locator("html")).to_have_attribute("dir", "ltr")
        await expect(page.locator("[data-language-select]")).to_have_value("ru")
        await expect(page.locator("h1")).to_have_text(translated("ru", "Support Chats"))
        await expect(page.locator("[data-connection]")).to_have_text(
            js_text("ru", "Live", "the dashboard's connection")
        )


async def test_a_card_counts_messages_in_the_russian_plural_forms_live(
    staff_page: Any, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    """1 сообщение, 3 сообщения, 5 сообщений: Russian has three forms where English has two."""
    name = fresh_user()
    async with staff_page("alice", locale="ru-RU") as page:
        await open_live(page, LIST)
        count = card(page, live.chats[name]).locator('[data-field="count"]')
        shown = []
        for n in range(1, 6):
            await user_says(rest, name, f"Сообщение {n}")
            if n in (1, 3, 5):
                await expect(card(page, live.chats[name])).to_have_attribute("data-count", str(n))
                shown.append(await count.text_content())
    assert shown == [js_plural("ru", "%(count)s message", n) for n in (1, 3, 5)]
    assert len(set(shown)) == 3


async def test_the_switcher_changes_the_dashboards_language_for_every_page(
    staff_page: Any, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    async with staff_page("bob", locale="en-US") as page:
        await open_live(page, f"{LIST}?archived=1")
        # With this script, choosing is enough: the button is for a page without it.
        await expect(page.locator("[data-language-submit]")).to_be_hidden()
        await expect(page.locator("html")).to_have_attribute("lang", "en")

        await page.locator("[data-language-select]").select_option("ar")
        await expect(page.locator("html")).to_have_attribute("lang", "ar")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        assert page.url.endswith("/desk/?archived=1")  # back where the choice was made
        await expect(page.locator("[data-language-select]")).to_have_value("ar")

        await page.goto(f"/desk/chats/{live.chats[name]}/")
        await expect(page.locator("html")).to_have_attribute("lang", "ar")
        await page.locator("[data-language-select]").select_option("en")
        await expect(page.locator("html")).to_have_attribute("dir", "ltr")


@pytest.mark.parametrize(("language", "locale"), [("ru", "ru-RU"), ("ar", "ar-EG")])
async def test_no_text_of_the_dashboard_is_left_in_english(
    staff_page: Any,
    rest: Rest,
    live: LiveDesk,
    fresh_user: Callable[[], str],
    language: str,
    locale: str,
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello, is anyone there?")
    await rest.reply("bob", name, "Yes, how can we help?")
    await rest(name, "PATCH", "/api/support_chat/mark_read")
    english = english_texts(language)
    async with staff_page("alice", locale=locale) as page:
        left: dict[str, list[str]] = {}
        for url in (LIST, f"{LIST}?archived=1", f"/desk/chats/{live.chats[name]}/"):
            await open_live(page, url)  # connected: the script has written its texts
            left[url] = [text for text in await visible_texts(page) if english.match(text)]
    assert not any(left.values()), f"Still in English, in {language}: {left}"


# --- Right to left ------------------------------------------------------------------------------


async def test_an_arabic_chat_is_laid_out_right_to_left(
    staff_page: Any, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello, my order has not arrived")
    await rest.reply("bob", name, "مرحبا! سنتحقق من طلبك الآن")
    async with staff_page("alice", locale="ar") as page:
        await open_live(page, f"/desk/chats/{live.chats[name]}/")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        thread = await box(page.locator("#thread"))
        person = await box(page.locator(".message.from-user .bubble"))
        support = await box(page.locator(".message.from-admin .bubble"))
        middle = thread["x"] + thread["width"] / 2
        # The person's messages on the right (the start), support's on the left (the end).
        assert person["x"] > middle
        assert support["x"] + support["width"] < middle
        # Each message in its own direction, whatever the page's.
        directions = await page.locator(".bubble").evaluate_all(
            "bubbles => bubbles.map(b => getComputedStyle(b).direction)"
        )
        assert directions == ["ltr", "rtl"]
        # The back arrow points right, back towards the list.
        arrow = await page.locator(".back-arrow").evaluate("a => getComputedStyle(a).transform")
        assert arrow.startswith("matrix(-1")


async def test_an_arabic_list_puts_the_unread_dot_on_the_right(
    staff_page: Any, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "Hello")
    async with staff_page("alice", locale="ar") as page:
        await open_live(page, LIST)
        chat = card(page, live.chats[name])
        dot = await box(chat.locator(".unread-dot"))
        body = await box(chat.locator(".chat-card-body"))
        assert dot["x"] > body["x"] + body["width"] - 1


async def test_an_arabic_message_in_an_english_dashboard_reads_right_to_left(
    staff_page: Any, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    await user_says(rest, name, "طلبي لم يصل بعد، رقم الطلب 4521")
    async with staff_page("alice", locale="en-US") as page:
        await open_live(page, f"/desk/chats/{live.chats[name]}/")
        bubble = page.locator(".message.from-user .bubble")
        assert await bubble.evaluate("b => getComputedStyle(b).direction") == "rtl"
        await expect(page.locator("html")).to_have_attribute("dir", "ltr")


# --- Dates and times in the reader's time zone --------------------------------------------------


def near_midnight_utc() -> tuple[datetime, datetime]:
    """Half an hour either side of a midnight UTC, over a year ago (so never "today")."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    midnight -= timedelta(days=400)
    return midnight - timedelta(minutes=30), midnight + timedelta(minutes=30)


def spaced(text: str) -> str:
    """Intl (the browser's ICU) and Babel may differ in the kind of space (a narrow no-break
    one before the Russian year, say); the words are the same."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


async def day_sections(page: Page) -> list[tuple[str, list[str]]]:
    """The chat's day headings, each with its messages' times."""
    return [
        (spaced(section["heading"]), section["times"])
        for section in await page.locator(".day").evaluate_all(
            """sections => sections.map(section => ({
              heading: section.querySelector(".day-heading").textContent,
              times: [...section.querySelectorAll(".message-meta time")].map(t => t.textContent),
            }))"""
        )
    ]


@pytest.mark.parametrize(
    ("timezone_id", "hours"),
    [(KIRITIMATI, 14), (PAGO_PAGO, -11)],
)
async def test_messages_are_grouped_by_the_readers_days_in_their_time_zone(
    staff_page: Any, live: LiveDesk, fresh_user: Callable[[], str], timezone_id: str, hours: int
) -> None:
    """23:30 and 00:30 UTC are two days on the server, one day for a reader far from UTC."""
    name = fresh_user()
    before, after = near_midnight_utc()
    post_at(live, [(name, "Late at night", before, None), ("bob", "Good morning", after, name)])
    async with staff_page("alice", locale="ru-RU", timezone_id=timezone_id) as page:
        await open_live(page, f"/desk/chats/{live.chats[name]}/")
        local = [moment + timedelta(hours=hours) for moment in (before, after)]
        assert local[0].date() == local[1].date()
        await expect(page.locator(".day")).to_have_count(1)
        assert await day_sections(page) == [
            (
                spaced(format_date(local[0].date(), "full", locale="ru")),
                [f"{moment.hour}:{moment.minute:02d}" for moment in local],
            )
        ]


async def test_the_same_messages_are_two_days_for_a_reader_in_utc(
    staff_page: Any, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    before, after = near_midnight_utc()
    post_at(live, [(name, "Late at night", before, None), ("bob", "Good morning", after, name)])
    async with staff_page("alice", locale="ar", timezone_id="UTC") as page:
        await open_live(page, f"/desk/chats/{live.chats[name]}/")
        await expect(page.locator(".day")).to_have_count(2)
        assert [heading for heading, _times in await day_sections(page)] == [
            spaced(format_date(moment.date(), "full", locale="ar")) for moment in (before, after)
        ]


async def test_todays_and_yesterdays_messages_are_headed_so_in_the_readers_language(
    staff_page: Any, rest: Rest, live: LiveDesk, fresh_user: Callable[[], str]
) -> None:
    name = fresh_user()
    post_at(live, [(name, "Yesterday's question", datetime.now(UTC) - timedelta(days=1), None)])
    async with staff_page("alice", locale="ru-RU", timezone_id="UTC") as page:
        await open_live(page, f"/desk/chats/{live.chats[name]}/")
        await user_says(rest, name, "Today's question")
        await expect(page.locator(".day-heading")).to_have_text(
            [js_text("ru", "Yesterday"), js_text("ru", "Today")]
        )


# --- Screenshots ----------------------------------------------------------------------------------


async def test_screenshots_of_the_dashboard_in_russian_and_arabic(
    staff_page: Any, demo_desk: LiveDesk, screenshots: Path
) -> None:
    async with staff_page(
        "alice", locale="ru-RU", timezone_id="Europe/Moscow", desk=demo_desk
    ) as page:
        await open_live(page, LIST)
        await expect(page.locator(".chat-card").first).to_be_visible()
        await page.screenshot(path=screenshots / "dashboard-ru.png")
    async with staff_page("alice", locale="ar", timezone_id="Asia/Riyadh", desk=demo_desk) as page:
        await open_live(page, f"/desk/chats/{demo_desk.chats['maria.lopez']}/")
        await expect(page.locator(".message")).not_to_have_count(0)
        await page.screenshot(path=screenshots / "dashboard-ar.png")
    assert (screenshots / "dashboard-ru.png").stat().st_size > 10_000
    assert (screenshots / "dashboard-ar.png").stat().st_size > 10_000
