"""Stand-ins for the email provider, the one edge these tests fake. Select one with `mailer`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail.backends.base import BaseEmailBackend


class ProviderDownBackend(BaseEmailBackend):
    """The provider answers every send with a server error, as anymail reports an HTTP 503."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise AnymailAPIError("Postmark API response 503 (Service Unavailable)")


class RecipientRefusedBackend(BaseEmailBackend):
    """The provider refuses the recipient: sending again would meet the same answer."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise AnymailRecipientsRefused("All message recipients were rejected or invalid")


class TimeLimitMidSendBackend(BaseEmailBackend):
    """The provider hangs until Celery's soft time limit interrupts the send: did it go out?"""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise SoftTimeLimitExceeded()
