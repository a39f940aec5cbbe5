"""Which language a request, a socket and a person's chat are in (desk/i18n.py, chats.services)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chats import services
from chats.models import SupportChat
from desk import i18n


@pytest.mark.parametrize(
    ("tags", "picked"),
    [
        (["ru"], "ru"),
        (["de-AT", "en"], "de"),
        (["pt-BR", "fr-CA"], "fr"),
        (["AR"], "ar"),
        (["es_MX"], "es"),
        (["pt", "zh-Hans"], None),
        ([""], None),
        (["x" * 100], None),
    ],
)
def test_the_first_tag_desk_speaks_is_picked_exactly_or_by_its_primary_subtag(
    tags: list[str], picked: str | None
) -> None:
    assert i18n.language_pick(tags) == picked


def test_arabic_is_right_to_left_and_the_others_left_to_right() -> None:
    assert {code: i18n.direction(code) for code in i18n.codes()} == {
        "en": "ltr",
        "ru": "ltr",
        "de": "ltr",
        "fr": "ltr",
        "es": "ltr",
        "ar": "rtl",
    }


def scope(query: str = "", **headers: str) -> dict[str, Any]:
    return {
        "query_string": query.encode(),
        "headers": [
            (name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()
        ],
    }


def test_a_socket_is_answered_in_the_language_its_query_states() -> None:
    assert i18n.scope_language(scope("lang=ar", accept_language="de")) == "ar"


def test_a_socket_without_a_stated_language_follows_the_language_cookie() -> None:
    assert i18n.scope_language(scope(cookie="django_language=fr; sessionid=x")) == "fr"


def test_a_socket_without_query_or_cookie_follows_accept_language() -> None:
    assert i18n.scope_language(scope(accept_language="es-ES,es;q=0.9,en;q=0.5")) == "es"


def test_a_socket_stating_nothing_desk_speaks_is_answered_in_english() -> None:
    assert i18n.scope_language(scope("lang=klingon", cookie="bad cookie ;;; =")) == "en"
    assert i18n.scope_stated_language(scope()) is None


def test_a_time_zone_must_be_one_python_knows() -> None:
    assert i18n.time_zone_clean("Europe/Berlin") == "Europe/Berlin"
    assert i18n.time_zone_clean("Mars/Olympus_Mons") is None
    assert i18n.time_zone_clean("../../etc/passwd") is None
    assert i18n.time_zone_clean("A" * 1000) is None
    assert i18n.scope_time_zone(scope("tz=Asia%2FTokyo")) == "Asia/Tokyo"
    assert i18n.scope_time_zone(scope("tz=nowhere")) is None


def test_a_request_states_its_language_in_accept_language_only(rf: Any) -> None:
    assert i18n.request_language(rf.get("/", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")) == "ru"
    assert i18n.request_language(rf.get("/", HTTP_ACCEPT_LANGUAGE="*")) is None
    assert i18n.request_language(rf.get("/")) is None


# --- the person's language, kept with their chat --------------------------------------------------


def test_a_message_keeps_the_language_and_time_zone_its_widget_stated(user: Any) -> None:
    services.user_message_post(user=user, content="Hallo", language="de", time_zone="Europe/Berlin")

    chat = SupportChat.objects.get(user=user)
    assert (chat.language, chat.time_zone) == ("de", "Europe/Berlin")


def test_a_message_that_states_nothing_leaves_the_chats_language(user: Any) -> None:
    services.user_message_post(
        user=user, content="Bonjour", language="fr", time_zone="Europe/Paris"
    )
    services.user_message_post(user=user, content="by email, say")

    chat = SupportChat.objects.get(user=user)
    assert (chat.language, chat.time_zone) == ("fr", "Europe/Paris")


def test_a_person_who_switches_language_gets_the_new_one(user: Any) -> None:
    services.user_message_post(user=user, content="Hello", language="en")
    services.user_message_post(user=user, content="Привет", language="ru")

    assert SupportChat.objects.get(user=user).language == "ru"


# --- requests ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_is_in_the_language_of_accept_language() -> None:
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.headers["Content-Language"] == "de"


@pytest.mark.django_db
def test_the_language_switcher_sets_the_dashboards_language_for_later_requests() -> None:
    browser = Client()
    browser.post("/i18n/setlang/", {"language": "ar", "next": "/accounts/login/"})
    response = browser.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.headers["Content-Language"] == "ar"


@pytest.mark.django_db
def test_the_language_switcher_never_sends_anyone_to_another_site() -> None:
    response = Client().post("/i18n/setlang/", {"language": "ru", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert not response.headers["Location"].startswith("https://evil.example")
