"""Business hours and the widget's texts, kept by staff in Django admin, as the API gives them."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from freezegun import freeze_time

from chats.models import Holiday, OpeningHours, SupportSettings
from tests.conftest import ApiClient

# Tuesday 2026-12-01, 10:00 UTC: 11:00 in Berlin.
TUESDAY_MORNING = "2026-12-01 10:00:00"


@pytest.fixture
def berlin_weekdays(db: None) -> SupportSettings:
    """Open Monday to Friday, 09:00-17:00 in Berlin."""
    support = SupportSettings.load()
    support.time_zone = "Europe/Berlin"
    support.save()
    for day in range(5):
        OpeningHours.objects.create(support=support, weekday=day, opens=time(9), closes=time(17))
    return support


@pytest.fixture
def superuser_browser(db: None) -> Client:
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    browser = Client()
    browser.force_login(boss)
    return browser


def availability(user: Any) -> dict[str, Any]:
    return dict(ApiClient(user).get("/support_chat").json()["availability"])


def test_with_no_hours_set_support_is_always_open(user: Any) -> None:
    with freeze_time("2026-12-06 03:00:00"):  # a Sunday night
        found = availability(user)

    assert (found["open"], found["opens_at"]) == (True, None)


def test_within_business_hours_support_is_open(user: Any, berlin_weekdays: Any) -> None:
    with freeze_time(TUESDAY_MORNING):
        assert availability(user)["open"] is True


def test_outside_business_hours_the_widget_learns_when_support_is_back(
    user: Any, berlin_weekdays: Any
) -> None:
    with freeze_time("2026-12-05 12:00:00"):  # Saturday
        found = availability(user)

    assert found["open"] is False
    assert found["opens_at"] == "2026-12-07T08:00:00Z"  # Monday 09:00 in Berlin
    assert found["away_message"].startswith("We're away right now.")


def test_a_holiday_closes_a_working_day(user: Any, berlin_weekdays: SupportSettings) -> None:
    Holiday.objects.create(support=berlin_weekdays, date=date(2026, 12, 1), name="Closed")
    with freeze_time(TUESDAY_MORNING):
        found = availability(user)

    assert found["open"] is False
    assert found["opens_at"] == "2026-12-02T08:00:00Z"


def test_texts_changed_by_staff_show_at_once(user: Any) -> None:
    support = SupportSettings.load()
    support.greeting = "Hallo! Wie können wir helfen?"
    support.save()

    assert availability(user)["greeting"] == "Hallo! Wie können wir helfen?"


def test_anyone_may_ask_whether_support_is_open_before_chatting(berlin_weekdays: Any) -> None:
    berlin_weekdays.hide_launcher_for_guests = True
    berlin_weekdays.save()
    with freeze_time("2026-12-05 12:00:00"):
        answer = Client().get("/api/embed/availability")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["open"], body["hide_launcher_for_guests"], body["support_online"]) == (
        False,
        True,
        False,
    )


def test_staff_edit_the_settings_in_django_admin(superuser_browser: Client) -> None:
    listed = superuser_browser.get("/admin/chats/supportsettings/")
    page = superuser_browser.get(listed["Location"])

    assert listed.status_code == 302
    assert page.status_code == 200
    assert b"What the widget says" in page.content


def test_django_admin_refuses_hours_that_close_before_they_open(
    superuser_browser: Client,
) -> None:
    support = SupportSettings.load()
    form = {
        "time_zone": "Europe/Berlin",
        "greeting": support.greeting,
        "reply_time": support.reply_time,
        "away_message": support.away_message,
        "agent_names": "on",
        "hours-TOTAL_FORMS": "1",
        "hours-INITIAL_FORMS": "0",
        "hours-0-weekday": "0",
        "hours-0-opens": "17:00",
        "hours-0-closes": "09:00",
        "holidays-TOTAL_FORMS": "0",
        "holidays-INITIAL_FORMS": "0",
    }
    answer = superuser_browser.post(f"/admin/chats/supportsettings/{support.pk}/change/", form)

    assert answer.status_code == 200
    assert b"Closing time must be after opening time" in answer.content
    assert not OpeningHours.objects.exists()


def test_django_admin_refuses_an_unknown_time_zone(superuser_browser: Client) -> None:
    support = SupportSettings.load()
    form = {
        "time_zone": "Europe/Atlantis",
        "greeting": support.greeting,
        "reply_time": support.reply_time,
        "away_message": support.away_message,
        "hours-TOTAL_FORMS": "0",
        "hours-INITIAL_FORMS": "0",
        "holidays-TOTAL_FORMS": "0",
        "holidays-INITIAL_FORMS": "0",
    }
    answer = superuser_browser.post(f"/admin/chats/supportsettings/{support.pk}/change/", form)

    assert b"is not a time zone" in answer.content
    assert SupportSettings.load().time_zone == "UTC"
