"""Business hours as plain data: open or closed at a moment, and the next opening."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from chats.availability import Interval, Schedule

WEEKDAYS_9_TO_5 = [Interval(day, time(9), time(17)) for day in range(5)]


def berlin(*hours: Interval, holidays: tuple[date, ...] = ()) -> Schedule:
    return Schedule.of("Europe/Berlin", hours or WEEKDAYS_9_TO_5, holidays)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_support_is_open_during_hours_in_the_schedules_time_zone() -> None:
    # Tuesday 2026-12-01, 08:30 UTC is 09:30 in Berlin.
    assert berlin().is_open(utc(2026, 12, 1, 8, 30)) is True


def test_support_is_closed_before_opening_in_the_schedules_time_zone() -> None:
    # 07:30 UTC is 08:30 in Berlin, though already past nine in Moscow.
    assert berlin().is_open(utc(2026, 12, 1, 7, 30)) is False


def test_closing_time_is_closed() -> None:
    assert berlin().is_open(utc(2026, 12, 1, 16, 0)) is False


def test_a_weekend_is_closed_and_the_next_opening_is_monday_morning() -> None:
    saturday = utc(2026, 12, 5, 12, 0)

    assert berlin().is_open(saturday) is False
    assert berlin().next_opening(saturday) == utc(2026, 12, 7, 8, 0)


def test_a_holiday_is_closed_all_day_and_the_next_opening_skips_it() -> None:
    schedule = berlin(holidays=(date(2026, 12, 24), date(2026, 12, 25)))
    christmas_eve = utc(2026, 12, 24, 10, 0)

    assert schedule.is_open(christmas_eve) is False
    # Saturday and Sunday follow: Monday the 28th, 09:00 in Berlin.
    assert schedule.next_opening(christmas_eve) == utc(2026, 12, 28, 8, 0)


def test_a_lunch_break_is_closed_and_the_afternoon_is_the_next_opening() -> None:
    schedule = berlin(Interval(1, time(9), time(12)), Interval(1, time(13), time(17)))
    lunch = utc(2026, 12, 1, 11, 30)  # 12:30 in Berlin

    assert schedule.is_open(lunch) is False
    assert schedule.next_opening(lunch) == utc(2026, 12, 1, 12, 0)


def test_hours_stay_wall_clock_hours_across_daylight_saving_time() -> None:
    # Summer: Berlin is UTC+2, so nine o'clock is 07:00 UTC.
    assert berlin().is_open(utc(2026, 7, 7, 7, 30)) is True
    assert berlin().next_opening(utc(2026, 7, 4, 12, 0)) == utc(2026, 7, 6, 7, 0)


def test_the_next_opening_after_hours_is_the_next_morning() -> None:
    assert berlin().next_opening(utc(2026, 12, 1, 17, 0)) == utc(2026, 12, 2, 8, 0)


def test_no_hours_at_all_is_always_open() -> None:
    schedule = Schedule.of("UTC", [], [])

    assert schedule.is_open(utc(2026, 12, 6, 3, 0)) is True
    assert schedule.next_opening(utc(2026, 12, 6, 3, 0)) is None


def test_a_schedule_that_never_opens_has_no_next_opening() -> None:
    # Open on Mondays only, and every Monday of the next 60 weeks is a holiday.
    mondays = [date(2026, 11, 30) + timedelta(weeks=n) for n in range(60)]
    closed = Schedule.of("UTC", [Interval(0, time(9), time(10))], mondays)

    assert closed.next_opening(utc(2026, 11, 30, 12, 0)) is None


def test_while_open_the_closing_is_the_end_of_todays_hours() -> None:
    assert berlin().closing(utc(2026, 12, 1, 8, 30)) == utc(2026, 12, 1, 16, 0)


def test_hours_that_follow_on_without_a_gap_close_at_the_end_of_the_last() -> None:
    schedule = berlin(Interval(1, time(9), time(13)), Interval(1, time(13), time(18)))
    assert schedule.closing(utc(2026, 12, 1, 8, 30)) == utc(2026, 12, 1, 17, 0)


def test_a_lunch_break_ends_the_morning_stretch() -> None:
    schedule = berlin(Interval(1, time(9), time(12)), Interval(1, time(13), time(17)))
    assert schedule.closing(utc(2026, 12, 1, 8, 30)) == utc(2026, 12, 1, 11, 0)


def test_there_is_no_closing_while_closed_or_with_no_hours_set() -> None:
    assert berlin().closing(utc(2026, 12, 5, 12, 0)) is None
    assert Schedule.of("Europe/Berlin", [], []).closing(utc(2026, 12, 5, 12, 0)) is None
