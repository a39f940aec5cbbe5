"""desk's translation catalogs, in Python alone (Babel): no gettext programs needed, on a fresh
machine or in CI.

Two domains per language, under locale/<language>/LC_MESSAGES/:
- `django`: the Python code and the templates of chats/, notifications/ and desk/;
- `djangojs`: chats/static/chats/*.js (widget.js and dashboard.js).

`update()` extracts every marked string, merges the result into each language's .po (keeping
translations, dropping strings no longer used, adding new ones untranslated) and compiles the .mo
files Django reads; both are committed, so `make run` shows translated pages without installing
anything. `problems()` is what the test suite and `manage.py catalogs check` report: a catalog that
lacks a string of the sources or still has one they dropped (stale), a string with no translation
or a fuzzy one, placeholders that differ from the source, and a .mo not compiled from its .po.

Marking rules (docs/languages.md): Python and templates as Django documents them; in JavaScript,
the plain names gettext / ngettext / pgettext / npgettext called with string literals.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.utils.translation.template import templatize

ROOT = Path(settings.BASE_DIR)
SOURCE_DIRS = ("chats", "notifications", "desk")
LOCALE_DIR = ROOT / "locale"
DOMAINS = ("django", "djangojs")
COMMENT_TAGS = ("Translators:",)
UPDATE = "run manage.py catalogs update"

_CONTEXT_SINGULAR = ((1, "c"), 2)
_CONTEXT_PLURAL = ((1, "c"), 2, 3)
PYTHON_KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": _CONTEXT_SINGULAR,
    "pgettext_lazy": _CONTEXT_SINGULAR,
    "npgettext": _CONTEXT_PLURAL,
    "npgettext_lazy": _CONTEXT_PLURAL,
}
JS_KEYWORDS = {
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": _CONTEXT_SINGULAR,
    "npgettext": _CONTEXT_PLURAL,
}


def languages() -> list[str]:
    """The languages with catalogs: all but the source language, English."""
    return [code for code, _name in settings.LANGUAGES if code != "en"]


def _sources(domain: str) -> Iterator[Path]:
    for directory in SOURCE_DIRS:
        base = ROOT / directory
        if domain == "djangojs":
            yield from sorted(base.glob("static/**/*.js"))
            continue
        for path in sorted(base.rglob("*")):
            parts = path.relative_to(ROOT).parts
            if "migrations" in parts or "static" in parts or not path.is_file():
                continue
            if path.suffix == ".py" or ("templates" in parts and path.suffix in (".html", ".txt")):
                yield path


def _extract(path: Path) -> Iterator[tuple[int, str | tuple[str, ...], list[str], str | None]]:
    if path.suffix == ".js":
        method, keywords, source = "javascript", JS_KEYWORDS, path.read_bytes()
    elif path.suffix == ".py":
        method, keywords, source = "python", PYTHON_KEYWORDS, path.read_bytes()
    else:
        # Django turns a template into Python-like code for xgettext; Babel reads that instead.
        # Its lines keep the template's indentation, which Python's tokenizer refuses; each
        # string it emits is on one line, so the lines are stripped.
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        code = "\n".join(line.strip() for line in code.splitlines())
        method, keywords, source = "python", PYTHON_KEYWORDS, code.encode("utf-8")
    options = {"encoding": "utf-8", "jsx": False, "template_string": False}
    yield from extract(
        method,
        io.BytesIO(source),
        keywords=keywords,
        comment_tags=COMMENT_TAGS,
        options=options,
        strip_comment_tags=True,
    )


def template(domain: str) -> Catalog:
    """Every string the sources mark for `domain`, as a catalog without translations."""
    found = Catalog(project="desk", domain=domain, charset="utf-8", fuzzy=False)
    for path in _sources(domain):
        where = str(path.relative_to(ROOT))
        for lineno, message, comments, context in _extract(path):
            if not message or (isinstance(message, tuple) and not message[0]):
                continue
            found.add(
                message,
                None,
                locations=[(where, lineno)],
                auto_comments=comments,
                context=context,
            )
    return found


def po_path(language: str, domain: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def _read(path: Path, language: str, domain: str) -> Catalog:
    if not path.exists():
        name = dict(settings.LANGUAGES)[language]
        return Catalog(
            locale=language,
            domain=domain,
            header_comment=(
                f"# desk: its texts in {name} ({domain}: "
                f"{'the browser scripts' if domain == 'djangojs' else 'Python and templates'}).\n"
                "# Strings come from `manage.py catalogs update`; see docs/languages.md."
            ),
            project="desk",
            version="1",
            msgid_bugs_address="",
            last_translator="desk",
            language_team=name,
            charset="utf-8",
            fuzzy=False,
        )
    with path.open("rb") as file:
        return read_po(file, locale=language, domain=domain)


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(
        out,
        catalog,
        width=100,
        include_lineno=False,
        sort_output=True,
        ignore_obsolete=True,
        include_previous=False,
    )
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update(only: list[str] | None = None) -> list[Path]:
    """Merge the sources' strings into every catalog (or those of the `only` languages) and
    compile it; the files written."""
    written = []
    for domain in DOMAINS:
        fresh = template(domain)
        for language in only or languages():
            path = po_path(language, domain)
            catalog = _read(path, language, domain)
            created = catalog.creation_date
            catalog.update(fresh, no_fuzzy_matching=True, update_header_comment=False)
            # A date that changed on every run would make every catalog differ from the last.
            catalog.creation_date = created
            catalog.obsolete.clear()
            catalog.fuzzy = False
            path.parent.mkdir(parents=True, exist_ok=True)
            po = _po_bytes(catalog)
            if not path.exists() or path.read_bytes() != po:
                path.write_bytes(po)
                written.append(path)
            # Compiled from the file as written, so that `problems()` finds them equal.
            mo_path = path.with_suffix(".mo")
            mo = _mo_bytes(_read(path, language, domain))
            if not mo_path.exists() or mo_path.read_bytes() != mo:
                mo_path.write_bytes(mo)
                written.append(mo_path)
    return written


@dataclass(frozen=True)
class Problem:
    language: str
    domain: str
    message: str
    what: str

    def __str__(self) -> str:
        return f"{self.language}/{self.domain}: {self.what}: {self.message!r}"


def _key(
    message_id: str | tuple[str, ...] | list[str], context: str | None
) -> tuple[str | None, str]:
    singular = message_id if isinstance(message_id, str) else message_id[0]
    return (context, singular)


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def _placeholders(text: str) -> set[str]:
    return {match.group(1) or match.group(0) for match in _PLACEHOLDER.finditer(text)}


def _placeholder_errors(message: Message, catalog: Catalog) -> list[str]:
    """A translation must keep a text's placeholders (%(name)s); a plural form may leave out the
    count ("одно сообщение") but never bring in one the source lacks."""
    errors = [str(error) for error in message.check(catalog)]
    if isinstance(message.id, str):
        text = str(message.string)
        if _placeholders(text) != _placeholders(message.id):
            errors.append(f"{sorted(_placeholders(message.id))} in {text!r}")
        return errors
    known = set().union(*(_placeholders(text) for text in message.id))
    for form in message.string or ():
        if not _placeholders(form) <= known:
            errors.append(f"{sorted(_placeholders(form) - known)} unknown in {form!r}")
    return errors


def problems(only: list[str] | None = None) -> list[Problem]:
    """Everything that keeps the catalogs (or those of the `only` languages) from matching the
    sources, fully translated."""
    found: list[Problem] = []
    for domain in DOMAINS:
        fresh = template(domain)
        wanted = {_key(message.id, message.context): message for message in fresh if message.id}
        for language in only or languages():
            path = po_path(language, domain)
            if not path.exists():
                found.append(Problem(language, domain, str(path), "no catalog"))
                continue
            catalog = _read(path, language, domain)
            have = {_key(message.id, message.context): message for message in catalog if message.id}
            for key in wanted.keys() - have.keys():
                found.append(Problem(language, domain, key[1], f"missing ({UPDATE})"))
            for key in have.keys() - wanted.keys():
                found.append(Problem(language, domain, key[1], f"no longer used ({UPDATE})"))
            for key, message in have.items():
                if key not in wanted:
                    continue
                if wanted[key].id != message.id:
                    found.append(Problem(language, domain, key[1], f"plural changed ({UPDATE})"))
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if message.fuzzy:
                    found.append(Problem(language, domain, key[1], "fuzzy"))
                elif not all(strings):
                    found.append(Problem(language, domain, key[1], "not translated"))
                elif isinstance(message.string, tuple) and len(strings) != catalog.num_plurals:
                    found.append(Problem(language, domain, key[1], "wrong number of plural forms"))
                else:
                    for error in _placeholder_errors(message, catalog):
                        found.append(Problem(language, domain, key[1], f"placeholders: {error}"))
            mo_path = path.with_suffix(".mo")
            if not mo_path.exists() or mo_path.read_bytes() != _mo_bytes(catalog):
                found.append(Problem(language, domain, str(mo_path), "not compiled from its .po"))
    return found
