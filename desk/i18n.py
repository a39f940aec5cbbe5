"""The six languages desk speaks: who reads in which, and the catalogs the browser scripts use.

Languages are settings.LANGUAGES; English is the source, the others are catalogs under locale/
(`manage.py catalogs update` extracts and merges them, see desk/catalogs.py and docs/languages.md).

- A request's language is Django's (LocaleMiddleware: the language cookie the dashboard's switcher
  sets, else Accept-Language, which the widget sends itself). `request_language()` is the
  language a request *states* (its Accept-Language alone): the one a person's chat records.
- A socket has no middleware: `scope_language()` reads the `lang` query parameter the widget adds,
  then the cookie, then Accept-Language.
- A time zone comes from the browser (`X-Desk-Time-Zone`, or the socket's `tz`), checked against
  the zones this Python knows.
- `catalog()` is what widget.js and dashboard.js translate with (GET /api/i18n/{language}, or
  embedded in the dashboard's pages): the djangojs catalog as JSON, its plural forms keyed by the
  CLDR categories the browser's Intl.PluralRules names, so that no plural formula is evaluated
  in the browser (a host page's CSP may forbid eval).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from babel import Locale
from django.conf import settings
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import trans_real

# Integers that show every CLDR category of desk's languages (French and Spanish have "many" for
# millions), used to learn which gettext plural form each category is.
_PLURAL_SAMPLES = (*range(0, 202), 1_000_000, 1_000_001, 2_000_000)
# Time zone names are short; a longer header is not one.
_TIME_ZONE_MAX_LENGTH = 64


def codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def direction(language: str) -> str:
    """ "rtl" or "ltr"."""
    return "rtl" if translation.get_language_info(language)["bidi"] else "ltr"


def language_pick(tags: Iterable[str]) -> str | None:
    """The first of the given language tags (BCP 47, best first) that desk speaks: exactly, then
    by its primary subtag ("de-AT" -> "de"). None when it speaks none of them."""
    supported = codes()
    for tag in tags:
        tag = tag.strip().lower().replace("_", "-")
        if not tag or len(tag) > 35:
            continue
        if tag in supported:
            return tag
        primary = tag.split("-", 1)[0]
        if primary in supported:
            return primary
    return None


def _accept_language(header: str) -> str | None:
    ranked = trans_real.parse_accept_lang_header(header[:1000])
    return language_pick(tag for tag, _quality in ranked if tag != "*")


def request_language(request: HttpRequest) -> str | None:
    """The language a request states in Accept-Language (the widget sends its own), or None."""
    return _accept_language(request.headers.get("Accept-Language", ""))


def _scope_headers(scope: dict[str, Any]) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def _scope_query(scope: dict[str, Any]) -> dict[str, list[str]]:
    return parse_qs(scope.get("query_string", b"").decode("latin-1"))


def _query_language(scope: dict[str, Any]) -> str | None:
    stated = _scope_query(scope).get("lang")
    return language_pick(stated[:1]) if stated else None


def _accept_language_of(scope: dict[str, Any]) -> str | None:
    return _accept_language(_scope_headers(scope).get("accept-language", ""))


def scope_stated_language(scope: dict[str, Any]) -> str | None:
    """The language a socket states: its `lang` query parameter (the widget's), else its
    Accept-Language header. None when it states none desk speaks."""
    if _scope_query(scope).get("lang"):
        return _query_language(scope)
    return _accept_language_of(scope)


def scope_language(scope: dict[str, Any]) -> str:
    """The language to answer a socket in: its `lang`, else the dashboard's language cookie,
    else its Accept-Language, else settings.LANGUAGE_CODE."""
    cookie = parse_cookie(_scope_headers(scope).get("cookie", "")).get(
        settings.LANGUAGE_COOKIE_NAME
    )
    return (
        _query_language(scope)
        or (language_pick([cookie]) if cookie else None)
        or _accept_language_of(scope)
        or settings.LANGUAGE_CODE
    )


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_clean(value: str | None) -> str | None:
    """`value` if it names a time zone this Python knows (IANA, e.g. "Europe/Berlin"), else None."""
    if not value or len(value) > _TIME_ZONE_MAX_LENGTH:
        return None
    return value if value in _time_zones() else None


def scope_time_zone(scope: dict[str, Any]) -> str | None:
    stated = _scope_query(scope).get("tz")
    return time_zone_clean(stated[0]) if stated else None


# --- the browser scripts' catalogs ---------------------------------------------------------------


def _categories(language: str, plural: Any) -> dict[str, int]:
    """CLDR plural category -> the gettext plural form that category uses in `language`."""
    rule = Locale.parse(language).plural_form
    found: dict[str, int] = {}
    for n in _PLURAL_SAMPLES:
        found.setdefault(rule(n), int(plural(n)))
    return found


@functools.lru_cache(maxsize=16)
def catalog(language: str) -> dict[str, Any]:
    """The djangojs catalog of `language` for widget.js and dashboard.js (see the module's
    docstring): {"language", "direction", "messages"}. Messages: msgid -> text; a plural msgid
    (the singular) -> {category: text}; with a context, the key is "context\\x04msgid"."""
    if language not in codes():
        raise LookupError(language)
    translations = trans_real.DjangoTranslation(
        language, domain="djangojs", localedirs=[str(path) for path in settings.LOCALE_PATHS]
    )
    categories = _categories(language, translations.plural)
    messages: dict[str, Any] = {}
    plurals: dict[str, dict[int, str]] = {}
    entries: Any = translations._catalog  # type: ignore[attr-defined]  # gettext's own catalog
    for key, text in entries.items():
        if isinstance(key, tuple):
            msgid, form = key
            plurals.setdefault(msgid, {})[form] = text
        elif key:  # "" is the catalog's header
            messages[key] = text
    for msgid, forms in plurals.items():
        messages[msgid] = {
            category: forms[form] for category, form in categories.items() if form in forms
        }
    return {"language": language, "direction": direction(language), "messages": messages}


def context(request: HttpRequest) -> dict[str, Any]:
    """Templates' `desk_i18n_catalog`: the catalog of the active language, for the page's script
    (rendered with json_script, so no second request and no flash of English)."""
    return {"desk_i18n_catalog": catalog(translation.get_language() or settings.LANGUAGE_CODE)}
