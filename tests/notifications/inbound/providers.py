"""Inbound emails as each provider posts them to desk's anymail webhooks, signed as it signs them.

Each builder takes a raw RFC 5322 email (bytes) and returns the HTTP request the provider would
send for it, derived from the email with Python's email package:

- postmark(): Postmark's inbound JSON with "Include raw email content" on (RawEmail), which
  anymail parses in preference to the other fields. Authenticated only by basic auth.
- mailgun(): a Mailgun route forward() to a URL ending in "mime": multipart/form-data with the
  raw message in body-mime, signed with HMAC-SHA256(signing key, timestamp + token). The basic
  auth pair is checked too whenever WEBHOOK_SECRET is set, and desk always sets it.
- sendgrid(): Inbound Parse with "POST the raw, full MIME message" on: multipart/form-data with
  the raw message in "email". Authenticated only by basic auth.

The envelope (recipient, sender) defaults to Delivered-To or the first To/Cc address, and to
Return-Path or the From address. Builds are deterministic: the same arguments give the same
request, ids and tokens included (they derive from the email and the timestamp).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import policy
from email.header import decode_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any, Protocol, cast

from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

WEBHOOK_SECRET = "desk-inbound:s3cret-pair"
MAILGUN_SIGNING_KEY = "key-desk-inbound-0123456789abcdef"

POSTMARK_PATH = "/email/anymail/postmark/inbound/"
# Mailgun posts the raw message (body-mime) only to a URL ending in "mime".
MAILGUN_PATH = "/email/anymail/mailgun/inbound_mime/"
SENDGRID_PATH = "/email/anymail/sendgrid/inbound/"

# SendGrid's Inbound Parse always uses this boundary.
SENDGRID_BOUNDARY = "xYzZY"


@dataclass(frozen=True)
class InboundPost:
    """One provider's POST: where it goes, its body, and its headers in test-client form."""

    path: str
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, client: Client) -> HttpResponse:
        """Post with Django's test client."""
        extra: dict[str, Any] = {**self.headers}
        response = client.post(self.path, data=self.body, content_type=self.content_type, **extra)
        return cast(HttpResponse, response)

    def request(self, factory: RequestFactory) -> HttpRequest:
        """The request, for calling a view directly."""
        extra: dict[str, Any] = {**self.headers}
        return factory.post(self.path, data=self.body, content_type=self.content_type, **extra)

    def with_auth(self, auth: str | None) -> InboundPost:
        """The same post with another basic-auth pair, or none."""
        headers = {k: v for k, v in self.headers.items() if k != "HTTP_AUTHORIZATION"}
        return replace(self, headers=headers | _auth_header(auth))

    def tampered(self, old: bytes, new: bytes) -> InboundPost:
        """The same post, auth and signature kept, with the first `old` in the body made `new`."""
        if old not in self.body:
            raise ValueError(f"{old!r} is not in the body")
        return replace(self, body=self.body.replace(old, new, 1))


class Builder(Protocol):
    """What every builder accepts."""

    def __call__(
        self,
        raw: bytes,
        *,
        auth: str | None = ...,
        recipient: str | None = ...,
        sender: str | None = ...,
    ) -> InboundPost: ...


# --- Postmark -----------------------------------------------------------------------------------

# Postmark gives these as separate fields, not in Headers.
_POSTMARK_LIFTED = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "reply-to",
    "content-type",
    "content-transfer-encoding",
}


def postmark(
    raw: bytes,
    *,
    auth: str | None = WEBHOOK_SECRET,
    recipient: str | None = None,
    sender: str | None = None,
    raw_email: bool = True,
    stripped_text: str | None = None,
) -> InboundPost:
    """Postmark's inbound webhook JSON for `raw`.

    raw_email=False leaves out RawEmail (the option off: anymail rebuilds the message from the
    fields). stripped_text replaces the StrippedTextReply guessed from the quote in the text.
    The raw email must be ASCII or UTF-8: the JSON carries it as text.
    """
    try:
        raw_text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError("Postmark's RawEmail is text: give an ASCII or UTF-8 email") from error
    message = _parse(raw)
    envelope_to = recipient or _default_recipient(message)
    envelope_from = sender or _default_sender(message)
    from_addresses = _addresses(message, "From")
    from_address = from_addresses[0] if from_addresses else Address()
    to, cc, bcc = (_addresses(message, name) for name in ("To", "Cc", "Bcc"))
    if envelope_to.lower() not in {a.addr_spec.lower() for a in [*to, *cc, *bcc]}:
        # Postmark reports the delivered-to address as Bcc when no header names it.
        bcc = [*bcc, Address(addr_spec=envelope_to)]
    text = _body(message, "plain")
    payload: dict[str, Any] = {
        "FromName": _clean(from_address.display_name),
        "MessageStream": "inbound",
        "From": from_address.addr_spec,
        "FromFull": _postmark_full(from_address),
        "To": _postmark_list(to),
        "ToFull": [_postmark_full(a) for a in to],
        "Cc": _postmark_list(cc),
        "CcFull": [_postmark_full(a) for a in cc],
        "Bcc": _postmark_list(bcc),
        "BccFull": [_postmark_full(a) for a in bcc],
        "OriginalRecipient": envelope_to,
        "Subject": _header(message, "Subject"),
        # Postmark's own id for the inbound message, not the Message-ID header.
        "MessageID": str(uuid.UUID(bytes=hashlib.sha256(raw).digest()[:16], version=4)),
        "ReplyTo": _header(message, "Reply-To"),
        "MailboxHash": _mailbox_hash(envelope_to),
        "Date": _header(message, "Date"),
        "TextBody": text,
        "HtmlBody": _body(message, "html"),
        "StrippedTextReply": _stripped_reply(text) if stripped_text is None else stripped_text,
        "Tag": "",
        # Postmark puts the envelope sender first, as Return-Path; anymail reads it from there.
        "Headers": [{"Name": "Return-Path", "Value": f"<{envelope_from}>"}]
        + [
            {"Name": name, "Value": _clean(str(value))}
            for name, value in message.items()
            if name.lower() not in _POSTMARK_LIFTED
        ],
        "Attachments": [_postmark_attachment(part) for part in _attachments(message)],
    }
    if raw_email:
        payload["RawEmail"] = raw_text
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return InboundPost(POSTMARK_PATH, body, "application/json", _auth_header(auth))


def _postmark_full(address: Address) -> dict[str, str]:
    return {
        "Email": address.addr_spec,
        "Name": _clean(address.display_name),
        "MailboxHash": _mailbox_hash(address.addr_spec),
    }


def _postmark_list(addresses: list[Address]) -> str:
    def one(address: Address) -> str:
        name = _clean(address.display_name).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{name}" <{address.addr_spec}>' if name else address.addr_spec

    return ", ".join(one(a) for a in addresses)


def _postmark_attachment(part: EmailMessage) -> dict[str, Any]:
    content = _part_bytes(part)
    found: dict[str, Any] = {
        "Name": part.get_filename() or "",
        "Content": base64.b64encode(content).decode("ascii"),
        "ContentType": part.get_content_type(),
        "ContentLength": len(content),
    }
    if part["Content-ID"]:
        found["ContentID"] = str(part["Content-ID"]).strip().strip("<>")
    return found


def _mailbox_hash(addr_spec: str) -> str:
    local = addr_spec.rpartition("@")[0]
    return local.partition("+")[2]


_QUOTE_LINE = re.compile(r"^\s*>|^-----Original Message-----", re.MULTILINE)


def _stripped_reply(text: str) -> str:
    """The text above the first quoted line and its attribution line; "" if nothing is quoted."""
    quote = _QUOTE_LINE.search(text)
    if quote is None:
        return ""
    lines = text[: quote.start()].rstrip().splitlines()
    if lines and lines[-1].rstrip().endswith(":"):
        lines.pop()  # "On Mon, ... Support <...> wrote:"
    return "\n".join(lines).strip()


# --- Mailgun ------------------------------------------------------------------------------------


def mailgun_signature(timestamp: int | str, token: str, signing_key: str) -> str:
    """Mailgun's webhook signature: hex HMAC-SHA256 of timestamp + token."""
    return hmac.new(
        signing_key.encode("ascii"), f"{timestamp}{token}".encode("ascii"), hashlib.sha256
    ).hexdigest()


def mailgun(
    raw: bytes,
    *,
    signing_key: str = MAILGUN_SIGNING_KEY,
    timestamp: int | None = None,
    token: str | None = None,
    auth: str | None = WEBHOOK_SECRET,
    recipient: str | None = None,
    sender: str | None = None,
) -> InboundPost:
    """A Mailgun route's forward() of `raw` to a "mime" URL, signed with `signing_key`.

    timestamp defaults to now; token, 50 hex digits as Mailgun's, to one derived from the email
    and the timestamp.
    """
    message = _parse(raw)
    when = int(time.time()) if timestamp is None else timestamp
    token = token or hashlib.sha256(raw + str(when).encode("ascii")).hexdigest()[:50]
    fields = [
        ("recipient", (recipient or _default_recipient(message)).encode("utf-8")),
        ("sender", (sender or _default_sender(message)).encode("utf-8")),
        ("from", _header(message, "From").encode("utf-8")),
        ("subject", _header(message, "Subject").encode("utf-8")),
        ("body-mime", raw),
        ("timestamp", str(when).encode("ascii")),
        ("token", token.encode("ascii")),
        ("signature", mailgun_signature(when, token, signing_key).encode("ascii")),
    ]
    boundary = hashlib.sha256(raw + token.encode("ascii")).hexdigest()[:32]
    return InboundPost(
        MAILGUN_PATH,
        _form_data(fields, boundary),
        f"multipart/form-data; boundary={boundary}",
        _auth_header(auth),
    )


# --- SendGrid -----------------------------------------------------------------------------------


def sendgrid(
    raw: bytes,
    *,
    auth: str | None = WEBHOOK_SECRET,
    recipient: str | None = None,
    sender: str | None = None,
    spam_score: float = 0.0,
) -> InboundPost:
    """SendGrid's Inbound Parse post of `raw`, with "POST the raw, full MIME message" on.

    to, from, cc and subject are posted decoded, each in the charset of its header's first
    encoded word (UTF-8 otherwise), and named in charsets, as SendGrid does.
    """
    message = _parse(raw)
    from_addresses = _addresses(message, "From")
    from_domain = from_addresses[0].domain if from_addresses else ""
    envelope = {
        "to": [recipient or _default_recipient(message)],
        "from": sender or _default_sender(message),
    }
    charsets: dict[str, str] = {}
    decoded: dict[str, bytes] = {}
    for name in ("to", "from", "cc", "subject"):
        if name != "cc" or message["Cc"] is not None:
            decoded[name], charsets[name] = _sendgrid_header(message, name)
    fields = [
        ("dkim", f"{{@{from_domain} : pass}}".encode()),
        ("email", raw),
        *((name, decoded[name]) for name in ("to", "from", "cc") if name in decoded),
        ("sender_ip", b"203.0.113.25"),
        ("spam_report", b""),
        ("envelope", json.dumps(envelope, separators=(",", ":")).encode("utf-8")),
        ("subject", decoded["subject"]),
        ("spam_score", f"{spam_score:.1f}".encode("ascii")),
        ("charsets", json.dumps(charsets, separators=(",", ":")).encode("ascii")),
        ("SPF", b"pass"),
    ]
    return InboundPost(
        SENDGRID_PATH,
        _form_data(fields, SENDGRID_BOUNDARY),
        f"multipart/form-data; boundary={SENDGRID_BOUNDARY}",
        _auth_header(auth),
    )


def _sendgrid_header(message: EmailMessage, name: str) -> tuple[bytes, str]:
    """The decoded header as SendGrid posts it, and the charset it is in."""
    value = _header(message, name)
    source = next((v for k, v in message.raw_items() if k.lower() == name), "")
    charset = next((c for _, c in decode_header(source) if c), "UTF-8")
    charset = "UTF-8" if charset.lower() in {"utf-8", "utf8"} else charset
    try:
        return value.encode(charset), charset
    except (LookupError, UnicodeEncodeError):
        return value.encode("utf-8"), "UTF-8"


PROVIDERS: dict[str, Builder] = {"postmark": postmark, "mailgun": mailgun, "sendgrid": sendgrid}


# --- shared -------------------------------------------------------------------------------------


def _auth_header(auth: str | None) -> dict[str, str]:
    """Basic auth as a provider sends it for https://user:pass@host/... (test-client form)."""
    if auth is None:
        return {}
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode("ascii")}


def _form_data(fields: list[tuple[str, bytes]], boundary: str) -> bytes:
    """multipart/form-data with each value sent byte for byte, as plain (non-file) fields."""
    delimiter = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []
    for name, value in fields:
        if delimiter in value:
            raise ValueError(f"the boundary {boundary!r} occurs in the {name!r} field")
        chunks += [
            delimiter,
            b"\r\n",
            f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode("ascii"),
            value,
            b"\r\n",
        ]
    chunks += [delimiter, b"--\r\n"]
    return b"".join(chunks)


def _parse(raw: bytes) -> EmailMessage:
    return BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)


def _clean(text: str) -> str:
    """Text from 8-bit (UTF-8) headers, which the email package leaves as surrogate escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _header(message: EmailMessage, name: str) -> str:
    value = message[name]
    return "" if value is None else _clean(str(value))


def _addresses(message: EmailMessage, name: str) -> list[Address]:
    found: list[Address] = []
    for value in message.get_all(name, []):
        if hasattr(value, "addresses"):
            found += [address for address in value.addresses if address.addr_spec]
        else:  # Delivered-To, Return-Path: unstructured to the email package
            # A bare local part ("<MAILER-DAEMON>", as Exchange writes) is kept as it is.
            found += [_address(spec) for _, spec in getaddresses([str(value)]) if spec]
    return found


def _address(spec: str) -> Address:
    username, _, domain = spec.partition("@")
    return Address(username=username, domain=domain)


def _default_recipient(message: EmailMessage) -> str:
    for name in ("Delivered-To", "To", "Cc"):
        if found := _addresses(message, name):
            return found[0].addr_spec
    raise ValueError("no recipient: give recipient=, or a To or Delivered-To header")


def _default_sender(message: EmailMessage) -> str:
    for name in ("Return-Path", "From"):
        if found := _addresses(message, name):
            return found[0].addr_spec
    return ""


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return "" if part is None else cast(str, part.get_content())


def _attachments(message: EmailMessage) -> list[EmailMessage]:
    """Every part but the multipart containers and the text and html bodies."""
    bodies = {id(message.get_body(preferencelist=(s,))) for s in ("plain", "html")}

    def leaves(part: EmailMessage) -> Iterator[EmailMessage]:
        if part.get_content_maintype() == "multipart":
            for child in part.iter_parts():
                yield from leaves(cast(EmailMessage, child))
        elif id(part) not in bodies:
            yield part  # a forwarded message/rfc822 is one attachment: not descended into

    return list(leaves(message))


def _part_bytes(part: EmailMessage) -> bytes:
    if part.get_content_type() == "message/rfc822":
        forwarded = part.get_payload(0)
        assert isinstance(forwarded, EmailMessage)
        return forwarded.as_bytes()
    return cast(bytes, part.get_payload(decode=True) or b"")
