"""What the chat domain tells other apps, after the transaction that did it commits.

One signal, because one app plugs into chats: notifications starts a reply email from each admin
reply (notifications/receivers.py, connected in NotificationsConfig.ready()). The real-time layer
is not a receiver: services send their events themselves (chats/realtime/transport.py).

- message_created: message (SupportMessage, with .chat and .chat.user loaded), sent for every
  message, a user's or an admin's.

A receiver that fails (Redis down, say) is logged without undoing what was committed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

message_created = Signal()


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
