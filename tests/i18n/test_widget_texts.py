"""The widget's staff texts (greeting, reply time, away message) in each person's language."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from chats.models import DEFAULT_TEXTS, SupportSettings, SupportTexts


def texts(user: Any, language: str) -> dict[str, str]:
    browser = Client()
    browser.force_login(user)
    answer = browser.get("/api/support_chat", HTTP_ACCEPT_LANGUAGE=language).json()["availability"]
    return {name: answer[name] for name in DEFAULT_TEXTS}


def test_the_texts_desk_ships_are_translated_for_each_person(user: Any) -> None:
    with translation.override("de"):
        shipped = {name: gettext(text) for name, text in DEFAULT_TEXTS.items()}

    assert texts(user, "de") == shipped
    assert not set(shipped.values()) & set(DEFAULT_TEXTS.values())
    assert texts(user, "en") == DEFAULT_TEXTS


def test_texts_staff_changed_are_shown_as_written_in_every_language(user: Any) -> None:
    support = SupportSettings.load()
    support.greeting = "Welcome to Acme support!"
    support.save()

    assert texts(user, "ru")["greeting"] == "Welcome to Acme support!"


def test_texts_staff_gave_in_a_language_are_shown_in_it(user: Any) -> None:
    support = SupportSettings.load()
    support.greeting = "Welcome to Acme support!"
    support.save()
    SupportTexts.objects.create(
        support_settings=support, language="ru", greeting="Добро пожаловать в поддержку Acme!"
    )

    assert texts(user, "ru")["greeting"] == "Добро пожаловать в поддержку Acme!"
    assert texts(user, "fr")["greeting"] == "Welcome to Acme support!"


def test_a_blank_text_in_a_language_falls_back_to_the_settings_text(user: Any) -> None:
    support = SupportSettings.load()
    support.away_message = "Gone fishing."
    support.save()
    SupportTexts.objects.create(support_settings=support, language="es", greeting="¡Hola!")

    spanish = texts(user, "es")
    assert (spanish["greeting"], spanish["away_message"]) == ("¡Hola!", "Gone fishing.")


@pytest.mark.django_db
def test_a_language_has_one_row_of_texts() -> None:
    from django.db import IntegrityError, transaction

    support = SupportSettings.load()
    SupportTexts.objects.create(support_settings=support, language="de", greeting="Hallo")
    with pytest.raises(IntegrityError), transaction.atomic():
        SupportTexts.objects.create(support_settings=support, language="de", greeting="Servus")
