"""Everything an email points at: the click-back link, the unsubscribe link, threading ids.

Every link is built on SITE_URL (the worker that sends has no request to take a host from).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

OPEN_SALT = "notifications.reply-email-open"
CHAT_FRAGMENT = "#support-chat"


@dataclass(frozen=True)
class OpenToken:
    user_pk: str
    email_id: uuid.UUID


class InvalidLinkError(Exception):
    """The token was not made by desk, or was altered."""


class ExpiredLinkError(Exception):
    """The token is genuine but older than DESK_EMAIL_LINK_MAX_AGE; it still names its email."""

    def __init__(self, token: OpenToken) -> None:
        super().__init__("link expired")
        self.token = token


def open_token_make(*, user_pk: object, email_id: uuid.UUID) -> str:
    """A signed, timestamped token naming the recipient and the email (and so its replies)."""
    return signing.TimestampSigner(salt=OPEN_SALT).sign(f"{user_pk}.{email_id.hex}")


def open_token_read(token: str) -> OpenToken:
    """The token's contents; raises InvalidLinkError or ExpiredLinkError."""
    signer = signing.TimestampSigner(salt=OPEN_SALT)
    try:
        value = signer.unsign(token, max_age=settings.DESK_EMAIL_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise ExpiredLinkError(_parse(signer.unsign(token))) from None
    except signing.BadSignature:
        raise InvalidLinkError from None
    return _parse(value)


def _parse(value: str) -> OpenToken:
    user_pk, _, email_hex = value.rpartition(".")
    try:
        return OpenToken(user_pk=user_pk, email_id=uuid.UUID(hex=email_hex))
    except ValueError:
        # Only desk signs with this salt, so this is a token from an incompatible version.
        raise InvalidLinkError from None


def open_url(*, user_pk: object, email_id: uuid.UUID) -> str:
    token = open_token_make(user_pk=user_pk, email_id=email_id)
    return settings.SITE_URL + reverse("notifications:open", args=[token])


def unsubscribe_url(token: str) -> str:
    return settings.SITE_URL + reverse("notifications:unsubscribe", args=[token])


def chat_url() -> str:
    """The host page with the support widget opened."""
    return settings.SITE_URL + CHAT_FRAGMENT


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _compact(value: uuid.UUID) -> str:
    # 22 characters instead of 36: threading headers must stay on one line (see checks.py).
    return base64.urlsafe_b64encode(value.bytes).rstrip(b"=").decode("ascii")


def thread_id(chat_id: uuid.UUID) -> str:
    """The Message-ID every email about one chat refers to, so mail clients group them."""
    return f"<chat.{_compact(chat_id)}@{site_host()}>"


def email_message_id(email_id: uuid.UUID) -> str:
    return f"<reply.{_compact(email_id)}@{site_host()}>"
