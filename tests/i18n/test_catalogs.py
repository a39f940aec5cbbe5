"""The catalogs match the sources and are fully translated (desk/catalogs.py).

The first test is the one that guards every language: it fails when a string a person reads was
marked in the code but not translated in one of the six, when a catalog still holds strings the
code dropped, or when a .mo was not compiled from its .po. The others show that each of those
faults is caught, on a copy of the tree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from desk import catalogs


def test_every_string_is_translated_in_every_language_and_compiled() -> None:
    problems = catalogs.problems()
    assert not problems, "\n".join(map(str, problems[:50]))


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A source tree of one Python module and one script, with catalogs made from them."""
    (tmp_path / "chats" / "static").mkdir(parents=True)
    (tmp_path / "chats" / "texts.py").write_text(
        "from django.utils.translation import gettext as _, ngettext\n"
        "GREETING = _('Hello')\n"
        "def count(n):\n"
        "    return ngettext('%(count)s message', '%(count)s messages', n) % {'count': n}\n"
    )
    (tmp_path / "chats" / "static" / "widget.js").write_text('const a = gettext("Send");\n')
    monkeypatch.setattr(catalogs, "ROOT", tmp_path)
    monkeypatch.setattr(catalogs, "SOURCE_DIRS", ("chats",))
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path / "locale")
    catalogs.update()
    for language in catalogs.languages():
        for domain in catalogs.DOMAINS:
            translate(language, domain, lambda text: f"[{text}]")
    catalogs.update()
    return tmp_path


def translate(language: str, domain: str, how: object) -> None:
    path = catalogs.po_path(language, domain)
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, (list, tuple)):
            message.string = tuple(how(message.id[1]) for _ in range(catalog.num_plurals))  # type: ignore[operator]
        else:
            message.string = how(message.id)  # type: ignore[operator]
    with path.open("wb") as file:
        write_po(file, catalog, width=100, include_lineno=False, sort_output=True)


def what(problems: list[catalogs.Problem]) -> set[tuple[str, str]]:
    return {(problem.message, problem.what.split(" (")[0]) for problem in problems}


def test_a_translated_tree_has_no_problems(tree: Path) -> None:
    assert catalogs.problems() == []


def test_a_string_added_to_the_code_is_missing_from_every_catalog(tree: Path) -> None:
    (tree / "chats" / "more.py").write_text(
        "from django.utils.translation import gettext as _\n_('Bye')\n"
    )
    found = [p for p in catalogs.problems() if p.message == "Bye"]
    assert {(p.language, p.what.split(" (")[0]) for p in found} == {
        (language, "missing") for language in catalogs.languages()
    }


def test_a_string_the_code_dropped_is_stale_in_every_catalog(tree: Path) -> None:
    (tree / "chats" / "static" / "widget.js").write_text("const a = 1;\n")
    assert ("Send", "no longer used") in what(catalogs.problems())


def test_an_untranslated_string_is_a_problem(tree: Path) -> None:
    translate("ar", "django", lambda text: "")
    catalogs.update()
    assert ("Hello", "not translated") in what(catalogs.problems())


def test_a_translation_that_loses_a_placeholder_is_a_problem(tree: Path) -> None:
    (tree / "chats" / "static" / "widget.js").write_text('gettext("Read %(time)s");\n')
    catalogs.update()
    translate("es", "djangojs", lambda text: "Leído")
    catalogs.update()
    found = [p for p in catalogs.problems() if p.language == "es"]
    assert [(p.message, p.what.split(":")[0]) for p in found] == [("Read %(time)s", "placeholders")]


def test_a_plural_form_may_leave_out_the_count_but_not_invent_a_placeholder(tree: Path) -> None:
    translate("ru", "django", lambda text: "одно сообщение" if "%" not in text else text)
    catalogs.update()
    assert catalogs.problems() == []
    translate("ru", "django", lambda text: "%(cuont)s сообщений")
    catalogs.update()
    assert {p.what.split(":")[0] for p in catalogs.problems()} == {"placeholders"}


def test_a_catalog_not_compiled_after_an_edit_is_a_problem(tree: Path) -> None:
    translate("de", "djangojs", lambda text: "Senden")
    assert ("Send", "not compiled from its .po") not in what(catalogs.problems())
    found = [p for p in catalogs.problems() if p.what == "not compiled from its .po"]
    assert [(p.language, p.domain) for p in found] == [("de", "djangojs")]


def test_update_keeps_translations_and_adds_new_strings_untranslated(tree: Path) -> None:
    (tree / "chats" / "static" / "widget.js").write_text(
        'const a = gettext("Send");\nconst b = gettext("Close");\n'
    )
    catalogs.update()
    with catalogs.po_path("fr", "djangojs").open("rb") as file:
        catalog = read_po(file, locale="fr")
    assert (catalog["Send"].string, catalog["Close"].string) == ("[Send]", "")
