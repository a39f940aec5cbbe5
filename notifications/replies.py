"""Reading an email a person sent in reply: is it automatic, which reply address it went to, and
what they wrote. Pure functions of the parsed email; no queries.

The quoted history and the signature are cut by mail-parser-reply (a maintained port of GitHub's
email_reply_parser with per-language quote headers). It knows English, German, French and Spanish
among desk's languages; Russian and Arabic are added to its table here, with the quote headers
Gmail, Outlook, Apple Mail, iOS Mail and Thunderbird write in them (`_LANGUAGES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from anymail.inbound import AnymailInboundMessage
from mailparser_reply import constants as reply_constants
from mailparser_reply.parser import EmailMessage

from chats.models import CONTENT_MAX_LENGTH
from notifications.models import InboundIgnored

# The languages whose quote headers, signatures and "Sent from" lines are recognised.
LANGUAGES = ["en", "ru", "de", "fr", "es", "ar"]
# The whole text kept on the record, for staff to read what was cut.
BODY_MAX_LENGTH = 100_000

_QUOTED = reply_constants.QUOTED_MATCH_INCLUDE


def _outlook_header(*names: str) -> str:
    # The library's shape of an Outlook header block: two or more "Name: value" lines.
    return (
        rf"((?:(?:^|\n|\n{_QUOTED})[* ]*(?:{'|'.join(names)}):[ *]*"
        r"(?:\s{,2}).*){2,}(?:\n.*){,1})"
    )


# A quote header's date (a four-digit year on its first line) and the rest of it, over at most
# two lines: a line of the person's own that merely starts with "Le" or "في" is not one.
_DATED_LINES = r"[^\n]{0,100}?\d{4}[^\n]{0,200}?(?:\n[^\n]{0,200}?)?"

# The library's table gains Russian and Arabic. Its quote headers for French and Spanish gain the
# forms Gmail wraps over two lines ("... a" / "écrit :", "..." / "escribió:"), which its own miss.
_LANGUAGES: dict[str, dict[str, Any]] = {
    "ru": {
        # Apple Mail, iOS Mail, Thunderbird: "1 дек. 2026 г., в 10:15, Support <...> написал(а):",
        # "01.12.2026 10:15, Support пишет:"; Gmail: "вт, 1 дек. 2026 г. в 10:15, Support <...>:";
        # Yandex and Mail.ru: "01.12.2026, 10:15, "Support" <...>:".
        "wrote_header": rf"^({_QUOTED}(?:\S.{{0,200}}?\s(?:написала?|написал\(а\)|пишет)\s?:"
        rf"|\S[^\n]{{0,80}}\d{{4}}\s?г\.,?\s(?:в\s)?\d{{1,2}}:\d{{2}},[\s\S]{{1,200}}?>:"
        rf"|\d{{1,2}}\.\d{{1,2}}\.\d{{4}},?\s\d{{1,2}}:\d{{2}},\s[^\n]{{1,200}}?>:))$",
        "from_header": _outlook_header("От", "Отправлено", "Кому", "Тема", "Дата", "Копия"),
        "sent_from": "Отправлено с|Отправлено из|Отправлено через",
    },
    "ar": {
        # Gmail: "في الثلاثاء، 1 ديسمبر 2026 في 1:15 م تمت كتابة ما يلي بواسطة Support <...>:";
        # Apple Mail and iOS Mail: "في 1 ديسمبر 2026، الساعة 10:15، كتب Support <...>:".
        "wrote_header": rf"^({_QUOTED}في\s{_DATED_LINES}(?:\sكتب\s?:|>:))$",
        "from_header": _outlook_header(
            "من", "تاريخ الإرسال", "أرسل", "إلى", "الموضوع", "التاريخ", "نسخة"
        ),
        "sent_from": "أُرسلت من|أرسلت من|تم الإرسال من|مرسل من",
    },
}
_WRAPPED_HEADERS = {
    "fr": rf"^({_QUOTED}Le\s{_DATED_LINES}\sa\s+écrit\s?:)$",
    "es": rf"^({_QUOTED}El\s{_DATED_LINES}\sescribió\s?:)$",
}
reply_constants.MAIL_LANGUAGES.update(_LANGUAGES)
for _language, _pattern in _WRAPPED_HEADERS.items():
    _entry = reply_constants.MAIL_LANGUAGES[_language]
    _entry["wrote_header"] = [_entry["wrote_header"], _pattern]

# Where a signature starts: RFC 3676's "-- " line, a "Sent from my iPhone" line in any of the
# languages (the library's table), or Outlook's line of underscores. Sign-offs ("Thanks,", "С
# уважением,") are not cut: the library takes any line that begins like one ("Thanks, that is all
# I needed.") for a signature, and cutting there would lose what the person wrote.
_SENT_FROM = "|".join(str(reply_constants.MAIL_LANGUAGES[code]["sent_from"]) for code in LANGUAGES)
_SIGNATURE_START = re.compile(
    rf"^(?:--|_{{5,}}|-{{5,}}|(?:{_SENT_FROM})(?:\s.*)?)$", re.MULTILINE | re.IGNORECASE
)
# Bidirectional controls (Gmail puts them around names and dates in its Arabic quote header)
# and the no-break spaces French typography and Gmail's times use, which the headers' patterns
# would not match.
_INVISIBLE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NO_BREAK_SPACES = re.compile("[\u00a0\u202f]")

_AUTOMATIC_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|autoreply|out of (?:the )?office"
    r"|abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática"
    r"|автоответ|автоматический ответ|رد تلقائي)\b",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}
_AUTOMATIC_SENDERS = re.compile(r"^(?:no-?reply|do-?not-?reply|auto-?reply)\b", re.IGNORECASE)


def automatic_reason(message: AnymailInboundMessage) -> InboundIgnored | None:
    """Why this email was sent by a machine rather than the person, or None.

    RFC 3834's Auto-Submitted, the Precedence and X-Autoreply headers autoresponders set, list
    mail, delivery reports (RFC 3464) and the null or daemon senders bounces come from, and the
    subjects of out-of-office replies that set none of those.
    """
    sender = message.from_email
    local = sender.addr_spec.partition("@")[0].lower() if _single(sender) else ""
    if message.get_content_type() == "multipart/report" or local in _BOUNCE_SENDERS:
        return InboundIgnored.BOUNCE
    auto_submitted = (message.get("Auto-Submitted") or "").strip().lower()
    precedence = (message.get("Precedence") or "").strip().lower()
    if (
        (auto_submitted and auto_submitted != "no")
        or precedence in {"bulk", "junk", "list", "auto_reply"}
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or message.get("List-Id") is not None
        or _AUTOMATIC_SENDERS.match(local)
        or _AUTOMATIC_SUBJECT.match(message.subject or "")
    ):
        return InboundIgnored.AUTO_REPLY
    # A null sender and nothing else: a bounce (autoresponders send from it too, and said so).
    if (message.get("Return-Path") or "").strip() == "<>":
        return InboundIgnored.BOUNCE
    return None


def sender_address(message: AnymailInboundMessage) -> str:
    """The one From address, lower-cased; blank when there is none or more than one."""
    sender = message.from_email
    return sender.addr_spec.strip().lower() if _single(sender) else ""


def _single(sender: object) -> bool:
    return sender is not None and not isinstance(sender, list)


def recipient_addresses(message: AnymailInboundMessage) -> list[str]:
    """Every address the email was delivered or written to: the envelope's first (what the
    provider received it for), then To, Cc and the headers forwarders add."""
    found = [message.envelope_recipient] if message.envelope_recipient else []
    for header in ("To", "Cc", "Delivered-To", "X-Original-To"):
        found += [address.addr_spec for address in message.get_address_header(header)]
    return [address for address in found if address]


@dataclass(frozen=True)
class ReplyText:
    # What the person wrote this time, ready to post (may be empty).
    new: str
    # The whole text of the email, for the record.
    whole: str


def reply_text(message: AnymailInboundMessage) -> ReplyText:
    """The person's new text: the plain-text body (or the HTML one as text), without the quoted
    history, the signature and the "Sent from my phone" line, cut to a message's length."""
    whole = _clean(_plain_text(message))
    parsed = EmailMessage(text=whole, languages=list(LANGUAGES), keep_hyphen_lists=True).read()
    new = ""
    if parsed.replies:
        # What the person wrote above the first quote header.
        reply = parsed.replies[0]
        new = reply.full_body
        if reply.headers:
            # The email starts with the quote (Thunderbird's default, answers between quoted
            # lines): what the person wrote is what is not quoted.
            new = "\n".join(line for line in new.split("\n") if not line.startswith(">"))
        signature = _SIGNATURE_START.search(new)
        if signature is not None:
            new = new[: signature.start()]
    new = re.sub(r"\n{3,}", "\n\n", new).strip()
    if len(new) > CONTENT_MAX_LENGTH:
        new = new[: CONTENT_MAX_LENGTH - 1].rstrip() + "\u2026"
    return ReplyText(new=new, whole=whole[:BODY_MAX_LENGTH])


def _plain_text(message: AnymailInboundMessage) -> str:
    """The first text/plain part (format=flowed lines joined again), else the HTML as text."""
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.is_attachment():
            text = part.get_content_text()
            if (part.get_param("format") or "").lower() == "flowed":
                delete_space = (part.get_param("delsp") or "").lower() == "yes"
                text = _unflow(text, delete_space=delete_space)
            return str(text)
    return _html_text(message.html or "")


def _unflow(text: str, *, delete_space: bool) -> str:
    """RFC 3676: a line ending in a space continues on the next line of the same quote depth."""
    lines: list[tuple[int, str]] = []  # (quote depth, text)
    joining = False
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):  # space-stuffing
            body = body[1:]
        if joining and lines and lines[-1][0] == depth:
            lines[-1] = (depth, lines[-1][1] + body)
        else:
            lines.append((depth, body))
        joining = body.endswith(" ") and body != "-- "
        if joining and delete_space:
            lines[-1] = (depth, lines[-1][1][:-1])
    return "\n".join(">" * depth + (" " if depth else "") + body for depth, body in lines)


def _clean(text: str) -> str:
    # What a message may not hold (chats.validation): NUL, and lone surrogates that a broken
    # charset decoded to; and the characters the quote headers' patterns cannot see through.
    text = _NO_BREAK_SPACES.sub(" ", _INVISIBLE.sub("", text.replace("\x00", "")))
    return text.encode("utf-8", "replace").decode("utf-8").replace("\r\n", "\n")


class _HtmlText(HTMLParser):
    """The text of an HTML body as a reader sees it, without what no reader sees (head, styles,
    scripts) or what is quoted (blockquote)."""

    SKIPPED = {"head", "style", "script", "title", "blockquote"}
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
