"""Emails to embedded people about their chat itself: confirming a guest's address, and the
guest link support made for them. Both are ContactEmail rows, sent like reply emails
(notifications.services.sending): queued, claimed once, sent outside any transaction, retried
after a provider error, swept when their task is lost.

The confirmation rule: one email per guest and address an hour. A guest who gives an address
they were sent a link for in the last hour (and that was not cancelled or failed) gets no new
email: the earlier link still works, for DESK_EMAIL_LINK_MAX_AGE (at least an hour).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from chats.embed.services import guest_email_confirm, guest_link_make
from chats.models import Contact, SupportChat
from notifications import emails, links
from notifications.models import (
    ContactEmail,
    ContactEmailCancel,
    ContactEmailKind,
    EmailStatus,
    SuppressedAddress,
)
from notifications.services.preferences import address_normalize
from notifications.services.sending import (
    Delivery,
    Outcome,
    email_cancel,
    email_claim,
    email_send,
    emails_overdue,
    emails_stuck_fail,
)

logger = logging.getLogger(__name__)

CONFIRMATION_RESEND_AFTER = timedelta(hours=1)


# --- asking --------------------------------------------------------------------------------------


def confirmation_email_request(*, contact_id: int) -> ContactEmail | None:
    """A guest gave an address (chats' contact_email_given): queue the email with its link.

    Returns None when there is nothing to send: the contact is gone, has no unconfirmed address
    any more (changed it again, or confirmed it), or an email for this guest and this address was
    queued or sent in the last hour. Run the returned email's task after this commits.
    """
    now = timezone.now()
    with transaction.atomic():
        # The contact's lock serialises two requests for one guest (two quick PATCHes): only
        # one of them sees no recent email and queues one.
        contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
        if contact is None or not contact.email or contact.email_confirmed_at is not None:
            return None
        recent = (
            ContactEmail.objects.filter(
                contact=contact,
                kind=ContactEmailKind.CONFIRMATION,
                to_address__iexact=contact.email,
                created_at__gt=now - CONFIRMATION_RESEND_AFTER,
            )
            .exclude(status__in=[EmailStatus.CANCELLED, EmailStatus.FAILED])
            .exists()
        )
        if recent:
            logger.info("contact %s: confirmation sent within the hour; not again", contact.pk)
            return None
        return ContactEmail.objects.create(
            kind=ContactEmailKind.CONFIRMATION,
            contact=contact,
            to_address=contact.email,
            next_attempt_at=now,
        )


def invitation_email_request(*, contact_id: int, admin_id: int | None) -> ContactEmail | None:
    """Support started a chat with a guest and asked for the link to be emailed (chats'
    guest_invited): queue that email to the guest's address. None when the guest has none (or
    is gone). Run the returned email's task after this commits."""
    contact = Contact.objects.select_related("user").filter(pk=contact_id).first()
    if contact is None or not contact.user.email:
        return None
    return ContactEmail.objects.create(
        kind=ContactEmailKind.INVITATION,
        contact=contact,
        to_address=contact.user.email,
        requested_by_id=admin_id,
        next_attempt_at=timezone.now(),
    )


# --- sending -------------------------------------------------------------------------------------


def contact_email_deliver(*, email_id: uuid.UUID) -> Delivery:
    """Make one attempt at a queued contact email that is due, and record what happened.

    Claimed like a reply email: only one caller goes on. The guards run on fresh rows: a
    confirmation is cancelled if the guest gave another address or confirmed this one meanwhile;
    either kind if the address is no longer the guest's, or bounced or complained.
    """
    if not email_claim(ContactEmail, email_id):
        return Delivery(Outcome.NOT_CLAIMED)
    email = ContactEmail.objects.select_related("contact__user").get(id=email_id)
    contact = email.contact
    reason = _cancel_reason(email, contact)
    if reason is not None:
        logger.info("contact email %s: cancelled (%s)", email_id, reason.value)
        return email_cancel(ContactEmail, email_id, reason)
    confirmation = email.kind == ContactEmailKind.CONFIRMATION
    # A guest gave the address on the host's site; a guest link opens desk's own page.
    site_url = links.contact_site_url() if confirmation else settings.SITE_URL
    # Written in the language the guest chats in, once known (a guest invited by support has
    # not said yet: the settings').
    chat = SupportChat.objects.filter(user_id=contact.user_id).values("language", "time_zone")
    reader = chat.first() or {"language": "", "time_zone": ""}
    content = emails.ContactEmailContent(
        to=email.to_address,
        name=contact.name,
        site_url=site_url,
        site_name=links.host_of(site_url),
        message_id=links.contact_email_message_id(email.id),
        metadata={"desk_contact_email": str(email.id)},
        language=reader["language"],
        time_zone=reader["time_zone"],
    )

    def build() -> EmailMultiAlternatives:
        if confirmation:
            return emails.confirmation_email_build(
                content,
                confirm_url=links.confirm_url(contact_id=contact.pk, email=email.to_address),
                link_lifetime=emails.lifetime_text(settings.DESK_EMAIL_LINK_MAX_AGE),
            )
        return emails.invitation_email_build(
            # A fresh link, rather than the one the admin saw: a guest link is a credential,
            # kept out of the broker and the database.
            content,
            chat_url=guest_link_make(contact).url,
            link_lifetime=emails.lifetime_text(settings.DESK_GUEST_LINK_MAX_AGE),
        )

    delivery = email_send(ContactEmail, email, address=email.to_address, build=build)
    if delivery.outcome is Outcome.SENT:
        logger.info("contact email %s: %s sent to contact %s", email_id, email.kind, contact.pk)
    return delivery


def _cancel_reason(email: ContactEmail, contact: Contact) -> ContactEmailCancel | None:
    if not contact.user.is_active:
        return ContactEmailCancel.INACTIVE
    if email.kind == ContactEmailKind.CONFIRMATION:
        # The address the guest gave, confirmed or not (the user's stays empty until confirmed).
        current = contact.email
        same = address_normalize(current) == address_normalize(email.to_address)
        if same and contact.email_confirmed_at is not None:
            return ContactEmailCancel.CONFIRMED
    else:
        current = contact.user.email
    if not current:
        return ContactEmailCancel.NO_EMAIL
    if address_normalize(current) != address_normalize(email.to_address):
        return ContactEmailCancel.CHANGED
    if SuppressedAddress.objects.filter(address=address_normalize(current)).exists():
        return ContactEmailCancel.SUPPRESSED
    return None


# --- recovering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactSweep:
    # Queued emails whose attempt is overdue (the first one, or a retry, was lost).
    emails: list[uuid.UUID] = field(default_factory=list)
    # Emails stuck in SENDING past the hard time limit, now recorded as failed.
    interrupted: int = 0


def contact_emails_sweep() -> ContactSweep:
    """The contact emails a lost task left behind, and the sends a dead worker left half done.
    Two queries, whatever the backlog."""
    now = timezone.now()
    overdue = emails_overdue(
        ContactEmail, before=now - timedelta(seconds=settings.DESK_REPLY_SWEEP_INTERVAL)
    )
    interrupted = emails_stuck_fail(ContactEmail, now=now)
    if overdue or interrupted:
        logger.warning(
            "sweep: %d overdue contact emails, %d interrupted sends", len(overdue), interrupted
        )
    return ContactSweep(emails=overdue, interrupted=interrupted)


# --- the confirmation link -----------------------------------------------------------------------


class Confirmation(StrEnum):
    CONFIRMED = "confirmed"
    # The guest gave another address since the link was sent: it confirms nothing.
    ADDRESS_CHANGED = "address_changed"
    # The guest is gone (deleted, or merged into a person who signed in on the host site).
    GONE = "gone"


def address_confirm(*, token: str, act: bool = True) -> Confirmation:
    """Follow a confirmation link: the guest's address is confirmed (chats'
    guest_email_confirm), and the next reply email goes there. Following it again is harmless.

    Raises InvalidLinkError for a token desk did not sign, ExpiredLinkError for an old one. With
    `act=False` (a HEAD request) the outcome is worked out the same way and nothing changes.
    """
    link = links.confirm_token_read(token)
    if act and guest_email_confirm(contact_id=link.contact_id, email=link.email):
        logger.info("contact %s: address confirmed", link.contact_id)
        return Confirmation.CONFIRMED
    current = Contact.objects.filter(pk=link.contact_id).values_list("email", flat=True).first()
    if current is None:
        return Confirmation.GONE
    if current.casefold() != link.email.casefold():
        return Confirmation.ADDRESS_CHANGED
    return Confirmation.CONFIRMED
