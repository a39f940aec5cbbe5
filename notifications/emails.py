"""Pure builders for desk's emails: plain data in, an EmailMultiAlternatives out. No queries.

- the reply email ("New reply from Support"), to anyone with a chat;
- the confirmation email, to the address a guest gave;
- the invitation email, with the guest link support made;
- the staff alert ("New message from ..."), to staff about a message nobody answered.

The rendered results for a fixed input live in tests/notifications/fixtures/ for a reader to open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from chats.formatting import format_message

SUBJECT = "New reply from Support"
CONFIRMATION_SUBJECT = "Confirm your email address"
INVITATION_SUBJECT = "Support started a conversation with you"
PREVIEW_LENGTH = 200
ELLIPSIS = "\u2026"


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


@dataclass(frozen=True)
class ReplyView:
    """One reply as the email's templates show it."""

    # One line, for the text part ("" for a reply of files alone).
    preview: str
    # Whole and formatted, for the HTML part.
    html: SafeString
    files: list[str]


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
        return f"{names.pop()} from Support"
    return "Support"


def lifetime_text(seconds: int) -> str:
    """A link's lifetime in the largest whole unit: "14 days", "1 day", "12 hours", "5 minutes"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def reply_email_build(content: ReplyEmailContent) -> EmailMultiAlternatives:
    """The email, ready to send through any Django or anymail backend."""
    files = [*content.attachments, *[[]] * (len(content.replies) - len(content.attachments))]
    # The text part quotes each reply as a one-line preview; the HTML part shows it whole, with
    # its formatting and links, as the chat does (chats/formatting.py). Both list its files.
    replies = [
        ReplyView(reply_preview(text), format_message(text), list(names))
        for text, names in zip(content.replies, files, strict=False)
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
    }
    message = EmailMultiAlternatives(
        subject=SUBJECT,
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
    return f"Attached: {first.files[0]}"


@dataclass(frozen=True)
class ContactEmailContent:
    """What every email to an embedded person about their chat carries."""

    to: str
    name: str
    site_url: str
    site_name: str
    message_id: str
    metadata: dict[str, str] = field(default_factory=dict)


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
    subject: str,
    template: str,
    tag: str,
    context: dict[str, str],
) -> EmailMultiAlternatives:
    context = {
        **context,
        "name": content.name,
        "site_url": content.site_url,
        "site_name": content.site_name,
    }
    message = EmailMultiAlternatives(
        subject=subject,
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


STAFF_ALERT_SUBJECT = "New message from {person}"


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


def staff_alert_build(content: StaffAlertContent) -> EmailMultiAlternatives:
    """The "New message from ..." email to a staff member."""
    context = {
        "name": content.name,
        "person": content.person,
        "previews": [reply_preview(text) for text in content.messages],
        "messages": [format_message(text) for text in content.messages],
        "chat_url": content.chat_url,
        "preferences_url": content.preferences_url,
        "site_name": content.site_name,
    }
    message = EmailMultiAlternatives(
        # The person's name is theirs to choose: one line, whatever they typed.
        subject=STAFF_ALERT_SUBJECT.format(person=" ".join(content.person.split())),
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
