from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.db.models.signals import post_delete
from django.utils import timezone
from django.utils.translation import gettext_noop

CONTENT_MAX_LENGTH = 5000
NAME_MAX_LENGTH = 100
# Files one message may carry (chats/attachments/).
ATTACHMENTS_PER_MESSAGE = 10
ATTACHMENT_NAME_MAX_LENGTH = 200


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


# Unread for admins: a user message newer than the last time an admin opened the chat.
UNREAD_CHAT = Q(last_user_message_at__isnull=False) & (
    Q(admin_viewed_at__isnull=True) | Q(last_user_message_at__gt=F("admin_viewed_at"))
)


class SupportChat(models.Model):
    """The one conversation between a user and the support team."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_chat"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    # The newest user message's time, kept with last_message_at: unread for admins is a
    # comparison of two columns (UNREAD_CHAT), not a search of the messages.
    last_user_message_at = models.DateTimeField(null=True, blank=True)
    admin_viewed_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Kept by the services under the chat's row lock, so the admin list reads a column instead of
    # counting every message of every chat on the page.
    message_count = models.PositiveIntegerField(default=0)
    # The language the person chats in and their time zone, as their widget last stated them (a
    # code of settings.LANGUAGES; an IANA zone): their emails are written in them. Empty: unknown.
    language = models.CharField(max_length=8, blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Not stored: whether the person has the chat open now, set by the API from chats.presence.
    user_online: bool | None = None

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
            # The dashboard's title count: exactly the active chats waiting for an admin, so
            # counting them reads only those.
            models.Index(
                fields=["id"],
                condition=Q(archived_at__isnull=True) & UNREAD_CHAT,
                name="chat_unread_idx",
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
    # For admin replies: the admin's first name as it was when they replied ("Alice from
    # Support"), empty when support answers as one voice (SupportSettings.agent_names) or the
    # admin has none. Kept as written: renaming an admin does not rewrite old replies.
    sender_name = models.CharField(max_length=150, blank=True, default="")
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
            # Empty only with attachments, which the posting services check (chats/validation.py):
            # a rule across two tables that no CHECK can state.
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("content"), CONTENT_MAX_LENGTH),
                name="message_content_length_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender_type} message in {self.chat_id}"


# Uploads not attached to any message: the clean-up deletes them once they are a day old.
UNATTACHED = Q(message__isnull=True)


class Attachment(models.Model):
    """A file uploaded into a chat, by its user or by support: attached to one message, or
    waiting (an upload the message that will carry it has not been posted with yet).

    The bytes live in the "attachments" storage (Django's STORAGES; chats/attachments/) under
    names desk makes (never the uploader's file name); deleting the row deletes them, after the
    commit, however the row goes (`attachment_files_forget` below): with its chat, its person, or
    by the clean-up of uploads never attached.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chat = models.ForeignKey(SupportChat, on_delete=models.CASCADE, related_name="attachments")
    # Kept when the uploader's account is deleted (a staff member leaving), like a message's
    # sender; a waiting upload with no uploader left is only ever swept.
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    message = models.ForeignKey(
        SupportMessage,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    # The name it is downloaded under: the uploader's, made safe (chats/attachments/filetypes.py).
    name = models.CharField(max_length=ATTACHMENT_NAME_MAX_LENGTH)
    # Of what is stored (an image as re-encoded), in bytes.
    size = models.PositiveBigIntegerField()
    # Detected from the content, never taken from the upload's name or declared type.
    content_type = models.CharField(max_length=100)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    storage_name = models.CharField(max_length=255, unique=True)
    # Images only; empty otherwise.
    thumbnail_name = models.CharField(max_length=255, blank=True, default="")
    thumbnail_size = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The clean-up's scan: only the waiting uploads, oldest first.
            models.Index(
                fields=["created_at"], condition=UNATTACHED, name="attachment_waiting_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(width__isnull=True, height__isnull=True, thumbnail_name="")
                | Q(width__isnull=False, height__isnull=False),
                name="attachment_image_fields_together",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} in {self.chat_id}"

    @property
    def is_image(self) -> bool:
        return self.width is not None

    def stored_names(self) -> list[str]:
        return [name for name in (self.storage_name, self.thumbnail_name) if name]


def attachment_files_forget(sender: Any, *, instance: Attachment, **kwargs: Any) -> None:
    """post_delete of an Attachment: its bytes leave the storage once the deletion commits (and
    stay if it rolls back). Connected below, not in ChatsConfig.ready(), so that no app can have
    the model without it."""
    from chats.attachments.storage import files_delete_on_commit

    files_delete_on_commit(instance.stored_names(), using=kwargs.get("using"))


post_delete.connect(
    attachment_files_forget, sender=Attachment, dispatch_uid="chats.attachment_files_forget"
)


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


# --- Availability: business hours and the widget's texts ----------------------------------------


def time_zone_validate(value: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from django.core.exceptions import ValidationError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a time zone, such as Europe/Berlin.") from None


# The widget's texts as desk ships them. Left as they are, each person reads them in their own
# language (the catalogs translate them); once staff change one, it is shown as written, unless
# they give it in that language too (SupportTexts).
DEFAULT_TEXTS = {
    "greeting": gettext_noop("Hi! Ask us anything: we're here to help."),
    "reply_time": gettext_noop("We usually reply within a few hours."),
    "away_message": gettext_noop("We're away right now."),
}


class SupportSettings(models.Model):
    """desk's one row of support settings, edited by staff in Django admin: the business hours'
    time zone (the hours and holidays hang off it), the texts the widget shows, and whether a
    reply names the admin who wrote it. `load()` reads it, making it on first use."""

    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[time_zone_validate],
        help_text="The business hours' time zone, such as Europe/Berlin.",
    )
    greeting = models.CharField(max_length=300, default=DEFAULT_TEXTS["greeting"])
    reply_time = models.CharField(
        "expected reply time",
        max_length=200,
        default=DEFAULT_TEXTS["reply_time"],
        help_text="Shown while support is open (business hours, or no hours set).",
    )
    away_message = models.CharField(
        max_length=300,
        default=DEFAULT_TEXTS["away_message"],
        help_text="Shown outside business hours, with when support is back.",
    )
    hide_launcher_for_guests = models.BooleanField(
        "hide the widget from guests outside business hours",
        default=False,
        help_text="Anonymous visitors of an embedding site see no chat button while closed; "
        "people already chatting, and signed-in ones, still do.",
    )
    agent_names = models.BooleanField(
        "show who replied",
        default=True,
        help_text='A reply shows its admin\'s first name ("Alice from Support"). Off: every '
        "reply comes from Support.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "support settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="support_settings_one_row")]

    def __str__(self) -> str:
        return "Support settings"

    @classmethod
    def load(cls) -> SupportSettings:
        found, _ = cls.objects.get_or_create(pk=1)
        return found


class SupportTexts(models.Model):
    """The widget's texts in one more language, for staff who changed the English ones: a blank
    field falls back to the settings' own text (see DEFAULT_TEXTS)."""

    support_settings = models.ForeignKey(
        SupportSettings, on_delete=models.CASCADE, related_name="texts"
    )
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    greeting = models.CharField(max_length=300, blank=True)
    reply_time = models.CharField("expected reply time", max_length=200, blank=True)
    away_message = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "texts in another language"
        constraints = [
            models.UniqueConstraint(
                fields=["support_settings", "language"], name="support_texts_language"
            )
        ]

    def __str__(self) -> str:
        return self.get_language_display()


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """One interval of a weekday when support is open, in the settings' time zone; a day may
    have several (a lunch break), a night shift is two (one each side of midnight)."""

    support = models.ForeignKey(SupportSettings, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")), name="hours_close_after_open"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="hours_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.opens is not None and self.closes is not None and self.closes <= self.opens:
            raise ValidationError("Closing time must be after opening time (split a night shift).")


class Holiday(models.Model):
    """A day support is closed all day, whatever its weekday's hours."""

    support = models.ForeignKey(SupportSettings, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(unique=True)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()
