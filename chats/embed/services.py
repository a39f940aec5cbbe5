"""Contacts: the people who chat through the embedded widget, guests and identified alike.

Every function owns its transaction, as chats.services' do. A contact is a Django user with an
unusable password, no staff flag and a `Contact` row (chats/models.py): it can never sign in to
the dashboard, the Django admin or any desk page, and everything chats does for a user (one chat,
the message allowance, reply emails) works for it unchanged.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chats import ratelimit, selectors, signals
from chats.embed.identity import Identity, identity_verify
from chats.embed.tokens import IssuedToken, desk_token_issue
from chats.errors import InvalidInputError, PermissionDeniedError, UnauthenticatedError
from chats.models import (
    AdminAction,
    Attachment,
    ChatAuditEntry,
    Contact,
    ContactKind,
    SenderType,
    SupportChat,
    SupportMessage,
)
from chats.permissions import require_admin, require_current_admin
from chats.realtime import builders, transport
from chats.realtime.protocol import ADMINS_GROUP, chat_group
from chats.services import CHAT_ACTIVITY_FIELDS, chat_lock
from chats.validation import email_clean, name_clean

GUEST_LINK_SALT = "desk.chats.embed.guest_link"
# A guest's secret: 256 bits, URL-safe; only its SHA-256 is stored.
SECRET_BYTES = 32
MAX_SECRET_CHARS = 100


@dataclass(frozen=True)
class NewGuest:
    contact: Contact
    secret: str


@dataclass(frozen=True)
class Invited:
    contact: Contact
    chat_id: uuid.UUID


@dataclass(frozen=True)
class GuestLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Exchange:
    contact: Contact
    issued: IssuedToken
    chat_id: uuid.UUID | None
    merged_messages: int = 0


def token_exchange(
    *, identity: object = None, guest_secret: object = None, guest_link: object = None
) -> Exchange:
    """A desk token for whoever the credentials prove: the host's identity token, else a guest's
    secret, else a guest link. An identity with a guest's secret merges the guest's chat into the
    person's (a secret that no longer works is ignored then: it was merged before).

    Raises UnauthenticatedError with the reason, InvalidInputError when nothing was given.
    """
    merged = 0
    if identity is not None:
        contact = identified_contact(identity_verify(identity))
        if guest_secret is not None:
            guest = _guest_or_none(guest_secret)
            if guest is not None:
                merged = guest_merge(guest=guest, into=contact)
    elif guest_secret is not None:
        contact = guest_by_secret(guest_secret)
    elif guest_link is not None:
        contact = guest_by_link(guest_link)
    else:
        raise InvalidInputError(
            "identity", gettext_lazy("Send identity, guest_secret or guest_link.")
        )
    chat_id = SupportChat.objects.filter(user_id=contact.user_id).values_list("id", flat=True)
    return Exchange(contact, desk_token_issue(contact.user), chat_id.first(), merged)


def guest_create(*, client: str, name: object = None, email: object = None) -> NewGuest:
    """A new guest, with the secret its browser keeps. No chat yet: that starts with the first
    message. An address given is confirmed by a link emailed there (`contact_email_given`).

    Raises PermissionDeniedError when guests are off (DESK_GUESTS), RateLimitedError past
    DESK_GUESTS_PER_HOUR for the client address, InvalidInputError for a bad name or email.
    """
    if not settings.DESK_GUESTS:
        raise PermissionDeniedError(
            gettext_lazy("Guests are turned off here: the site must identify you.")
        )
    clean_name = name_clean(name)
    clean_email = email_clean(email)
    ratelimit.take_sync(ratelimit.guests(), ratelimit.client_subject(client))
    with transaction.atomic():
        guest = _guest_add(clean_name, clean_email)
        if clean_email:
            signals.send_on_commit(signals.contact_email_given, contact=guest.contact)
    return guest


def guest_link_make(contact: Contact) -> GuestLink:
    """The link support sends a guest: desk's full-page chat, signed in as that guest."""
    token = signing.dumps({"c": contact.pk}, salt=GUEST_LINK_SALT, compress=False)
    expires_at = timezone.now() + timedelta(seconds=settings.DESK_GUEST_LINK_MAX_AGE)
    return GuestLink(f"{settings.SITE_URL}{reverse('guest_chat', args=[token])}", expires_at)


def guest_by_link(token: object) -> Contact:
    """The guest a link was made for; UnauthenticatedError (`guest_link_invalid`) otherwise."""
    if not isinstance(token, str) or len(token) > 500:
        raise _link_invalid()
    try:
        data = signing.loads(token, salt=GUEST_LINK_SALT, max_age=settings.DESK_GUEST_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise UnauthenticatedError(
            gettext_lazy("This chat link has expired; ask support for a new one."),
            reason="guest_link_invalid",
        ) from None
    except signing.BadSignature:
        raise _link_invalid() from None
    contact_pk = data.get("c") if isinstance(data, dict) else None
    contact = (
        Contact.objects.select_related("user")
        .filter(pk=contact_pk, kind=ContactKind.GUEST, user__is_active=True)
        .first()
        if isinstance(contact_pk, int)
        else None
    )
    if contact is None:
        raise _link_invalid()
    return contact


def guest_by_secret(secret: object) -> Contact:
    """The guest whose browser holds `secret`; UnauthenticatedError (`guest_unknown`) if none."""
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET_CHARS:
        raise _guest_unknown()
    contact = (
        Contact.objects.select_related("user")
        .filter(kind=ContactKind.GUEST, secret_hash=secret_hash(secret), user__is_active=True)
        .first()
    )
    if contact is None:
        raise _guest_unknown()
    return contact


def identified_contact(identity: Identity) -> Contact:
    """The contact for the host's `sub`, created on first sight; its name and email follow the
    latest token (the host vouches for the address: reply emails go there)."""
    contact = _identified_get(identity.sub)
    if contact is None:
        try:
            with transaction.atomic():
                user = _contact_user_create(email=identity.email)
                contact = Contact.objects.create(
                    user=user,
                    kind=ContactKind.IDENTIFIED,
                    external_id=identity.sub,
                    name=identity.name,
                    email=identity.email,
                    email_confirmed_at=timezone.now() if identity.email else None,
                )
            return contact
        except IntegrityError:
            # Another device of the same person got there first: theirs is the one.
            contact = _identified_get(identity.sub)
            if contact is None:
                raise
    if not contact.user.is_active:
        raise UnauthenticatedError(
            gettext_lazy("This person's access was withdrawn."), reason="identity_invalid"
        )
    if (contact.name, contact.email) != (identity.name, identity.email):
        contact_identity_update(contact, identity)
    return contact


def contact_identity_update(contact: Contact, identity: Identity) -> None:
    # A token without `name` or `email` leaves the stored one as it is.
    with transaction.atomic():
        if identity.name:
            contact.name = identity.name
        if identity.email and identity.email != contact.email:
            contact.email = identity.email
            contact.email_confirmed_at = timezone.now()
            User.objects.filter(pk=contact.user_id).update(email=identity.email)
            contact.user.email = identity.email
        contact.save(update_fields=["name", "email", "email_confirmed_at", "updated_at"])


def guest_merge(*, guest: Contact, into: Contact) -> int:
    """The guest's chat joins `into`'s chat, the guest is deleted; returns the messages moved.

    The browser that chatted as a guest has now presented an identity token: it is the same
    person. Messages keep their timestamps, so the merged chat reads in the order they were
    written; an audit entry on the chat records the merge. The guest's secret stops working.
    """
    if guest.kind != ContactKind.GUEST or guest.pk == into.pk:
        return 0
    with transaction.atomic():
        guest_chat = SupportChat.objects.select_for_update().filter(user_id=guest.user_id).first()
        if guest_chat is None:
            _contact_delete(guest)
            return 0
        into_chat_id = SupportChat.objects.get_or_create(user_id=into.user_id)[0].id
        chat = chat_lock(into_chat_id)
        moved = SupportMessage.objects.filter(chat=guest_chat).update(chat=chat)
        SupportMessage.objects.filter(chat=chat, sender_id=guest.user_id).update(sender=into.user)
        # The attachments follow their messages (and the guest's waiting uploads stay theirs),
        # or the guest chat's deletion below would take them, and their files, along.
        Attachment.objects.filter(chat=guest_chat).update(chat=chat)
        Attachment.objects.filter(chat=chat, uploader_id=guest.user_id).update(uploader=into.user)
        merged = SupportMessage.objects.filter(chat=chat).aggregate(
            last=Max("created_at"),
            last_user=Max("created_at", filter=Q(sender_type=SenderType.USER)),
            count=Count("id"),
        )
        chat.last_message_at = merged["last"]
        chat.last_user_message_at = merged["last_user"]
        chat.message_count = merged["count"]
        if guest_chat.archived_at is None:
            chat.archived_at = None
        chat.save(update_fields=CHAT_ACTIVITY_FIELDS)
        ChatAuditEntry.objects.create(
            chat=chat,
            actor=None,
            action=AdminAction.MERGED,
            detail=f"guest chat {guest_chat.id} ({moved} messages)",
        )
        # Other apps move what they keep about the guest chat (reply email records) before it
        # goes; then the guest's user, and with it the guest chat, is deleted.
        signals.chat_merged.send(sender=None, source=guest_chat, target=chat)
        _contact_delete(guest)
        row = selectors.chat_list_rows().get(id=chat.id)
        event = builders.chat_merged_event(row, merged_chat_id=guest_chat.id)
        # Dashboards (the list, and a detail page open on either chat) and the person's widget.
        transport.send_on_commit(
            [
                (ADMINS_GROUP, event),
                (chat_group(chat.id), event),
                (chat_group(guest_chat.id), event),
            ]
        )
    return moved


def contact_update(*, user: User, name: object = None, email: object = None) -> Contact:
    """A guest names themselves or gives an address; a new address must be confirmed (a link
    is emailed) before any reply email goes there. An identified person's details come from
    their site: refused."""
    contact = Contact.objects.select_related("user").filter(user=user).first()
    if contact is None:
        raise PermissionDeniedError(
            gettext_lazy("Only people chatting through an embedded widget have these.")
        )
    if contact.kind != ContactKind.GUEST:
        raise PermissionDeniedError(
            gettext_lazy("Your name and email address come from the site you use.")
        )
    clean_name = name_clean(name) if name is not None else contact.name
    clean_email = email_clean(email) if email is not None else contact.email
    with transaction.atomic():
        contact.name = clean_name
        if clean_email != contact.email:
            contact.email = clean_email
            contact.email_confirmed_at = None
            # Replies stop going to the old address at once; the new one waits for its link.
            User.objects.filter(pk=user.pk).update(email="")
        if clean_email and contact.email_confirmed_at is None:
            # A new address, or the same one again while unconfirmed (the link expired or got
            # lost): a confirmation link goes there; notifications sends one an hour at most.
            signals.send_on_commit(signals.contact_email_given, contact=contact)
        contact.save(update_fields=["name", "email", "email_confirmed_at", "updated_at"])
    return contact


def guest_email_confirm(*, contact_id: int, email: str) -> bool:
    """The guest clicked the link sent to `email`: reply emails may go there now. False when the
    guest has given another address since (that link is void)."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
        if contact is None or contact.email.casefold() != email.casefold():
            return False
        if contact.email_confirmed_at is None:
            contact.email_confirmed_at = timezone.now()
            contact.save(update_fields=["email_confirmed_at", "updated_at"])
        User.objects.filter(pk=contact.user_id).update(email=contact.email)
    return True


def guest_invite(*, admin: User, name: object, email: object = None) -> Invited:
    """Support starts a conversation: a guest for this name (and address, taken as confirmed:
    support typed it), with its chat created now so that support can write first. Neither
    DESK_GUESTS nor the allowance of new guests applies: support is not a visitor."""
    require_admin(admin)
    clean_name = name_clean(name)
    clean_email = email_clean(email)
    with transaction.atomic():
        require_current_admin(admin)
        contact = _guest_add(clean_name, clean_email, confirmed=True, invited_by=admin).contact
        chat = SupportChat.objects.create(user_id=contact.user_id)
        ChatAuditEntry.objects.create(chat=chat, actor=admin, action=AdminAction.INVITED)
    return Invited(contact, chat.id)


def contact_forget(contact: Contact) -> None:
    """Delete the person and everything desk holds about them: chat, messages, attachments and
    their stored files, email records (a GDPR erasure request; the Django admin's delete does
    the same). The files leave the storage once the deletion commits."""
    with transaction.atomic():
        _contact_delete(contact)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _guest_add(
    name: str, email: str, *, confirmed: bool = False, invited_by: User | None = None
) -> NewGuest:
    # The user's email, where reply emails go, is only ever a confirmed address.
    secret = secrets.token_urlsafe(SECRET_BYTES)
    contact = Contact.objects.create(
        user=_contact_user_create(email=email if confirmed else ""),
        kind=ContactKind.GUEST,
        name=name,
        email=email,
        email_confirmed_at=timezone.now() if confirmed and email else None,
        secret_hash=secret_hash(secret),
        invited_by=invited_by,
    )
    return NewGuest(contact, secret)


def _contact_user_create(email: str = "") -> User:
    user = User(username=f"contact-{uuid.uuid4().hex}", email=email, is_staff=False)
    user.set_unusable_password()
    user.save()
    return user


def _identified_get(sub: str) -> Contact | None:
    return (
        Contact.objects.select_related("user")
        .filter(kind=ContactKind.IDENTIFIED, external_id=sub)
        .first()
    )


def _contact_delete(contact: Contact) -> None:
    # The user's deletion cascades to the contact, the chat, its messages, attachments (whose
    # files go after the commit: chats.models.attachment_files_forget) and email records, and
    # closes the person's open sockets (chats/receivers.py). A contact uploads into their own
    # chat only, so nothing of theirs is left elsewhere.
    User.objects.filter(pk=contact.user_id).delete()


def _guest_or_none(secret: object) -> Contact | None:
    try:
        return guest_by_secret(secret)
    except UnauthenticatedError:
        return None


def _link_invalid() -> UnauthenticatedError:
    return UnauthenticatedError(
        gettext_lazy("This chat link is not valid."), reason="guest_link_invalid"
    )


def _guest_unknown() -> UnauthenticatedError:
    return UnauthenticatedError(
        gettext_lazy("This guest is unknown here (or was merged into a signed-in person)."),
        reason="guest_unknown",
    )


def guest_link_create(
    *, admin: User, name: object, email: object = None, send_email: bool = False
) -> tuple[GuestLink, uuid.UUID]:
    """Support starts a conversation from the dashboard: a guest for `name` (required) and
    `email` (optional) with a chat, and the link that opens it (`guest_invite`,
    `guest_link_make`); with `send_email`, the link is emailed to `email` after the commit
    (`guest_invited`, notifications sends it). Returns the link and the new chat's id.

    Raises PermissionDeniedError for anyone but an admin, InvalidInputError naming the field for
    a missing or bad name, a bad email, or `send_email` without an email.
    """
    require_admin(admin)
    if not name_clean(name):
        raise InvalidInputError("name", gettext_lazy("Give the guest's name."))
    if send_email and not email_clean(email):
        raise InvalidInputError("email", gettext_lazy("Give an email address to send the link to."))
    with transaction.atomic():
        invited = guest_invite(admin=admin, name=name, email=email)
        link = guest_link_make(invited.contact)
        if send_email:
            signals.send_on_commit(
                signals.guest_invited, contact=invited.contact, url=link.url, admin=admin
            )
    return link, invited.chat_id
