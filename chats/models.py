from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

CONTENT_MAX_LENGTH = 5000
NAME_MAX_LENGTH = 100


class NewestActivityIndex(models.Index):
    """(last_message_at DESC NULLS LAST, id DESC): the admin list's order, empty chats last.

    SQLite refuses NULLS LAST in an index, but its DESC already puts NULLs last (and its planner
    uses the index for the NULLS LAST query); PostgreSQL needs the modifier spelled out.
    """

    def __init__(self, *, name: str, condition: Q) -> None:
        super().__init__(
            F("last_message_at").desc(nulls_last=True),
            F("id").desc(),
            name=name,
            condition=condition,
        )

    def deconstruct(self) -> tuple[str, tuple[object, ...], dict[str, object]]:
        path, _, kwargs = super().deconstruct()
        return path, (), {"name": kwargs["name"], "condition": kwargs["condition"]}

    def create_sql(
        self, model: type[models.Model], schema_editor: Any, using: str = "", **kwargs: Any
    ) -> Any:
        if schema_editor.connection.vendor != "sqlite":
            return super().create_sql(model, schema_editor, using, **kwargs)
        plain = models.Index(
            F("last_message_at").desc(), F("id").desc(), name=self.name, condition=self.condition
        )
        return plain.create_sql(model, schema_editor, using, **kwargs)


class SenderType(models.TextChoices):
    USER = "user", "User"
    ADMIN = "admin", "Admin"


class SupportChat(models.Model):
    """The one conversation between a user and the support team."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_chat"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    admin_viewed_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Kept by the services under the chat's row lock, so the admin list reads a column instead of
    # counting every message of every chat on the page.
    message_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The admin list: one tab at a time, newest activity first, chats without messages last,
            # keyset-paginated on (last_message_at, id). Partial indexes keep each tab's scan short.
            NewestActivityIndex(
                name="chat_active_recent_idx", condition=Q(archived_at__isnull=True)
            ),
            NewestActivityIndex(
                name="chat_archived_recent_idx", condition=Q(archived_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"Chat with {self.user}"

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


# Admin replies the user has not read yet: the widget's badge, mark-read, reply emails.
UNREAD_REPLY = Q(sender_type=SenderType.ADMIN, read_at__isnull=True)


class SupportMessageQuerySet(models.QuerySet["SupportMessage"]):
    def unread_replies(self) -> SupportMessageQuerySet:
        """The admin replies among these messages that the user has not read yet (a partial
        index, message_unread_reply_idx, holds exactly these)."""
        return self.filter(UNREAD_REPLY)


class SupportMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Served by the (chat, created_at) index below; an index on chat alone would be dead weight.
    chat = models.ForeignKey(
        SupportChat, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    content = models.TextField()
    sender_type = models.CharField(max_length=5, choices=SenderType.choices)
    # Kept when the author's account is deleted, so the user's history stays whole.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="support_messages",
    )
    # For admin messages: when the user read it (null = unread). Unused for user messages.
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = SupportMessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["chat", "created_at"], name="message_chat_created_idx"),
            # The user's unread badge and mark-read touch only the unread admin replies.
            models.Index(fields=["chat"], condition=UNREAD_REPLY, name="message_unread_reply_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sender_type__in=SenderType.values), name="message_sender_type_valid"
            ),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("content"), 1)
                & LessThanOrEqual(Length("content"), CONTENT_MAX_LENGTH),
                name="message_content_length_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender_type} message in {self.chat_id}"


class AdminAction(models.TextChoices):
    VIEWED = "viewed", "Viewed"
    ARCHIVED = "archived", "Archived"
    UNARCHIVED = "unarchived", "Unarchived"
    REPLIED = "replied", "Replied"
    # A guest's chat joined the chat of the identified person the same browser became; the actor
    # is None (the person did it by logging in to the host site), `detail` names the guest chat.
    MERGED = "merged", "Merged a guest chat"
    # Support started a chat for a guest (a guest link).
    INVITED = "invited", "Invited a guest"


class ChatAuditEntry(models.Model):
    """What an admin did to a chat, and when: the answer to "who archived this?"."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chat = models.ForeignKey(SupportChat, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="support_audit_entries",
    )
    action = models.CharField(max_length=10, choices=AdminAction.choices)
    message = models.ForeignKey(
        SupportMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What else there is to say (the merged guest chat's id and message count).
    detail = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "chat audit entries"
        indexes = [models.Index(fields=["chat", "-created_at"], name="audit_chat_created_idx")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.chat_id}"


class ContactKind(models.TextChoices):
    GUEST = "guest", "Guest"
    IDENTIFIED = "identified", "Identified by the host site"


class Contact(models.Model):
    """Someone who chats through the widget embedded on another site: never a desk login.

    Each has a Django user (with an unusable password and no staff flag), so that chats, messages,
    allowances and reply emails work for them as for anyone. The user's `email` is the address
    reply emails go to: a host site vouches for an identified person's address (the token's
    `email`); a guest's address is only copied there once the guest confirmed it by email.
    Deleting the user deletes the contact, the chat, its messages and its email records.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact"
    )
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    # The host site's id for an identified person (the token's `sub`): one person, one chat.
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True, default="")
    # As given: by the token (identified) or by the guest, confirmed or not.
    email = models.EmailField(blank=True, default="")
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    # A guest's credential, kept in the host page's localStorage; stored as its SHA-256 only.
    secret_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The admin who started the chat with a guest link, if one did.
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="guest", external_id__isnull=True)
                | Q(kind="identified", external_id__isnull=False, secret_hash__isnull=True),
                name="contact_kind_credentials",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id or self.name or self.user_id}"

    @property
    def is_guest(self) -> bool:
        return self.kind == ContactKind.GUEST
