"""Signal receivers: where reply emails plug into the chat domain and the email provider."""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent
from django.conf import settings
from django.contrib.auth.models import User

from chats.models import Contact, SenderType, SupportChat, SupportMessage
from notifications import services, tasks


def reply_schedule(sender: Any, *, message: SupportMessage, **kwargs: Any) -> None:
    """On `message_created` (sent after commit): an admin reply opens its email window, a
    person's message its wait for an answer before staff are alerted."""
    # If Redis is down this raises; chats.signals logs it, and the sweep finds the message later.
    if message.sender_type == SenderType.ADMIN:
        tasks.reply_notify.apply_async(
            args=[str(message.id)], countdown=settings.DESK_REPLY_NOTIFICATION_DELAY
        )
    else:
        tasks.staff_alert_notify.apply_async(
            args=[str(message.id)], countdown=settings.DESK_STAFF_ALERT_DELAY
        )


def confirmation_schedule(sender: Any, *, contact: Contact, **kwargs: Any) -> None:
    """On `contact_email_given` (sent after commit): the guest's address gets its confirmation
    link, at most once an hour (services.confirmation_email_request)."""
    email = services.confirmation_email_request(contact_id=contact.pk)
    if email is not None:
        # If Redis is down this raises; chats.signals logs it, and the sweep finds the email.
        tasks.contact_email_send.apply_async(args=[str(email.id)])


def invitation_schedule(
    sender: Any, *, contact: Contact, url: str, admin: User | None, **kwargs: Any
) -> None:
    """On `guest_invited` (sent after commit): the guest link goes to the guest's address. The
    email carries a link made when it is sent, not `url`: a credential stays out of the broker."""
    email = services.invitation_email_request(
        contact_id=contact.pk, admin_id=admin.pk if admin is not None else None
    )
    if email is not None:
        tasks.contact_email_send.apply_async(args=[str(email.id)])


def tracking_event(
    sender: Any, *, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any
) -> None:
    """On anymail's `tracking` (a provider webhook): bounces and complaints suppress the address."""
    services.tracking_event_record(event=event, esp_name=esp_name)


class InboundReceiverError(RuntimeError):
    """desk failed to handle an inbound email anymail had read: a 500, so the provider retries
    (the webhook's guard, notifications.urls, answers the payload errors anymail raises 400)."""


def inbound_event(sender: Any, *, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    """On anymail's `inbound` (a provider webhook, its signature checked): a reply by email."""
    try:
        services.inbound_email_receive(message=event.message, esp_name=esp_name)
    except (ValueError, LookupError, TypeError, AttributeError) as error:
        raise InboundReceiverError(f"inbound email from {esp_name}: {error!r}") from error


def chat_merged_move(
    sender: Any, *, source: SupportChat, target: SupportChat, **kwargs: Any
) -> None:
    """On `chat_merged` (inside its transaction): the guest chat's reply emails belong to the
    person's chat now, as do the replies they list; so do its staff alerts."""
    services.reply_emails_move(source=source, target=target)
    services.staff_alerts_move(source=source, target=target)
