"""GDPR erasure for someone who chatted through the embedded widget (a contact, chats/embed/).

    manage.py forget_contact --external-id SUB | --email ADDRESS | --contact-id N [--dry-run]

Deletes each matching contact with everything desk holds about them (their user, chat, messages
and email records) through `chats.embed.services.contact_forget`, the same path as the Django
admin's delete, and prints what went. desk's own users (support staff, logged-in customers) are
never touched: they are not contacts. Exits with an error when nothing matched.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q, QuerySet

from chats.embed.services import contact_forget
from chats.models import Contact, SupportChat, SupportMessage

MESSAGE = SupportMessage._meta.label
# Reported on their own (the chat, its messages) or the person themselves.
NOT_REPORTED = frozenset({User._meta.label, Contact._meta.label, SupportChat._meta.label, MESSAGE})


class Command(BaseCommand):
    help = (
        "Delete a person who chatted through the embedded widget, with their chat, messages and "
        "email records (a GDPR erasure request). Never touches desk's own users."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--external-id", help="the host site's id for the person (`sub`)")
        which.add_argument("--email", help="an email address a contact gave or was given")
        which.add_argument("--contact-id", type=int, help="the contact's id (Django admin)")
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would be removed; remove nothing"
        )

    def handle(
        self,
        *args: Any,
        external_id: str | None,
        email: str | None,
        contact_id: int | None,
        dry_run: bool,
        **options: Any,
    ) -> None:
        contacts = list(_matching(external_id=external_id, email=email, contact_id=contact_id))
        if email is not None:
            self._say_desk_users_are_left(email)
        if not contacts:
            raise CommandError("No contact matches: nothing removed.")
        for contact in contacts:
            chat_id = SupportChat.objects.filter(user_id=contact.user_id).values_list("id")
            chat = chat_id.first()
            removed = _removal(contact)
            if not dry_run:
                contact_forget(contact)
            self.stdout.write(_report(contact, chat and chat[0], removed, dry_run=dry_run))
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(f"{verb} {len(contacts)} contact{'s' if len(contacts) != 1 else ''}.")

    def _say_desk_users_are_left(self, email: str) -> None:
        desk_users = User.objects.filter(email__iexact=email, contact__isnull=True)
        for user in desk_users:
            self.stderr.write(
                f"User {user.pk} ({user.get_username()}) has this address but is one of desk's "
                "own users, not a contact: left untouched (delete it in the Django admin if "
                "that is meant)."
            )


def _matching(
    *, external_id: str | None, email: str | None, contact_id: int | None
) -> QuerySet[Contact]:
    contacts = Contact.objects.select_related("user").order_by("pk")
    if external_id is not None:
        return contacts.filter(external_id=external_id)
    if email is not None:
        # As given (confirmed or not), or as reply emails were sent to it.
        return contacts.filter(Q(email__iexact=email) | Q(user__email__iexact=email))
    assert contact_id is not None  # the three options are a required group
    return contacts.filter(pk=contact_id)


def _removal(contact: Contact) -> Counter[str]:
    """What deleting `contact` removes, row counts by model: the deletion itself, rolled back,
    so that the count is Django's own cascade and cannot drift from it."""
    with transaction.atomic():
        _, counts = User.objects.filter(pk=contact.user_id).delete()
        transaction.set_rollback(True)
    return Counter(counts)


def _report(
    contact: Contact, chat_id: uuid.UUID | None, removed: Counter[str], *, dry_run: bool
) -> str:
    who = ", ".join(
        part
        for part in (
            contact.kind,
            f"name {contact.name!r}" if contact.name else "",
            f"email {contact.email}" if contact.email else "",
            f"host id {contact.external_id}" if contact.external_id else "",
        )
        if part
    )
    chat = f"chat {chat_id}" if chat_id else "no chat"
    records = sorted((label, n) for label, n in removed.items() if label not in NOT_REPORTED and n)
    others = ", ".join(f"{n} {label}" for label, n in records) or "nothing else"
    verb = "would remove" if dry_run else "removed"
    return f"Contact {contact.pk} ({who}): {verb} {chat}, {removed[MESSAGE]} messages, {others}."
