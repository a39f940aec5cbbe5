"""Signed URLs for attachments: short-lived, bound to the person they were made for, and usable
without cookies (an `<img src>` in the widget on another site sends none).

A URL names the attachment, the variant (the file or its thumbnail), the person it was made for
(`u`, a user id), when it expires (`e`, Unix seconds) and an HMAC of all four (`s`, Django's
Signer: SHA-256 with SECRET_KEY, and accepted with any of SECRET_KEY_FALLBACKS while keys rotate).
The serving view checks the signature before any query, then that this person may still see the
attachment (chats/attachments/views.py): a URL outlives neither its lifetime nor its person's
access.

Lifetime: DESK_ATTACHMENT_URL_MAX_AGE (an hour by default). Expiry times are rounded up to the end
of the next half-lifetime window, so a URL stays valid between half and all of the lifetime, and
every URL made for the same person and file within one window is the same string: the browser's
cache keeps working across reloads, and a message reads the same over REST and a socket.

Every message a client receives carries URLs made for that client: REST for the caller, a socket
for its own user (`sign_event`, applied to each event as the socket sends it), since one event
goes to the chat's user and the admins alike.
"""

from __future__ import annotations

import enum
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "desk.chats.attachments.link"
MAX_SIGNATURE_CHARS = 100


class Variant(enum.StrEnum):
    FILE = "file"
    THUMBNAIL = "thumb"


VARIANTS = frozenset(variant.value for variant in Variant)


@dataclass(frozen=True)
class LinkRequest:
    """What a URL asks for, once its signature was checked."""

    attachment_id: uuid.UUID
    variant: Variant
    viewer_id: int
    expires: int


class LinkRefused(Exception):
    """A URL desk did not sign as it stands (or for a variant that does not exist)."""


class LinkExpired(Exception):
    """A URL desk signed, past its expiry."""


def expiry(now: float | None = None) -> int:
    half = max(settings.DESK_ATTACHMENT_URL_MAX_AGE // 2, 1)
    current = int(time.time() if now is None else now)
    return (current // half + 2) * half


def link(attachment_id: uuid.UUID, variant: Variant, viewer_id: int) -> str:
    """The absolute URL of the attachment's file or thumbnail for the user `viewer_id`."""
    expires = expiry()
    signature = _signer().signature(_value(attachment_id, variant, viewer_id, expires))
    path = reverse("attachment_file", args=[attachment_id, variant.value])
    query = urlencode({"u": viewer_id, "e": expires, "s": signature})
    return f"{settings.SITE_URL}{path}?{query}"


def link_check(
    attachment_id: uuid.UUID, variant: str, *, viewer: str, expires: str, signature: str
) -> LinkRequest:
    """The request a URL's parts make, if desk signed them; raises LinkRefused, LinkExpired.
    No query: a forged URL costs an HMAC."""
    if (
        variant not in VARIANTS
        or not viewer.isdigit()
        or not expires.isdigit()
        or len(viewer) > 20
        or len(expires) > 12
        or not 0 < len(signature) <= MAX_SIGNATURE_CHARS
    ):
        raise LinkRefused
    asked = LinkRequest(attachment_id, Variant(variant), int(viewer), int(expires))
    value = _value(asked.attachment_id, asked.variant, asked.viewer_id, asked.expires)
    signer = _signer()
    try:
        # unsign() compares in constant time and tries SECRET_KEY, then each fallback key.
        signer.unsign(f"{value}{signer.sep}{signature}")
    except signing.BadSignature:
        raise LinkRefused from None
    if asked.expires < time.time():
        raise LinkExpired
    return asked


def attachment_links(
    attachment_id: uuid.UUID, *, is_image: bool, viewer_id: int | None
) -> dict[str, str | None]:
    """`url` and `thumbnail_url` for the viewer; both None without one (an event being built,
    before a socket signs it for its user)."""
    if viewer_id is None:
        return {"url": None, "thumbnail_url": None}
    return {
        "url": link(attachment_id, Variant.FILE, viewer_id),
        "thumbnail_url": link(attachment_id, Variant.THUMBNAIL, viewer_id) if is_image else None,
    }


def sign_event(event: dict[str, Any], viewer_id: int) -> dict[str, Any]:
    """`event` with the URLs of every attachment of its message(s) made for `viewer_id`: what a
    socket sends its user. Events without attachments are returned as they are."""
    if "message" in event and _has_attachments([event["message"]]):
        return {**event, "message": _signed_message(event["message"], viewer_id)}
    if "messages" in event and _has_attachments(event["messages"]):
        signed = [_signed_message(message, viewer_id) for message in event["messages"]]
        return {**event, "messages": signed}
    return event


def _has_attachments(messages: Any) -> bool:
    return isinstance(messages, list) and any(
        isinstance(message, dict) and message.get("attachments") for message in messages
    )


def _signed_message(message: dict[str, Any], viewer_id: int) -> dict[str, Any]:
    attachments = [
        {
            **attachment,
            **attachment_links(
                uuid.UUID(attachment["id"]),
                is_image=attachment.get("width") is not None,
                viewer_id=viewer_id,
            ),
        }
        for attachment in message.get("attachments") or []
    ]
    return {**message, "attachments": attachments}


def _value(attachment_id: uuid.UUID, variant: Variant, viewer_id: int, expires: int) -> str:
    return f"{attachment_id.hex}/{variant.value}/{viewer_id}/{expires}"


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)
