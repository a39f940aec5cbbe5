"""The email's button: back into the chat for its user, with the replies marked read."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from chats import services as chats_services
from chats.models import SupportMessage
from notifications import links
from notifications.models import ClickOutcome, ReplyEmail, ReplyEmailClick

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    outcome: ClickOutcome
    marked_read: int = 0


def reply_email_open(*, token: str, user: User | AnonymousUser, act: bool = True) -> Opened:
    """Follow the link of a reply email, and record the click.

    The link's user gets the email's replies marked read, with the same `messages_read` event as
    the widget's mark-read. Anyone else is refused, nothing marked. Raises InvalidLinkError for a
    token desk did not sign (or whose email is gone), ExpiredLinkError for an old one.

    With `act=False` (a HEAD request: link checkers and mail scanners send them) the outcome is
    worked out the same way, so the answer is the same, but nothing is marked or recorded.
    """
    try:
        opened = links.open_token_read(token)
    except links.ExpiredLinkError as exc:
        email = ReplyEmail.objects.filter(id=exc.token.email_id).only("id").first()
        if email is not None and act:
            ReplyEmailClick.objects.create(
                email=email, user=_known(user), outcome=ClickOutcome.EXPIRED
            )
        raise
    email = ReplyEmail.objects.select_related("chat").filter(id=opened.email_id).first()
    if email is None or str(email.user_id) != opened.user_pk:
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
        return Opened(ClickOutcome.OPENED)

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
            email=email, user=user, outcome=ClickOutcome.OPENED, marked_read=marked
        )
    return Opened(ClickOutcome.OPENED, marked_read=marked)


def _known(user: User | AnonymousUser) -> User | None:
    return user if user.is_authenticated else None
