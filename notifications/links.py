"""Everything an email points at: the click-back link, the unsubscribe link, the address
confirmation link, the address a reply goes to, where an embedded person lands, threading ids.

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
from django.utils.crypto import constant_time_compare, salted_hmac

from chats.embed.services import guest_link_make
from chats.models import Contact

OPEN_SALT = "notifications.reply-email-open"
CONFIRM_SALT = "notifications.address-confirm"
REPLY_ADDRESS_SALT = "notifications.reply-address"
# reply+<chat>.<mac>@DESK_INBOUND_DOMAIN: the chat's id and 80 bits of its HMAC, in lower-case
# base32 (mail systems may change the case of a local part), 49 characters of the 64 allowed.
REPLY_ADDRESS_PREFIX = "reply+"
_REPLY_MAC_BYTES = 10
CHAT_FRAGMENT = "#support-chat"
# Far longer than any token desk makes (an address is at most 254 characters): anything longer is
# refused before it is decoded.
TOKEN_MAX_LENGTH = 1000


@dataclass(frozen=True)
class OpenToken:
    user_pk: str
    email_id: uuid.UUID


@dataclass(frozen=True)
class ConfirmToken:
    contact_id: int
    # The address the link was sent to: it confirms that one only.
    email: str


class InvalidLinkError(Exception):
    """The token was not made by desk, or was altered."""


class ExpiredLinkError(Exception):
    """The token is genuine but older than DESK_EMAIL_LINK_MAX_AGE."""


class ExpiredOpenLinkError(ExpiredLinkError):
    """A reply email's expired link: it still names its email."""

    def __init__(self, token: OpenToken) -> None:
        super().__init__("link expired")
        self.token = token


def open_token_make(*, user_pk: object, email_id: uuid.UUID) -> str:
    """A signed, timestamped token naming the recipient and the email (and so its replies)."""
    return signing.TimestampSigner(salt=OPEN_SALT).sign(f"{user_pk}.{email_id.hex}")


def open_token_read(token: str) -> OpenToken:
    """The token's contents; raises InvalidLinkError or ExpiredOpenLinkError."""
    signer = signing.TimestampSigner(salt=OPEN_SALT)
    try:
        value = signer.unsign(token, max_age=settings.DESK_EMAIL_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise ExpiredOpenLinkError(_parse(signer.unsign(token))) from None
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


def confirm_token_make(*, contact_id: int, email: str) -> str:
    """A signed, timestamped token naming a guest and the address it confirms."""
    signer = signing.TimestampSigner(salt=CONFIRM_SALT)
    return signer.sign_object({"c": contact_id, "e": email}, compress=False)


def confirm_token_read(token: str) -> ConfirmToken:
    """The token's contents; raises InvalidLinkError or ExpiredLinkError."""
    if len(token) > TOKEN_MAX_LENGTH:
        raise InvalidLinkError
    signer = signing.TimestampSigner(salt=CONFIRM_SALT)
    try:
        value = signer.unsign_object(token, max_age=settings.DESK_EMAIL_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise ExpiredLinkError from None
    except (signing.BadSignature, ValueError):
        # ValueError: a signature that checks out over a payload that is not base64 JSON. Only
        # desk signs with this salt, so that is a token from an incompatible version.
        raise InvalidLinkError from None
    contact_id = value.get("c") if isinstance(value, dict) else None
    email = value.get("e") if isinstance(value, dict) else None
    if not isinstance(contact_id, int) or not isinstance(email, str):
        raise InvalidLinkError
    return ConfirmToken(contact_id=contact_id, email=email)


def confirm_url(*, contact_id: int, email: str) -> str:
    token = confirm_token_make(contact_id=contact_id, email=email)
    return settings.SITE_URL + reverse("notifications:confirm", args=[token])


def reply_address(chat_id: uuid.UUID) -> str | None:
    """The address a reply to an email about this chat goes to; None without DESK_INBOUND_DOMAIN.

    It does not expire: a person may answer a reply email weeks later. Only the chat's person can
    post through it (notifications.services.inbound checks the sender), and a new SECRET_KEY (the
    old one in SECRET_KEY_FALLBACKS while emails in flight are answered) retires every address.
    """
    if not settings.DESK_INBOUND_DOMAIN:
        return None
    chat = _base32(chat_id.bytes)
    token = f"{chat}.{_reply_mac(chat, settings.SECRET_KEY)}"
    return f"{REPLY_ADDRESS_PREFIX}{token}@{settings.DESK_INBOUND_DOMAIN}"


def reply_address_read(address: str) -> uuid.UUID:
    """The chat a reply address names; raises InvalidLinkError for anything desk did not make
    (another domain, a forged or altered token, a retired key)."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not settings.DESK_INBOUND_DOMAIN or domain != settings.DESK_INBOUND_DOMAIN:
        raise InvalidLinkError
    if not local.startswith(REPLY_ADDRESS_PREFIX):
        raise InvalidLinkError
    chat, _, mac = local.removeprefix(REPLY_ADDRESS_PREFIX).partition(".")
    if len(chat) != 26 or len(mac) != 16:
        raise InvalidLinkError
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if not any(constant_time_compare(mac, _reply_mac(chat, secret)) for secret in secrets):
        raise InvalidLinkError
    try:
        return uuid.UUID(bytes=base64.b32decode(chat.upper() + "======"))
    except ValueError:
        raise InvalidLinkError from None


def _reply_mac(chat: str, secret: str | bytes) -> str:
    digest = salted_hmac(REPLY_ADDRESS_SALT, chat, secret=secret, algorithm="sha256").digest()
    return _base32(digest[:_REPLY_MAC_BYTES])


def _base32(value: bytes) -> str:
    return base64.b32encode(value).rstrip(b"=").decode("ascii").lower()


def unsubscribe_url(token: str) -> str:
    return settings.SITE_URL + reverse("notifications:unsubscribe", args=[token])


def chat_url() -> str:
    """The host page with the support widget opened."""
    return settings.SITE_URL + CHAT_FRAGMENT


def contact_return_url(contact: Contact) -> str:
    """Where a reply email's button takes an embedded person: DESK_EMBED_RETURN_URL (the host's
    page that opens the widget) when set; else a guest's own full-page chat on desk (a fresh
    guest link: the guest has no desk session), or the widget on SITE_URL for an identified one.
    """
    if settings.DESK_EMBED_RETURN_URL:
        return str(settings.DESK_EMBED_RETURN_URL)
    if contact.is_guest:
        return guest_link_make(contact).url
    return chat_url()


def contact_site_url() -> str:
    """The site an embedded person knows: the origin of DESK_EMBED_RETURN_URL, else SITE_URL."""
    if not settings.DESK_EMBED_RETURN_URL:
        return str(settings.SITE_URL)
    parts = urlsplit(settings.DESK_EMBED_RETURN_URL)
    return f"{parts.scheme}://{parts.netloc}"


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "localhost"


def site_host() -> str:
    return host_of(settings.SITE_URL)


def _compact(value: uuid.UUID) -> str:
    # 22 characters instead of 36: threading headers must stay on one line (see checks.py).
    return base64.urlsafe_b64encode(value.bytes).rstrip(b"=").decode("ascii")


def thread_id(chat_id: uuid.UUID) -> str:
    """The Message-ID every email about one chat refers to, so mail clients group them."""
    return f"<chat.{_compact(chat_id)}@{site_host()}>"


def email_message_id(email_id: uuid.UUID) -> str:
    return f"<reply.{_compact(email_id)}@{site_host()}>"


def contact_email_message_id(email_id: uuid.UUID) -> str:
    return f"<contact.{_compact(email_id)}@{site_host()}>"
