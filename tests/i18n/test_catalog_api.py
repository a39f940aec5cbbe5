"""GET /api/i18n/{language}: the browser scripts' texts, plural forms by CLDR category."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils.translation import trans_real

from desk import i18n


def test_each_language_has_its_catalog_with_its_direction(db: None) -> None:
    for code in i18n.codes():
        response = Client().get(f"/api/i18n/{code}")
        assert response.status_code == 200
        body = response.json()
        assert (body["language"], body["direction"]) == (code, i18n.direction(code))
        assert isinstance(body["messages"], dict)


def test_a_catalog_is_public_and_cached_by_browsers(db: None) -> None:
    response = Client().get("/api/i18n/ru")
    assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_a_language_desk_does_not_speak_is_404(db: None) -> None:
    response = Client().get("/api/i18n/xx")
    assert response.status_code == 404
    assert response.json() == {"detail": "desk does not speak this language."}


def test_the_sites_that_embed_the_widget_may_read_the_catalogs(db: None, settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example"]
    response = Client().get("/api/i18n/ar", HTTP_ORIGIN="https://shop.example")
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"


@pytest.mark.parametrize(
    ("language", "categories"),
    [
        ("en", {"one": 0, "other": 1}),
        ("de", {"one": 0, "other": 1}),
        # A million, and every whole multiple of it, is "many" ("un million de messages").
        ("fr", {"one": 0, "many": 1, "other": 2}),
        ("es", {"one": 0, "many": 1, "other": 2}),
        ("ru", {"one": 0, "few": 1, "many": 2}),
        ("ar", {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 4, "other": 5}),
    ],
)
def test_each_cldr_plural_category_maps_to_its_gettext_form(
    language: str, categories: dict[str, int], settings: Any
) -> None:
    plural = trans_real.DjangoTranslation(
        language, domain="djangojs", localedirs=[str(path) for path in settings.LOCALE_PATHS]
    ).plural
    assert i18n._categories(language, plural) == categories


def test_the_russian_catalog_gives_each_plural_form_its_category(db: None) -> None:
    messages = Client().get("/api/i18n/ru").json()["messages"]
    plurals = [forms for forms in messages.values() if isinstance(forms, dict)]
    assert plurals
    assert all(set(forms) == {"one", "few", "many"} for forms in plurals)
