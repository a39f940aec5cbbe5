"""widget.js marks its texts so that `manage.py catalogs update` finds every one (desk/catalogs.py).

The extractor (Babel's JavaScript lexer) only sees calls of the plain names gettext, ngettext and
pgettext whose first arguments are string literals; a text built any other way never reaches the
translators and shows in English whatever the reader's language. These tests read widget.js itself,
no browser needed; tests/browser/test_widget_languages.py checks what the running widget shows.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.extract import extract

from desk import catalogs

WIDGET = Path(catalogs.ROOT) / "chats" / "static" / "chats" / "widget.js"
SOURCE = WIDGET.read_text(encoding="utf-8")
# A call of gettext, ngettext or pgettext (not a property such as i18n.gettext, nor a definition).
CALL = re.compile(r"(?<![\w.])(?:n|p)?gettext\(")
STRING = r'"(?:[^"\\\n]|\\.)*"'
# The literal arguments the extractor reads: one (gettext), or two (ngettext, pgettext).
LITERAL_CALL = re.compile(
    rf"(?<![\w.])(?:gettext\(\s*{STRING}\s*\)|(?:ngettext|pgettext)\(\s*{STRING}\s*,\s*{STRING}\s*[,)])"
)


def calls() -> list[int]:
    """Where each gettext-family call in widget.js starts: not in a comment, nor the functions'
    own definitions."""
    found = []
    for match in CALL.finditer(SOURCE):
        before = SOURCE[SOURCE.rfind("\n", 0, match.start()) + 1 : match.start()].strip()
        if not (before.startswith(("function", "*", "/*")) or "//" in before):
            found.append(match.start())
    return found


def line_of(offset: int) -> int:
    return SOURCE.count("\n", 0, offset) + 1


def extracted() -> list[tuple[int, str | tuple[str, ...], list[str], str | None]]:
    return list(
        extract(
            "javascript",
            io.BytesIO(SOURCE.encode()),
            keywords=catalogs.JS_KEYWORDS,
            comment_tags=catalogs.COMMENT_TAGS,
            options={"encoding": "utf-8", "jsx": False, "template_string": False},
            strip_comment_tags=True,
        )
    )


def texts(message: str | tuple[str, ...]) -> tuple[str, ...]:
    return (message,) if isinstance(message, str) else tuple(text for text in message if text)


def test_every_translation_call_has_double_quoted_literals_for_the_extractor() -> None:
    literal = {match.start() for match in LITERAL_CALL.finditer(SOURCE)}
    not_literal = [
        f"line {line_of(start)}: {SOURCE[start : SOURCE.find(chr(10), start)].strip()}"
        for start in calls()
        if start not in literal
    ]

    assert calls()
    assert not not_literal, f"calls the extractor cannot read: {not_literal}"


def test_the_extractor_finds_every_call_in_widget_js() -> None:
    found = sorted(line for line, *_ in extracted())

    assert found == [line_of(start) for start in calls()]


def test_placeholders_are_named_python_format_only() -> None:
    unnamed = re.compile(r"%[sdif]|\$\{|\{\d*\}")
    wrong = [
        text
        for _line, message, _comments, _context in extracted()
        for text in texts(message)
        if unnamed.search(text)
    ]

    assert not wrong, f"use %(name)s placeholders (filled by interpolate()): {wrong}"


def test_a_text_with_placeholders_tells_the_translators_what_they_stand_for_or_is_plain() -> None:
    # Plain: the placeholder is the whole subject ("Remove %(name)s"); otherwise a
    # `// Translators:` comment just before the call says what it holds.
    plain = re.compile(r"%\((?:name|email|count|reason|time|when|size)\)s")
    unexplained = [
        text
        for _line, message, comments, _context in extracted()
        for text in texts(message)[:1]
        if re.search(r"%\((\w+)\)s", re.sub(plain, "", text)) and not comments
    ]

    assert not unexplained, f"add a `// Translators:` comment before: {unexplained}"


def test_the_widgets_skeleton_markup_holds_no_words() -> None:
    # Its words go in after it is built, translated (chromeTexts() in widget.js).
    skeleton = SOURCE.split("const SKELETON = `", 1)[1].split("`;", 1)[0]
    markup = re.sub(r"\$\{[^}]*\}", "", skeleton)
    between_tags = [
        text.strip() for text in re.findall(r">([^<]*)<", markup) if re.search(r"[A-Za-z]", text)
    ]
    labels = re.findall(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"', markup)

    assert not between_tags, f"words in the skeleton: {between_tags}"
    assert not labels, f"labels in the skeleton: {labels}"
