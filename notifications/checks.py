"""System checks: settings that would quietly make reply emails worse fail `manage.py check`."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.checks import register as register_check

from notifications import links
from notifications.models import unsubscribe_token_new

# Python's email package puts a header value longer than this on a line of its own; longer
# still, and with no space to fold at, it encodes the value (=?utf-8?q?...?=), and mail clients
# no longer recognise List-Unsubscribe or References.
HEADER_VALUE_MAX = 77


def register() -> None:
    register_check(email_headers_fit)
    register_check(inbound_webhooks_on)


def inbound_webhooks_on(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Reply emails do not invite replies that no webhook could receive."""
    if not settings.DESK_INBOUND_DOMAIN or settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return []
    return [
        Warning(
            "DESK_INBOUND_DOMAIN is set but ANYMAIL_WEBHOOK_SECRET is not: reply emails say "
            "a reply reaches the chat, and the inbound webhooks that would receive it are off.",
            hint="Set ANYMAIL_WEBHOOK_SECRET (random1:random2) and give the provider the "
            'inbound URL with it (docs/emails.md, "Replies by email").',
            id="notifications.W001",
        )
    ]


def email_headers_fit(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The List-Unsubscribe and References headers, built on SITE_URL, stay plain ASCII."""
    headers = {
        "List-Unsubscribe": f"<{links.unsubscribe_url(unsubscribe_token_new())}>",
        "References": links.thread_id(uuid.uuid4()),
    }
    return [
        Error(
            f"SITE_URL makes the reply email's {name} header {len(value)} characters long "
            f"or not plain ASCII; beyond {HEADER_VALUE_MAX} ASCII characters Python encodes "
            "it and mail clients ignore it.",
            hint=f"Shorten SITE_URL by {len(value) - HEADER_VALUE_MAX} characters or more, "
            f"and use an ASCII (punycode) host name. The header would be: {value}",
            id="notifications.E001",
        )
        for name, value in headers.items()
        if len(value) > HEADER_VALUE_MAX or not value.isascii()
    ]
