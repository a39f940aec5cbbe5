"""Who is there, in the widget: support online, business hours, the texts staff write, the launcher
hidden from guests while closed, and the names of the admins who reply.

This module's desk is its own (`live` is overridden here), because its support settings change
from test to test: `support.set(...)` writes them into the desk's database, as Django admin would,
and restarts its server. A server reads the settings at most every 30 seconds
(chats.availability.CACHE_SECONDS) and forgets them on a save only in the process that saved, so
a server started after the write is the one that surely reads them. freezegun does not reach the
browser: business hours are chosen around the real now, in a time zone where they fit in the day.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import IDENTITY_SECRET, PageFor, Rest, opened_socket
from tests.browser.other_site import Page as SitePage
from tests.browser.other_site import other_site
from tests.browser.test_embed import Shop, first_message, mint
from tests.browser.test_widget import connected, open_widget
from tests.live import BASE_DIR, LiveDesk, live_desk, start_server, stop, wait_until_listening

pytestmark = pytest.mark.asyncio

ADMINS = ["alice"]
USERS = ["ola", "pia", "quinn", "rosa", "sven", "tara", "emma"]
# A reader far from the settings' time zone: what the widget says of an opening is in the reader's.
READER_ZONE = "Asia/Tokyo"
READER_LOCALE = "en-GB"  # a 24-hour clock: "9:00", "16:00"
SETTINGS_ZONE = "America/New_York"
# The zones hours may be set in, so that an interval around now fits in one day (no interval
# crosses midnight).
ZONES = ["UTC", "Asia/Tokyo", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
SUPPORT_ONLINE = "Support is online"
DEFAULT_REPLY_TIME = "We usually reply within a few hours."


# --- A desk of its own, whose support settings the tests set -------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shop_port: int) -> Iterator[LiveDesk]:
    """This module's desk: one server, embedded on the shop (guests and identified people)."""
    with live_desk(
        Path(tmp_path_factory.mktemp("availability")),
        servers=1,
        users=USERS,
        admins=ADMINS,
        env={
            "DESK_SERVE_STATIC": "true",
            "DESK_EMBED_ORIGINS": f"http://localhost:{shop_port}",
            "DESK_IDENTITY_SECRET": IDENTITY_SECRET,
        },
    ) as desk:
        yield desk


@pytest.fixture(scope="module")
def shop(live: LiveDesk, shop_port: int) -> Iterator[Shop]:
    pages: dict[str, SitePage] = {}
    with other_site(pages, host="localhost", port=shop_port) as site:
        yield Shop(site, pages, live.a.origin)


Hours = list[tuple[int, time, time]]  # (weekday, opens, closes) in the settings' time zone


def write_settings(spec: str) -> None:
    """Run inside the desk's environment: the support settings as `spec` (JSON) has them, every
    other field back to its default, and exactly its opening hours."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    import django

    django.setup()
    from chats.models import OpeningHours, SupportSettings

    wanted = json.loads(spec)
    SupportSettings(pk=1, **wanted["fields"]).save()
    OpeningHours.objects.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(
            support_id=1,
            weekday=weekday,
            opens=time.fromisoformat(opens),
            closes=time.fromisoformat(closes),
        )
        for weekday, opens, closes in wanted["hours"]
    )


def write_first_name(username: str, first_name: str) -> None:
    """Run inside the desk's environment: a person's first name, as Django admin would set it."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username=username).update(first_name=first_name)


def in_desk(live: LiveDesk, call: str) -> None:
    """`call` (a call of a function of this module) in a process of the desk's environment."""
    subprocess.run(
        [sys.executable, "-c", f"import {__name__} as m; m.{call}"],
        cwd=BASE_DIR,
        env=live.env,
        check=True,
        timeout=60,
    )


@dataclass
class Support:
    """The desk's support settings, as staff keep them in Django admin."""

    live: LiveDesk
    applied: str | None = None

    async def set(self, *, hours: Hours | None = None, **fields: Any) -> None:
        """These settings (the others at their defaults) and opening hours, read by a server
        started afterwards. No hours: always open."""
        spec = json.dumps(
            {
                "fields": fields,
                "hours": [
                    (day, start.isoformat(), end.isoformat()) for day, start, end in hours or []
                ],
            }
        )
        if spec == self.applied:
            return
        await asyncio.to_thread(in_desk, self.live, f"write_settings({spec!r})")
        # Started from this (the main) thread: a server dies with the thread that started it.
        server = self.live.servers[0]
        stop(server.process)
        restarted = start_server(server.name, self.live.env, self.live.workdir, server.port)
        self.live.servers[0] = restarted
        wait_until_listening(restarted)
        self.applied = spec


@pytest.fixture(scope="module")
def support(live: LiveDesk) -> Support:
    return Support(live)


def zone_fitting(moment: datetime, margin: timedelta) -> str:
    """A time zone in which `margin` either side of `moment` falls within one day."""
    for zone in ZONES:
        local = moment.astimezone(ZoneInfo(zone))
        if (local - margin).date() == local.date() == (local + margin).date():
            return zone
    raise AssertionError(f"no zone of {ZONES} fits {margin} around {moment}")


def open_now() -> tuple[str, Hours]:
    """A time zone, and hours in it open from an hour ago to an hour from now (today only)."""
    now = datetime.now(UTC)
    zone = zone_fitting(now, timedelta(hours=1, minutes=5))
    local = now.astimezone(ZoneInfo(zone))
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    return zone, [(local.weekday(), start.time().replace(microsecond=0), end.time())]


def opening_at(moment: datetime, zone: str) -> Hours:
    """Hours in `zone` open once a week, for up to an hour from `moment` (closed until then)."""
    local = moment.astimezone(ZoneInfo(zone))
    opens = local.time().replace(microsecond=0)
    closes = min(local + timedelta(hours=1), local.replace(hour=23, minute=59, second=59)).time()
    return [(local.weekday(), opens, closes)]


def tomorrow_at_nine_for_the_reader() -> datetime:
    reader = datetime.now(ZoneInfo(READER_ZONE))
    nine = datetime.combine(reader.date() + timedelta(days=1), time(9), tzinfo=reader.tzinfo)
    return nine.astimezone(UTC)


async def as_reader(page: Page) -> Page:
    """The page's clock and formats are a reader's in READER_ZONE with READER_LOCALE."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": READER_ZONE})
    await cdp.send("Emulation.setLocaleOverride", {"locale": READER_LOCALE})
    return page


def status(page: Page) -> Any:
    return page.locator(".status .state")


def intro(page: Page) -> Any:
    return page.locator(".intro")


async def settled(page: Page) -> None:
    """The embedded widget has loaded: idle (no chat yet) with what it knows of support."""
    await expect(page.locator(".dot")).to_have_attribute("data-state", "idle")


# --- Who is there ---------------------------------------------------------------------------------


async def test_support_is_online_while_an_admins_dashboard_socket_is_open_and_changes_live(
    page_for: PageFor, live: LiveDesk, support: Support
) -> None:
    await support.set()
    page = await page_for("ola")
    await page.goto("/")
    await open_widget(page)
    await connected(page)
    await expect(status(page)).to_have_text(DEFAULT_REPLY_TIME)

    async with opened_socket(live, "alice", "/ws/admin/notifications/"):
        await expect(status(page)).to_have_text(SUPPORT_ONLINE)
        await expect(page.locator(".dot")).to_have_attribute("data-presence", "online")

    await expect(status(page)).to_have_text(DEFAULT_REPLY_TIME)


async def test_support_online_when_the_page_loads_is_said_at_once(
    page_for: PageFor, live: LiveDesk, support: Support
) -> None:
    await support.set()
    async with opened_socket(live, "alice", "/ws/admin/notifications/"):
        page = await page_for("pia")
        await page.goto("/")
        await open_widget(page)

        await expect(status(page)).to_have_text(SUPPORT_ONLINE)


async def test_the_status_and_intro_say_the_reply_time_within_business_hours(
    page_for: PageFor, support: Support
) -> None:
    zone, hours = open_now()
    await support.set(time_zone=zone, hours=hours, reply_time="We answer within the hour.")
    page = await page_for("quinn")
    await page.goto("/")
    await open_widget(page)

    await expect(status(page)).to_have_text("We answer within the hour.")
    await expect(intro(page).locator(".hours")).to_have_text("We answer within the hour.")


async def test_the_intro_greets_with_the_settings_greeting(
    page_for: PageFor, support: Support
) -> None:
    await support.set(greeting="Hej! The Acme team is here for you.")
    page = await page_for("rosa")
    await page.goto("/")
    await open_widget(page)

    await expect(intro(page).locator(".greeting")).to_have_text(
        "Hej! The Acme team is here for you."
    )


async def test_outside_business_hours_the_status_says_when_support_is_back_in_the_readers_time(
    page_for: PageFor, support: Support
) -> None:
    await support.set(
        time_zone=SETTINGS_ZONE,
        hours=opening_at(tomorrow_at_nine_for_the_reader(), SETTINGS_ZONE),
        away_message="We're away right now.",
    )
    page = await as_reader(await page_for("sven"))
    await page.goto("/")
    await open_widget(page)
    await connected(page)

    await expect(status(page)).to_have_text("Away until tomorrow at 9:00")
    await expect(page.locator(".dot")).to_have_attribute("data-presence", "away")
    await expect(intro(page).locator(".hours")).to_have_text(
        "We're away right now. We're back tomorrow at 9:00 and will email you our answer."
    )


async def test_a_guest_without_an_email_is_invited_to_leave_one_while_support_is_away(
    page_for: PageFor, shop: Shop, support: Support
) -> None:
    await support.set(
        time_zone=SETTINGS_ZONE,
        hours=opening_at(tomorrow_at_nine_for_the_reader(), SETTINGS_ZONE),
        away_message="We're away right now.",
    )
    page = await as_reader(await page_for(None))
    await page.goto(shop.page())
    await open_widget(page)
    await expect(intro(page).locator(".hours")).to_have_text(
        "We're away right now. We're back tomorrow at 9:00. Leave your email address and our "
        "answer will reach you there too."
    )

    await page.get_by_role("button", name="Add your email").click()

    await expect(page.get_by_label("Your email, for our answers (optional)")).to_be_focused()


async def test_when_support_opens_the_widget_says_so_without_a_reload(
    page_for: PageFor, shop: Shop, support: Support
) -> None:
    opens = datetime.now(UTC) + timedelta(seconds=20)
    zone = zone_fitting(opens, timedelta(hours=1))
    await support.set(time_zone=zone, hours=opening_at(opens, zone), hide_launcher_for_guests=True)
    page = await page_for(None)
    await page.goto(shop.page())
    await settled(page)
    launcher = page.locator(".launcher")
    await expect(launcher).to_be_hidden()

    # At the opening (and a few seconds' spread), the widget asks again.
    await expect(launcher).to_be_visible(timeout=40_000)
    await open_widget(page)
    await expect(status(page)).to_have_text(DEFAULT_REPLY_TIME)


# --- The launcher, for guests outside business hours ---------------------------------------------


async def closed_for_guests(support: Support) -> None:
    moment = tomorrow_at_nine_for_the_reader()
    await support.set(
        time_zone=SETTINGS_ZONE,
        hours=opening_at(moment, SETTINGS_ZONE),
        hide_launcher_for_guests=True,
    )


async def test_a_guest_outside_business_hours_gets_no_launcher_and_costs_no_guest(
    page_for: PageFor, shop: Shop, support: Support
) -> None:
    await closed_for_guests(support)
    page = await page_for(None)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(f"{request.method} {request.url}"))

    await page.goto(shop.page())

    await settled(page)
    await expect(page.locator(".launcher")).to_be_hidden()
    desk = shop.desk
    assert [url for url in asked if url.startswith(f"GET {desk}/api/")] == [
        f"GET {desk}/api/embed/availability"
    ]
    assert not [url for url in asked if url.startswith("POST ")]


async def test_an_identified_person_outside_business_hours_keeps_the_launcher(
    page_for: PageFor, shop: Shop, support: Support
) -> None:
    await closed_for_guests(support)
    page = await as_reader(await page_for(None))

    await page.goto(shop.page(identity=mint("shop-501", email="ida@example.com")))

    await expect(page.locator(".launcher")).to_be_visible()
    await open_widget(page)
    await expect(status(page)).to_have_text("Away until tomorrow at 9:00")


async def test_a_guest_with_a_chat_keeps_the_launcher_outside_business_hours(
    page_for: PageFor, shop: Shop, support: Support
) -> None:
    await support.set()
    page = await page_for(None)
    url = shop.page()
    await page.goto(url)
    await open_widget(page)
    await first_message(page, "Do you ship to Iceland?")
    await closed_for_guests(support)

    await page.reload()

    await expect(page.locator(".launcher")).to_be_visible()
    await open_widget(page)
    await expect(page.locator(".log .bubble")).to_have_text(["Do you ship to Iceland?"])


# --- Who replied ----------------------------------------------------------------------------------


async def test_a_reply_names_its_admin_from_support(
    page_for: PageFor, live: LiveDesk, rest: Rest, support: Support
) -> None:
    await support.set()
    await asyncio.to_thread(in_desk, live, "write_first_name('alice', 'Alice')")
    page = await page_for("tara")
    await page.goto("/")
    await open_widget(page)
    await connected(page)

    await rest.reply("alice", "tara", "Your order left the warehouse this morning.")

    reply = page.locator(".log .admin")
    await expect(reply.locator(".meta")).to_contain_text("Alice from Support · ")
    await expect(reply.locator(".sr")).to_have_text("Alice from Support:")


# --- Screenshots for the README -------------------------------------------------------------------


async def test_screenshots_of_support_online_and_away(
    page_for: PageFor, live: LiveDesk, rest: Rest, shop: Shop, support: Support, screenshots: Path
) -> None:
    await support.set(greeting="Hi! Ask us anything about your order.")
    await asyncio.to_thread(in_desk, live, "write_first_name('alice', 'Alice')")
    page = await page_for("emma")
    await page.goto("/")
    async with opened_socket(live, "alice", "/ws/admin/notifications/"):
        await open_widget(page)
        await page.keyboard.type("Hi! Can I still change the colour of my teapot?")
        await page.keyboard.press("Enter")
        await expect(page.locator(".log .msg:not(.pending)")).to_have_count(1)
        await rest.reply("alice", "emma", "Hi Emma! Yes, it hasn't shipped yet. Which colour?")
        await expect(page.locator(".log .msg")).to_have_count(2)
        await expect(status(page)).to_have_text(SUPPORT_ONLINE)
        await page.wait_for_timeout(300)
        await page.screenshot(path=screenshots / "widget-online.png")

    await support.set(
        time_zone=SETTINGS_ZONE,
        hours=opening_at(tomorrow_at_nine_for_the_reader(), SETTINGS_ZONE),
        greeting="Hi! Ask us anything about your order.",
    )
    away = await as_reader(await page_for(None))
    await away.goto(shop.page(greeting="Spring sale: 20% off all tents."))
    await open_widget(away)
    await expect(status(away)).to_have_text("Away until tomorrow at 9:00")
    await away.wait_for_timeout(300)
    await away.screenshot(path=screenshots / "widget-away.png")
    assert (screenshots / "widget-away.png").stat().st_size > 10_000
