"""What happened in the chat domain, announced after the transaction that did it commits.

Services call `send_on_commit`; the real-time layer and the email scheduler connect receivers in
their AppConfig.ready(). Nothing here runs inside a transaction that could still roll back, and a
receiver that fails (Redis down, say) is logged without undoing what was committed.

Arguments each signal is sent with:
- message_created: message (SupportMessage, with .chat loaded)
- messages_read: chat, message_ids (list of UUID), read_at
- chat_viewed: chat, admin, viewed_at
- chat_archived / chat_unarchived: chat, admin (None when a user message reopened the chat), row
  (the chat's admin-list row, read inside the transaction: the state that transaction committed)
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

message_created = Signal()
messages_read = Signal()
chat_viewed = Signal()
chat_archived = Signal()
chat_unarchived = Signal()


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
