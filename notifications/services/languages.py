"""The language a page behind an email's link is written in: the chat's, when the link names
a chat whose person's language is known (they read the email in it); "" otherwise, and the page
follows the browser (LocaleMiddleware)."""

from __future__ import annotations

from django.conf import settings

from chats.models import SupportChat
from notifications import links
from notifications.models import EmailPreference, ReplyEmail


def _known(language: str | None) -> str:
    return language if language in {code for code, _name in settings.LANGUAGES} else ""


def open_link_language(token: str) -> str:
    """The language of the chat a reply email's link (expired or not) is about."""
    try:
        email_id = links.open_token_read(token).email_id
    except links.ExpiredOpenLinkError as expired:
        email_id = expired.token.email_id
    except links.InvalidLinkError:
        return ""
    return _known(
        ReplyEmail.objects.filter(id=email_id).values_list("chat__language", flat=True).first()
    )


def confirm_link_language(token: str) -> str:
    """The language of the chat of the guest a confirmation link was sent to."""
    try:
        contact_id = links.confirm_token_read(token).contact_id
    except (links.InvalidLinkError, links.ExpiredLinkError):
        return ""
    return _known(
        SupportChat.objects.filter(user__contact__id=contact_id)
        .values_list("language", flat=True)
        .first()
    )


def preference_language(preference: EmailPreference) -> str:
    """The language of the chat of the person an unsubscribe link belongs to."""
    return _known(
        SupportChat.objects.filter(user_id=preference.user_id)
        .values_list("language", flat=True)
        .first()
    )
