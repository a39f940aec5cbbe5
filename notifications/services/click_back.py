"""The email's button: back into the chat for its user, with the replies marked read.

Desk's own users prove who they are with their session (the login page first, if need be). An
embedded person (a user with a chats.models.Contact) never has a desk session: for them the
signed link alone is the proof, as it is for the unsubscribe link.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from chats import services as chats_services
from chats.models import Contact, SupportMessage
from notifications import links
from notifications.models import ClickOutcome, ReplyEmail, ReplyEmailClick

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    outcome: ClickOutcome
    marked_read: int = 0
    # Where to go next, for the outcomes that open the chat.
    location: str = ""


def reply_email_open(*, token: str, user: User | AnonymousUser, act: bool = True) -> Opened:
    """Follow the link of a reply email, and record the click.

    The link's user gets the email's replies marked read, with the same `messages_read` event as
    the widget's mark-read. Anyone else is refused, nothing marked. An embedded person's link
    works without any session, whoever is logged in (CONTACT_OPENED). Raises InvalidLinkError
    for a token desk did not sign (or whose email is gone, or whose person was deactivated),
    ExpiredLinkError for an old one.

    With `act=False` (a HEAD request: link checkers and mail scanners send them) the outcome is
    worked out the same way, so the answer is the same, but nothing is marked or recorded.
    """
    try:
        opened = links.open_token_read(token)
    except links.ExpiredOpenLinkError as exc:
        email = ReplyEmail.objects.filter(id=exc.token.email_id).only("id").first()
        if email is not None and act:
            ReplyEmailClick.objects.create(
                email=email, user=_known(user), outcome=ClickOutcome.EXPIRED
            )
        raise
    email = ReplyEmail.objects.select_related("chat").filter(id=opened.email_id).first()
    if email is None:
        raise links.InvalidLinkError
    contact = Contact.objects.select_related("user").filter(user_id=email.user_id).first()
    if contact is not None:
        # The signature binds the link to this email. Its user may differ from the link's: a
        # guest's emails move to the person the guest's chat merged into, who is the same person.
        return _contact_open(email, contact, act=act)
    if str(email.user_id) != opened.user_pk:
        raise links.InvalidLinkError
    if not user.is_authenticated:
        if act:
            ReplyEmailClick.objects.create(email=email, outcome=ClickOutcome.LOGIN_REQUIRED)
        return Opened(ClickOutcome.LOGIN_REQUIRED)
    if user.pk != email.user_id:
        if act:
            ReplyEmailClick.objects.create(email=email, user=user, outcome=ClickOutcome.OTHER_USER)
            logger.warning("email %s: link opened by user %s, refused", email.id, user.pk)
        return Opened(ClickOutcome.OTHER_USER)
    if not act:
        return Opened(ClickOutcome.OPENED, location=links.chat_url())

    marked = _mark_read(email, user, ClickOutcome.OPENED, clicked_by=user)
    return Opened(ClickOutcome.OPENED, marked_read=marked, location=links.chat_url())


def _contact_open(email: ReplyEmail, contact: Contact, *, act: bool) -> Opened:
    if not contact.user.is_active:
        # Their access was withdrawn: the link goes nowhere.
        raise links.InvalidLinkError
    location = links.contact_return_url(contact)
    if not act:
        return Opened(ClickOutcome.CONTACT_OPENED, location=location)
    # Nobody is logged in as a contact, so the click records no user: the email names them.
    marked = _mark_read(email, contact.user, ClickOutcome.CONTACT_OPENED, clicked_by=None)
    return Opened(ClickOutcome.CONTACT_OPENED, marked_read=marked, location=location)


def _mark_read(
    email: ReplyEmail, user: User, outcome: ClickOutcome, *, clicked_by: User | None
) -> int:
    with transaction.atomic():
        # The same service as the widget's mark-read (same lock, same messages_read event),
        # limited to the replies this email listed.
        marked = chats_services.messages_mark_read(
            user=user,
            message_ids=SupportMessage.objects.filter(email_decision__email=email).values_list(
                "id", flat=True
            ),
        )
        ReplyEmailClick.objects.create(
            email=email, user=clicked_by, outcome=outcome, marked_read=marked
        )
    return marked


def _known(user: User | AnonymousUser) -> User | None:
    return user if user.is_authenticated else None
