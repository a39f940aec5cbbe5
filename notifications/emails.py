"""Pure builders for desk's emails: plain data in, an EmailMultiAlternatives out. No queries.

- the reply email ("New reply from Support"), to anyone with a chat;
- the confirmation email, to the address a guest gave;
- the invitation email, with the guest link support made;
- the staff alert ("New message from ..."), to staff about a message nobody answered.

Each is written in its reader's language and time zone (`language`, `time_zone`: the chat's for a
person, the staff member's for an alert; empty, settings.LANGUAGE_CODE and settings.TIME_ZONE):
subject, both parts and dates, with `Content-Language` set and, for Arabic, a right-to-left HTML
part. The rendered results for a fixed input live in tests/notifications/fixtures/ for a reader to
open; docs/emails/ holds whole emails in other languages.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_lazy, ngettext

from chats.formatting import format_message

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SUBJECT = gettext_lazy("New reply from Support")
CONFIRMATION_SUBJECT = gettext_lazy("Confirm your email address")
INVITATION_SUBJECT = gettext_lazy("Support started a conversation with you")
PREVIEW_LENGTH = 200
ELLIPSIS = "\u2026"
# How the HTML parts write a link to the site: in the text (blue), and in the footer (grey).
LINK_STYLE = "color:#2563eb;"
FOOTER_LINK_STYLE = "color:#7b8794;"


def reader_language(language: str) -> str:
    """`language` if desk speaks it, else settings.LANGUAGE_CODE."""
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def reader_time_zone(time_zone: str) -> str:
    """`time_zone` if this Python knows it, else settings.TIME_ZONE."""
    try:
        return time_zone if time_zone and zoneinfo.ZoneInfo(time_zone) else settings.TIME_ZONE
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return settings.TIME_ZONE


@contextmanager
def reader_locale(language: str, time_zone: str) -> Iterator[str]:
    """Everything rendered inside is in the reader's language and time zone (each falling back
    to the settings'); yields the language used, for the Content-Language header."""
    language = reader_language(language)
    with translation.override(language), timezone.override(reader_time_zone(time_zone)):
        yield language


def _localized(message: EmailMultiAlternatives, language: str) -> EmailMultiAlternatives:
    message.extra_headers["Content-Language"] = language
    return message


def _site_links(site_url: str, site_name: str) -> dict[str, SafeString]:
    # The site as a link, for sentences the text part writes with `site_name` alone: one text to
    # translate for both parts.
    return {
        "site_link": format_html('<a href="{}" style="{}">{}</a>', site_url, LINK_STYLE, site_name),
        "site_footer_link": format_html(
            '<a href="{}" style="{}">{}</a>', site_url, FOOTER_LINK_STYLE, site_name
        ),
    }


@dataclass(frozen=True)
class ReplyEmailContent:
    to: str
    name: str
    # The replies' texts, oldest first, whole: the builder cuts the previews.
    replies: list[str]
    open_url: str
    unsubscribe_url: str
    site_url: str
    site_name: str
    message_id: str
    thread_id: str
    # How long the open link works, in words: "14 days".
    link_lifetime: str
    metadata: dict[str, str] = field(default_factory=dict)
    # The chat's reply address (links.reply_address): set, a reply to the email reaches the chat.
    reply_to: str | None = None
    # The names of each reply's files, parallel to `replies` (missing at the end: none). A reply
    # may be files alone, its text empty. Names only: the files stay behind the chat's sign-in.
    attachments: list[list[str]] = field(default_factory=list)
    # Who wrote each reply, parallel to `replies`: the admin's name, "" for Support as one voice.
    authors: list[str] = field(default_factory=list)
    # When each reply was sent, parallel to `replies` (missing: not shown).
    sent_at: list[datetime] = field(default_factory=list)
    # The reader's language and IANA time zone ("": the settings').
    language: str = ""
    time_zone: str = ""


@dataclass(frozen=True)
class ReplyView:
    """One reply as the email's templates show it."""

    # One line, for the text part ("" for a reply of files alone).
    preview: str
    # Whole and formatted, for the HTML part.
    html: SafeString
    files: list[str]
    sent_at: datetime | None = None


def reply_preview(text: str) -> str:
    """The reply on one line, cut at PREVIEW_LENGTH characters with an ellipsis after the cut."""
    line = " ".join(text.split())
    if len(line) <= PREVIEW_LENGTH:
        return line
    return line[:PREVIEW_LENGTH].rstrip() + ELLIPSIS


def replied_by(authors: list[str]) -> str:
    """Who the email says replied: "Alice from Support" when one named admin wrote every reply,
    else "Support"."""
    names = set(authors)
    if len(names) == 1 and "" not in names:
        # Translators: an admin's name, then the team; "Support" as in "New reply from Support".
        return gettext("%(name)s from Support") % {"name": names.pop()}
    # Translators: the support team as one voice, as in "New reply from Support".
    return gettext("Support")


def _lifetime_text(seconds: int) -> str:
    for size, unit in (
        (86400, ngettext("%(count)s day", "%(count)s days", seconds // 86400)),
        (3600, ngettext("%(count)s hour", "%(count)s hours", seconds // 3600)),
        (60, ngettext("%(count)s minute", "%(count)s minutes", seconds // 60)),
    ):
        if seconds >= size:
            return unit % {"count": seconds // size}
    return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}


_lifetime_lazy = lazy(_lifetime_text, str)


def lifetime_text(seconds: int) -> str:
    """A link's lifetime in the largest whole unit: "14 days", "1 day", "12 hours", "5 minutes".

    Lazy: written when an email renders it, so in that email's language, not the caller's."""
    return _lifetime_lazy(seconds)


def reply_email_build(content: ReplyEmailContent) -> EmailMultiAlternatives:
    """The email, ready to send through any Django or anymail backend, in the reader's language
    and time zone."""
    with reader_locale(content.language, content.time_zone) as language:
        return _localized(_reply_email(content), language)


def _reply_email(content: ReplyEmailContent) -> EmailMultiAlternatives:
    files = [*content.attachments, *[[]] * (len(content.replies) - len(content.attachments))]
    sent_at: list[datetime | None] = [*content.sent_at]
    sent_at += [None] * (len(content.replies) - len(sent_at))
    # The text part quotes each reply as a one-line preview; the HTML part shows it whole, with
    # its formatting and links, as the chat does (chats/formatting.py), and when it was sent.
    # Both list its files.
    replies = [
        ReplyView(reply_preview(text), format_message(text), list(names), when)
        for text, names, when in zip(content.replies, files, sent_at, strict=False)
    ]
    context = {
        "name": content.name,
        "who": replied_by(content.authors),
        "replies": replies,
        "preheader": _preheader(replies),
        "open_url": content.open_url,
        "unsubscribe_url": content.unsubscribe_url,
        "site_url": content.site_url,
        "site_name": content.site_name,
        "link_lifetime": content.link_lifetime,
        "replies_reach_the_chat": content.reply_to is not None,
        **_site_links(content.site_url, content.site_name),
    }
    message = EmailMultiAlternatives(
        subject=str(SUBJECT),
        body=render_to_string("notifications/email/reply.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[content.to],
        reply_to=[content.reply_to] if content.reply_to is not None else [],
        headers={
            "Message-ID": content.message_id,
            "In-Reply-To": content.thread_id,
            "References": content.thread_id,
            # RFC 8058 one-click: a mailbox provider POSTs "List-Unsubscribe=One-Click" here.
            "List-Unsubscribe": f"<{content.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(
        render_to_string("notifications/email/reply.html", context), "text/html"
    )
    # Read by anymail backends (returned in tracking events), ignored by Django's own backends.
    message.metadata = dict(content.metadata)  # type: ignore[attr-defined]
    message.tags = ["reply-email"]  # type: ignore[attr-defined]
    return message


def _preheader(replies: list[ReplyView]) -> str:
    """What an inbox shows beside the subject: the first reply's text, or its first file."""
    if not replies:
        return ""
    first = replies[0]
    if first.preview or not first.files:
        return first.preview
    return gettext("Attached: %(file)s") % {"file": first.files[0]}


@dataclass(frozen=True)
class ContactEmailContent:
    """What every email to an embedded person about their chat carries."""

    to: str
    name: str
    site_url: str
    site_name: str
    message_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    # The reader's language and IANA time zone ("": the settings').
    language: str = ""
    time_zone: str = ""


def confirmation_email_build(
    content: ContactEmailContent, *, confirm_url: str, link_lifetime: str
) -> EmailMultiAlternatives:
    """The email with the link that confirms a guest's address."""
    return _contact_email_build(
        content,
        subject=CONFIRMATION_SUBJECT,
        template="confirmation",
        tag="address-confirmation",
        context={"confirm_url": confirm_url, "link_lifetime": link_lifetime},
    )


def invitation_email_build(
    content: ContactEmailContent, *, chat_url: str, link_lifetime: str
) -> EmailMultiAlternatives:
    """The email with the guest link support made: the chat on desk's own page."""
    return _contact_email_build(
        content,
        subject=INVITATION_SUBJECT,
        template="invitation",
        tag="guest-invitation",
        context={"chat_url": chat_url, "link_lifetime": link_lifetime},
    )


def _contact_email_build(
    content: ContactEmailContent,
    *,
    subject: StrOrPromise,
    template: str,
    tag: str,
    context: dict[str, str],
) -> EmailMultiAlternatives:
    with reader_locale(content.language, content.time_zone) as language:
        return _localized(
            _contact_email(content, subject=subject, template=template, tag=tag, context=context),
            language,
        )


def _contact_email(
    content: ContactEmailContent,
    *,
    subject: StrOrPromise,
    template: str,
    tag: str,
    context: dict[str, str],
) -> EmailMultiAlternatives:
    context = {
        **context,
        "name": content.name,
        "site_url": content.site_url,
        "site_name": content.site_name,
        **_site_links(content.site_url, content.site_name),
    }
    message = EmailMultiAlternatives(
        subject=str(subject),
        body=render_to_string(f"notifications/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[content.to],
        # No List-Unsubscribe: each is one email the person (or support, for them) asked for.
        headers={"Message-ID": content.message_id, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(
        render_to_string(f"notifications/email/{template}.html", context), "text/html"
    )
    message.metadata = dict(content.metadata)  # type: ignore[attr-defined]
    message.tags = [tag]  # type: ignore[attr-defined]
    return message


STAFF_ALERT_SUBJECT = gettext_lazy("New message from %(person)s")


@dataclass(frozen=True)
class StaffAlertContent:
    """A staff alert: the person's unanswered messages, oldest first, and where to answer."""

    to: str
    # The staff member's first name, for the greeting.
    name: str
    person: str
    messages: list[str]
    chat_url: str
    # Where the staff member changes which alerts they get (the dashboard).
    preferences_url: str
    site_name: str
    message_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    # When each message was sent, parallel to `messages` (missing: not shown).
    sent_at: list[datetime] = field(default_factory=list)
    # The staff member's language and IANA time zone ("": the settings').
    language: str = ""
    time_zone: str = ""


@dataclass(frozen=True)
class AlertMessageView:
    """One of the person's messages as the alert's HTML part shows it."""

    html: SafeString
    sent_at: datetime | None = None


def staff_alert_build(content: StaffAlertContent) -> EmailMultiAlternatives:
    """The "New message from ..." email to a staff member, in their language and time zone."""
    with reader_locale(content.language, content.time_zone) as language:
        return _localized(_staff_alert(content), language)


def _staff_alert(content: StaffAlertContent) -> EmailMultiAlternatives:
    sent_at: list[datetime | None] = [*content.sent_at]
    sent_at += [None] * (len(content.messages) - len(sent_at))
    person = content.person
    context = {
        "name": content.name,
        "person": person,
        "count": len(content.messages),
        "previews": [reply_preview(text) for text in content.messages],
        "messages": [
            AlertMessageView(format_message(text), when)
            for text, when in zip(content.messages, sent_at, strict=False)
        ],
        "chat_url": content.chat_url,
        "preferences_url": content.preferences_url,
        "site_name": content.site_name,
    }
    message = EmailMultiAlternatives(
        # The person's name is theirs to choose: one line, whatever they typed.
        subject=STAFF_ALERT_SUBJECT % {"person": " ".join(person.split())},
        body=render_to_string("notifications/email/staff_alert.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[content.to],
        headers={"Message-ID": content.message_id, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(
        render_to_string("notifications/email/staff_alert.html", context), "text/html"
    )
    message.metadata = dict(content.metadata)  # type: ignore[attr-defined]
    message.tags = ["staff-alert"]  # type: ignore[attr-defined]
    return message
