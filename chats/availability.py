"""Business hours: whether support is open at a moment, and when it opens next.

Staff keep the schedule in Django admin (chats.models: SupportSettings' time zone, OpeningHours
per weekday, Holidays); `Schedule` is that schedule as plain data, and every answer here comes
from it and a moment, so it is tested without a database or a clock. Hours are wall-clock times
in the schedule's time zone: 09:00-17:00 stays 09:00-17:00 across a daylight-saving change. An
interval never crosses midnight (a night shift is two intervals). With no hours at all, support
counts as always open: a desk that never set hours has not said it is closed.

`availability_now()` reads them (cached per process, CACHE_SECONDS) for the API.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.translation import gettext

# How far ahead `next_opening` looks: a year of holidays and closed weekdays.
LOOKAHEAD_DAYS = 400


@dataclass(frozen=True)
class Interval:
    weekday: int  # 0 is Monday, as datetime.weekday()
    opens: time
    closes: time


@dataclass(frozen=True)
class Schedule:
    time_zone: ZoneInfo
    hours: tuple[Interval, ...]
    holidays: frozenset[date]

    @classmethod
    def of(cls, time_zone: str, hours: Iterable[Interval], holidays: Iterable[date]) -> Schedule:
        ordered = sorted(hours, key=lambda interval: (interval.weekday, interval.opens))
        return cls(ZoneInfo(time_zone), tuple(ordered), frozenset(holidays))

    @property
    def always_open(self) -> bool:
        return not self.hours

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self.time_zone)
        if local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        return any(
            interval.opens <= now < interval.closes
            for interval in self.hours
            if interval.weekday == local.weekday()
        )

    def closing(self, at: datetime) -> datetime | None:
        """While open at `at`: when this stretch of hours ends (UTC), across intervals that
        follow on without a gap; None when always open or closed."""
        if self.always_open or not self.is_open(at):
            return None
        local = at.astimezone(self.time_zone)
        end = local.time().replace(tzinfo=None)
        today = [interval for interval in self.hours if interval.weekday == local.weekday()]
        while following := [i for i in today if i.opens <= end < i.closes]:
            end = max(interval.closes for interval in following)
        return datetime.combine(local.date(), end, tzinfo=self.time_zone).astimezone(UTC)

    def next_opening(self, at: datetime) -> datetime | None:
        """When support next opens after `at` (UTC); None when always open, or when no opening
        falls within LOOKAHEAD_DAYS."""
        if self.always_open:
            return None
        start = at.astimezone(self.time_zone).date()
        for offset in range(LOOKAHEAD_DAYS):
            day = start + timedelta(days=offset)
            if day in self.holidays:
                continue
            for interval in self.hours:
                if interval.weekday != day.weekday():
                    continue
                opening = datetime.combine(day, interval.opens, tzinfo=self.time_zone)
                if opening > at:
                    return opening.astimezone(UTC)
        return None


# --- Now, from the settings staff keep in Django admin --------------------------------------------


@dataclass(frozen=True)
class Availability:
    """What the widget needs to say who is there and when: open or not, the next opening, and
    the texts staff wrote."""

    open: bool
    opens_at: datetime | None
    closes_at: datetime | None
    time_zone: str
    greeting: str
    reply_time: str
    away_message: str
    hide_launcher_for_guests: bool
    agent_names: bool


# The settings change a few times a year and are read on every widget load: each process keeps
# them this many seconds (a change made in this process applies at once, elsewhere within it).
# Two threads that both find them stale both read them; no lock (a save while reading calls
# settings_changed in the reading thread).
CACHE_SECONDS = 30.0
_cached: tuple[float, Any] | None = None


def availability_now(at: datetime | None = None) -> Availability:
    """Now (or `at`), with the widget's texts in the active language."""
    from chats.models import DEFAULT_TEXTS, SupportSettings

    global _cached
    cached = _cached
    if cached is None or clock.monotonic() - cached[0] > CACHE_SECONDS:
        row = SupportSettings.load()
        hours = [Interval(h.weekday, h.opens, h.closes) for h in row.hours.all()]
        holidays = [holiday.date for holiday in row.holidays.all()]
        translated = {texts.language: texts for texts in row.texts.all()}
        schedule = Schedule.of(row.time_zone, hours, holidays)
        cached = _cached = (clock.monotonic(), (row, schedule, translated))
    row, schedule, translated = cached[1]
    at = at or datetime.now(UTC)
    is_open = schedule.is_open(at)
    texts = translated.get(translation.get_language())
    return Availability(
        open=is_open,
        opens_at=None if is_open else schedule.next_opening(at),
        closes_at=schedule.closing(at),
        time_zone=row.time_zone,
        hide_launcher_for_guests=row.hide_launcher_for_guests,
        agent_names=row.agent_names,
        **{name: _text(row, texts, name) for name in DEFAULT_TEXTS},
    )


def _text(row: Any, texts: Any, name: str) -> str:
    """A widget text in the active language: as staff gave it in that language, else as desk
    ships it (translated by the catalogs), else as staff wrote it."""
    own = getattr(texts, name, "") if texts is not None else ""
    if own:
        return str(own)
    from chats.models import DEFAULT_TEXTS

    written = str(getattr(row, name))
    return gettext(written) if written == DEFAULT_TEXTS[name] else written


def settings_changed(**kwargs: Any) -> None:
    """On a save or delete of the settings, their hours or holidays: read them anew."""
    global _cached
    _cached = None
