"""System checks for the embedding settings, run by every `manage.py` command and at start-up.

- desk.E010: DESK_IDENTITY_SECRET shorter than 32 characters. Anyone holding one signed token
  could try short keys offline until one matches, and then sign in as any of the host's users.
- desk.E011: DESK_EMBED_RETURN_URL is not an http(s) URL (a reply email's button goes there).
(Malformed DESK_EMBED_ORIGINS are django-cors-headers' corsheaders.E013.)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.checks import register as register_check

MIN_SECRET_LENGTH = 32


def register() -> None:
    register_check(identity_secret_is_long_enough)
    register_check(return_url_is_a_web_address)


def identity_secret_is_long_enough(**kwargs: Any) -> list[CheckMessage]:
    secret = settings.DESK_IDENTITY_SECRET
    if not secret or len(secret) >= MIN_SECRET_LENGTH:
        return []
    return [
        Error(
            f"DESK_IDENTITY_SECRET is {len(secret)} characters long; it must be at least "
            f"{MIN_SECRET_LENGTH}.",
            hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))' "
            "and give the same value to your site's back end.",
            id="desk.E010",
        )
    ]


def return_url_is_a_web_address(**kwargs: Any) -> list[CheckMessage]:
    url = settings.DESK_EMBED_RETURN_URL
    if not url:
        return []
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return []
    return [
        Error(
            f"DESK_EMBED_RETURN_URL must be an http(s) address, not {url!r}.",
            hint="For example https://shop.example/#support-chat: a page of your site that loads "
            "the widget.",
            id="desk.E011",
        )
    ]
