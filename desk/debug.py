"""Error reports without credentials: Django's DEBUG page, and error emails in any mode.

Django's SafeExceptionReporterFilter hides a setting by its name (PASSWORD, SECRET, KEY, ...), but
DATABASE_URL, REDIS_URL, CELERY_BROKER_URL and CHANNEL_LAYERS' hosts carry their password inside
the value, and a frame's local variables are shown as they are. Here, on top of Django's masking:

- the user information of every URL (`scheme://user:password@host` loses `user:password`) and
  password=/token=-style parameters (a URL's query, libpq's conninfo) are masked in every setting,
  request.META entry (the whole environment, under a WSGI server) and local variable, however
  deeply nested in dicts, lists and tuples, and in the exception's message;
- every credential found in a URL-shaped setting or environment variable, and every setting value
  stored under a secret's name (DATABASES' PASSWORD, SECRET_KEY, ANYMAIL's tokens), is masked
  wherever it appears verbatim: a password copied into a local variable or a keyword argument.

Written against Django 6.1's django/views/debug.py; tests/desk/test_debug_pages.py guards it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.template.defaultfilters import pprint
from django.views import debug

MASK = debug.SafeExceptionReporterFilter.cleansed_substitute

# scheme://userinfo@: the userinfo runs to the last "@" before the path, query or fragment, as
# urlsplit reads it, so a password with a raw "@" in it is masked whole.
URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^\s/?#]*)@")
_SECRET_WORDS = r"api|auth|token|key|secret|pass|pwd|signature"
# password=..., ?token=..., libpq's "user=desk password=...".
SECRET_PARAMETER = re.compile(rf"(?i)(\b\w*(?:{_SECRET_WORDS})\w*=)[^&\s'\",;]+")
# 'password': '...' in the printed form of a dict.
SECRET_ITEM = re.compile(rf"(?i)(['\"]\w*(?:{_SECRET_WORDS})\w*['\"]\s*:\s*)(['\"])(?:(?!\2).)*\2")
# Settings whose string values are secrets in themselves, at any depth (DATABASES' PASSWORD,
# SECRET_KEY, ANYMAIL's POSTMARK_SERVER_TOKEN, SES_CLIENT_PARAMS' aws_secret_access_key).
SECRET_NAME = re.compile(r"(?i)password|passwd|secret|token|api_?key|private_?key")
# A shorter value masked wherever it occurs would blank out ordinary words of the report.
SECRET_MIN_LENGTH = 4


def url_credentials(value: str) -> set[str]:
    """The secrets a string's URLs carry: each password (with its user), and secret parameters."""
    found: set[str] = set()
    for match in URL_USERINFO.finditer(value):
        userinfo = match.group(2)
        _, colon, password = userinfo.partition(":")
        # A username ("postgres", with or without a password) is masked inside its URL only:
        # masked everywhere, it would blank out ordinary words of the report.
        if colon:
            found.update([userinfo, password])
    for url in re.findall(r"(?i)\b[a-z][a-z0-9+.\-]*://\S+", value):
        try:
            query = urlsplit(url).query
        except ValueError:
            continue
        found.update(v for k, v in parse_qsl(query) if re.search(_SECRET_WORDS, k, re.I))
    found |= {unquote(secret) for secret in found}
    return {secret for secret in found if len(secret) >= SECRET_MIN_LENGTH}


def _strings(value: Any, name: str = "") -> Iterator[tuple[str, str]]:
    """(name, text) for every string in a setting, with the name of the key it is under."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, str(key))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, name)


def known_secrets() -> list[str]:
    """Credentials in this process's settings and environment, longest first."""
    found: set[str] = set()
    for setting in dir(settings):
        if not setting.isupper():
            continue
        for name, text in _strings(getattr(settings, setting, None), setting):
            found |= url_credentials(text)
            if SECRET_NAME.search(name) and len(text) >= SECRET_MIN_LENGTH:
                found.add(text)
    for text in os.environ.values():
        found |= url_credentials(text)
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL userinfo, secret parameters and items, and each of `secrets` masked."""
    text = URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = SECRET_PARAMETER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = SECRET_ITEM.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class Shown:
    """A local variable's printed form, already masked: the report prints it as it is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class ExceptionReporterFilter(debug.SafeExceptionReporterFilter):
    """DEFAULT_EXCEPTION_REPORTER_FILTER: Django's masking, and credentials inside values."""

    _secrets: list[str] | None = None

    @property
    def secrets(self) -> list[str]:
        # One filter is made per report, so settings changed since the last one count.
        if self._secrets is None:
            self._secrets = known_secrets()
        return self._secrets

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        # Django's version recurses through dicts, lists and tuples by calling this method.
        if isinstance(value, set | frozenset):
            return [self.cleanse_setting("", item) for item in value]
        cleansed = super().cleanse_setting(key, value)
        return self.redact(cleansed) if isinstance(cleansed, str) else cleansed

    def cleanse_special_types(self, request: HttpRequest | None, value: Any) -> Any:
        # Applied to every local variable of every frame, in DEBUG as well.
        value = super().cleanse_special_types(request, value)
        if isinstance(value, str):
            return self.redact(value)
        # Printed here, where it can be masked, and only once: the report prints the result.
        return Shown(self.redact(pprint(value)))


class ExceptionReporter(debug.ExceptionReporter):
    """DEFAULT_EXCEPTION_REPORTER: also masks the messages of the exception and its causes."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        secrets = known_secrets()
        for name in ("exception_value", "exception_notes"):
            if data.get(name) is not None:
                data[name] = redact(str(data[name]), secrets)
        template_info = data.get("template_info")
        if template_info and template_info.get("message") is not None:
            data["template_info"] = {
                **template_info,
                "message": redact(str(template_info["message"]), secrets),
            }
        for frame in data.get("frames", []):
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = redact(str(frame["exc_cause"]), secrets)
        return data
