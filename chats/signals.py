"""What the chat domain tells other apps: notifications plugs in here (notifications/receivers.py,
connected in NotificationsConfig.ready()). The real-time layer is not a receiver: services send
their events themselves (chats/realtime/transport.py).

Sent after the transaction that did it commits (`send_on_commit`); a receiver that fails (Redis
down, say) is logged without undoing what was committed:
- message_created: message (SupportMessage, with .chat and .chat.user loaded), sent for every
  message, a user's or an admin's (an admin's reply starts its reply email).
- contact_email_given: contact (chats.models.Contact), a guest who gave an email address that is
  not confirmed yet (a confirmation link goes there).
- guest_invited: contact, url (the guest link), admin: support started a chat with a guest and
  asked for the link to be emailed to the contact's address.

Sent inside the transaction, so that receivers change their rows with it, or stop it by raising:
- chat_merged: source, target (SupportChat): a guest's chat joins a person's; the source chat is
  deleted right after, so what refers to it must move to the target now.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

message_created = Signal()
contact_email_given = Signal()
guest_invited = Signal()
chat_merged = Signal()


def send_on_commit(signal: Signal, **kwargs: Any) -> None:
    """Send `signal` once the current transaction commits; drop it if the transaction rolls back."""

    def send() -> None:
        for receiver, result in signal.send_robust(sender=None, **kwargs):
            if isinstance(result, Exception):
                logger.error(
                    "receiver %r failed after commit",
                    receiver,
                    exc_info=(type(result), result, result.__traceback__),
                )

    transaction.on_commit(send)
