"""DeskLive.i18n and DeskLive's formatters (widget.js), run in Chromium without a desk server.

A made-up origin, http://desk.test, serves widget.js (with data-desk-widget="off": the library
alone, as the dashboard loads it) and the catalogs these tests make up; the browser context sets
the reader's locale and time zone.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route

from tests.browser.conftest import VIEWPORT

pytestmark = pytest.mark.asyncio

ORIGIN = "http://desk.test"
WIDGET = Path(__file__).resolve().parents[2] / "chats" / "static" / "chats" / "widget.js"
PAGE = f"""<!doctype html><html><head><meta charset="utf-8">
<script src="{ORIGIN}/static/chats/widget.js" data-desk-widget="off"></script></head>
<body></body></html>"""
RUSSIAN = {
    "language": "ru",
    "direction": "ltr",
    "messages": {
        "Send message": "Отправить сообщение",
        "%(size)s KB": "%(size)s КБ",
        "%(count)s byte": {
            "one": "%(count)s байт",
            "few": "%(count)s байта",
            "many": "%(count)s байт",
            "other": "%(count)s байта",
        },
        "%(count)s new message": {"one": "%(count)s новое сообщение", "other": "%(count)s новых"},
        "message sender\u0004You": "Вы",
    },
}
ARABIC = {"language": "ar", "direction": "rtl", "messages": {"Send message": "أرسل الرسالة"}}


class Desk:
    """What the made-up desk serves: its catalogs (None: an error), and the requests it had."""

    def __init__(self) -> None:
        self.catalogs: dict[str, dict[str, Any] | None] = {"ru": RUSSIAN, "ar": ARABIC}
        self.requests: list[dict[str, str]] = []

    async def serve(self, route: Route) -> None:
        url = route.request.url
        self.requests.append({"url": url, **await route.request.all_headers()})
        if url == ORIGIN + "/":
            await route.fulfill(body=PAGE, content_type="text/html")
        elif url.endswith("/static/chats/widget.js"):
            await route.fulfill(body=WIDGET.read_text(), content_type="text/javascript")
        elif "/api/i18n/" in url:
            catalog = self.catalogs.get(url.rsplit("/", 1)[1])
            if catalog is None:
                await route.fulfill(status=500, body="no")
            else:
                await route.fulfill(json=catalog)
        else:
            await route.fulfill(status=404, body="")


Opened = Callable[..., Awaitable[Page]]


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest_asyncio.fixture
async def library(browser: Browser, desk: Desk) -> AsyncIterator[Opened]:
    """`await library(locale="ru-RU", timezone_id="Asia/Tokyo")`: a page with DeskLive loaded."""

    async def open_page(**context: Any) -> Page:
        browsing = await browser.new_context(viewport=VIEWPORT, **context)
        await browsing.route(f"{ORIGIN}/**", desk.serve)
        page = await browsing.new_page()
        await page.goto(ORIGIN + "/")
        return page

    yield open_page


async def i18n(page: Page, expression: str) -> Any:
    """`expression` evaluated with `i18n` (DeskLive.i18n) and `D` (DeskLive) in scope."""
    return await page.evaluate(
        f"async () => {{ const D = window.DeskLive; const i18n = D.i18n; return {expression}; }}"
    )


# --- pick -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "language"),
    [
        (["de-AT", "fr"], "de"),
        (["pt-BR", "es-419", "ru"], "es"),
        (["ar_EG"], "ar"),
        (["FR-ca"], "fr"),
        ("ru", "ru"),
        (["zh-Hant", "ja"], "en"),
        ([], "en"),
    ],
)
async def test_pick_takes_the_first_tag_desk_speaks_exactly_or_by_its_primary_subtag(
    library: Opened, tags: Any, language: str
) -> None:
    page = await library()

    assert await i18n(page, f"i18n.pick({json.dumps(tags)})") == language


async def test_the_library_starts_in_english_left_to_right(library: Opened) -> None:
    page = await library(locale="ru-RU")

    assert await i18n(page, "[i18n.language, i18n.direction, i18n.supported]") == [
        "en",
        "ltr",
        ["en", "ru", "de", "fr", "es", "ar"],
    ]


# --- load and use ---------------------------------------------------------------------------------


async def test_english_needs_no_catalog_from_desk(library: Opened, desk: Desk) -> None:
    page = await library()

    assert await i18n(page, f"i18n.load('en', '{ORIGIN}')") == "en"
    assert not [request for request in desk.requests if "/api/i18n/" in request["url"]]


async def test_a_loaded_catalog_translates_and_sets_the_direction(library: Opened) -> None:
    page = await library()

    assert await i18n(page, f"i18n.load('ar', '{ORIGIN}')") == "ar"
    assert await i18n(page, "[i18n.language, i18n.direction, i18n.gettext('Send message')]") == [
        "ar",
        "rtl",
        "أرسل الرسالة",
    ]


async def test_the_catalog_is_asked_for_without_cookies(library: Opened, desk: Desk) -> None:
    page = await library()
    await page.context.add_cookies([{"name": "sessionid", "value": "secret", "url": ORIGIN}])

    await i18n(page, f"i18n.load('ru', '{ORIGIN}/')")

    (asked,) = [request for request in desk.requests if "/api/i18n/" in request["url"]]
    assert asked["url"] == f"{ORIGIN}/api/i18n/ru"
    assert "cookie" not in asked


async def test_a_catalog_that_fails_to_load_leaves_the_page_in_english(
    library: Opened, desk: Desk
) -> None:
    desk.catalogs["ru"] = None
    page = await library()
    await i18n(page, "i18n.use({language: 'ar', direction: 'rtl', messages: {}})")

    assert await i18n(page, f"i18n.load('ru', '{ORIGIN}')") == "en"
    assert await i18n(page, "[i18n.language, i18n.direction, i18n.gettext('Send message')]") == [
        "en",
        "ltr",
        "Send message",
    ]


async def test_the_headers_say_the_language_and_the_browsers_time_zone(library: Opened) -> None:
    page = await library(timezone_id="America/Sao_Paulo")
    await i18n(page, "i18n.use({language: 'es', messages: {}})")

    assert await i18n(page, "i18n.headers()") == {
        "Accept-Language": "es",
        "X-Desk-Time-Zone": "America/Sao_Paulo",
    }


# --- gettext, ngettext, pgettext, interpolate -----------------------------------------------------


async def test_ngettext_takes_the_form_of_the_numbers_plural_category(library: Opened) -> None:
    page = await library()
    await i18n(page, f"i18n.use({json.dumps(RUSSIAN)})")

    forms = await i18n(
        page,
        "[1, 3, 5, 21, 112].map((n) => "
        "i18n.interpolate(i18n.ngettext('%(count)s byte', '%(count)s bytes', n), {count: n}))",
    )

    assert forms == ["1 байт", "3 байта", "5 байт", "21 байт", "112 байт"]


async def test_a_plural_category_the_catalog_lacks_takes_its_other_form(library: Opened) -> None:
    page = await library()
    await i18n(page, f"i18n.use({json.dumps(RUSSIAN)})")

    assert (
        await i18n(page, "i18n.ngettext('%(count)s new message', '%(count)s new messages', 5)")
        == "%(count)s новых"
    )


async def test_a_text_the_catalog_lacks_stays_english(library: Opened) -> None:
    page = await library()
    await i18n(page, f"i18n.use({json.dumps(RUSSIAN)})")

    assert await i18n(
        page,
        "[i18n.gettext('Retry'), i18n.ngettext('1 file', '%(count)s files', 1), "
        "i18n.ngettext('1 file', '%(count)s files', 4), i18n.pgettext('message sender', 'Me')]",
    ) == ["Retry", "1 file", "%(count)s files", "Me"]


async def test_pgettext_finds_the_text_of_its_context(library: Opened) -> None:
    page = await library()
    await i18n(page, f"i18n.use({json.dumps(RUSSIAN)})")

    assert await i18n(page, "[i18n.pgettext('message sender', 'You'), i18n.gettext('You')]") == [
        "Вы",
        "You",
    ]


async def test_interpolate_fills_named_placeholders_and_leaves_unknown_ones(
    library: Opened,
) -> None:
    page = await library()

    assert (
        await i18n(
            page,
            "i18n.interpolate('%(name)s: %(done)s%% of %(total)s, %(other)s', "
            "{name: 'Ann', done: 40, total: 3})",
        )
        == "Ann: 40% of 3, %(other)s"
    )


# --- dates, times, numbers ------------------------------------------------------------------------

MOMENT = "2024-01-29T05:05:00Z"  # a Monday; 14:05 in Tokyo


async def test_dates_and_times_are_in_the_language_and_the_browsers_time_zone(
    library: Opened,
) -> None:
    page = await library(locale="en-US", timezone_id="Asia/Tokyo")
    await i18n(page, f"i18n.use({json.dumps(RUSSIAN)})")

    assert await i18n(page, f"[D.time('{MOMENT}'), D.day('{MOMENT}')]") == [
        "14:05",
        "понедельник, 29 января",
    ]


async def test_english_dates_follow_the_browsers_own_english(library: Opened) -> None:
    british = await library(locale="en-GB", timezone_id="Asia/Tokyo")
    american = await library(locale="en-US", timezone_id="Asia/Tokyo")

    assert await i18n(british, f"D.time('{MOMENT}')") == "14:05"
    # A space, or the narrow no-break space newer ICU puts before "PM".
    assert re.fullmatch(r"2:05\sPM", await i18n(american, f"D.time('{MOMENT}')"))


async def test_relative_times_are_in_the_language(library: Opened) -> None:
    page = await library()
    await i18n(page, "i18n.use({language: 'de', messages: {}})")

    assert await i18n(
        page,
        "[D.relative(new Date(Date.now() - 5 * 60000).toISOString()), "
        "D.relative(new Date(Date.now() - 26 * 3600000).toISOString())]",
    ) == ["vor 5 Minuten", "gestern"]


async def test_sizes_are_written_with_the_languages_digits_and_words(library: Opened) -> None:
    page = await library()
    await i18n(page, f"i18n.use({json.dumps(RUSSIAN)})")

    assert await i18n(page, "[D.size(1536), D.size(1), D.size(22), D.size(48 * 1024)]") == [
        "1,5 КБ",
        "1 байт",
        "22 байта",
        "48 КБ",
    ]


async def test_english_sizes_keep_the_servers_digits(library: Opened) -> None:
    page = await library()

    assert await i18n(
        page, "[D.size(1), D.size(1000), D.size(4812), D.size(49152), D.size(1258291)]"
    ) == ["1 byte", "1000 bytes", "4.7 KB", "48 KB", "1.2 MB"]
