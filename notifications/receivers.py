"""Signal receivers: where reply emails plug into the chat domain and the email provider."""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailTrackingEvent
from django.conf import settings

from chats.models import SenderType, SupportMessage
from notifications import services, tasks


def reply_schedule(sender: Any, *, message: SupportMessage, **kwargs: Any) -> None:
    """On `message_created` (sent after commit): an admin reply opens its email window."""
    if message.sender_type != SenderType.ADMIN:
        return
    # If Redis is down this raises; chats.signals logs it, and the sweep finds the reply later.
    tasks.reply_notify.apply_async(
        args=[str(message.id)], countdown=settings.DESK_REPLY_NOTIFICATION_DELAY
    )


def tracking_event(
    sender: Any, *, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any
) -> None:
    """On anymail's `tracking` (a provider webhook): bounces and complaints suppress the address."""
    services.tracking_event_record(event=event, esp_name=esp_name)
