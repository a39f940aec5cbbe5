"""widget.js must know the languages desk speaks before it can ask for a catalog: its lists are
kept in step with settings.LANGUAGES (docs/languages.md, "Adding a seventh language")."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.conf import settings

from desk import i18n

WIDGET = Path(settings.BASE_DIR) / "chats" / "static" / "chats" / "widget.js"


def js_list(name: str) -> list[str]:
    found = re.search(rf"const {name} = (?:Object\.freeze\()?(\[[^\]]*\])", WIDGET.read_text())
    assert found, f"widget.js has no {name}"
    return list(json.loads(found.group(1)))


def test_the_widget_speaks_the_languages_of_the_settings() -> None:
    assert js_list("LANGUAGES") == i18n.codes()


def test_the_widget_lays_out_right_to_left_the_languages_django_says_are() -> None:
    assert js_list("RIGHT_TO_LEFT") == [
        code for code in i18n.codes() if i18n.direction(code) == "rtl"
    ]
