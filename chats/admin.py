from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from chats.embed import services as embed_services
from chats.models import (
    Attachment,
    ChatAuditEntry,
    Contact,
    Holiday,
    OpeningHours,
    SupportChat,
    SupportMessage,
    SupportSettings,
    SupportTexts,
)
from chats.schemas import PersonOut


class MessageInline(admin.TabularInline):
    model = SupportMessage
    fields = ("created_at", "sender_type", "sender", "content", "read_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at",)
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: SupportChat | None = None) -> bool:
        return False


@admin.register(SupportChat)
class SupportChatAdmin(admin.ModelAdmin):
    list_display = ("user", "last_message_at", "admin_viewed_at", "archived_at", "created_at")
    list_filter = (("archived_at", admin.EmptyFieldListFilter),)
    search_fields = ("user__email", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("id", "created_at", "updated_at")
    date_hierarchy = "last_message_at"
    inlines = (MessageInline,)


@admin.register(SupportMessage)
class SupportMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "chat", "sender_type", "sender", "short_content", "read_at")
    list_filter = ("sender_type", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("content", "chat__user__email")
    list_select_related = ("chat__user", "sender")
    raw_id_fields = ("chat", "sender")
    readonly_fields = ("id", "created_at", "updated_at")

    @admin.display(description="content")
    def short_content(self, message: SupportMessage) -> str:
        return message.content[:80]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Files in chats (chats/attachments/). Read only, and without the bytes: those are only
    ever served through signed URLs (the API). Deleting one deletes its stored files after the
    commit."""

    list_display = ("created_at", "name", "content_type", "size", "chat", "sent")
    list_filter = ("content_type", ("message", admin.EmptyFieldListFilter))
    search_fields = ("name", "chat__user__email")
    list_select_related = ("chat__user",)
    date_hierarchy = "created_at"
    fields = (
        "id",
        "name",
        "content_type",
        "size",
        "width",
        "height",
        "chat",
        "message",
        "uploader",
        "storage_name",
        "thumbnail_name",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="sent", boolean=True)
    def sent(self, attachment: Attachment) -> bool:
        return attachment.message_id is not None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ChatAuditEntry)
class ChatAuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "chat")
    list_filter = ("action",)
    search_fields = ("actor__email", "chat__user__email")
    list_select_related = ("actor", "chat__user")
    readonly_fields = ("id", "chat", "actor", "action", "message", "created_at")

    # The audit trail is written by desk alone; nobody edits history.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """People who chat through the widget embedded on another site (chats/embed/). Read only:
    their details come from the host site or from the guest. Deleting one is the GDPR erasure:
    the person's user, chat, messages and email records go with it (`contact_forget`, as
    `manage.py forget_contact` does)."""

    list_display = ("kind", "name", "email", "confirmed", "external_id", "created_at")
    list_filter = ("kind", ("email_confirmed_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "email", "external_id", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    fields = (
        "kind",
        "name",
        "email",
        "email_confirmed_at",
        "external_id",
        "user",
        "invited_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="confirmed", boolean=True)
    def confirmed(self, contact: Contact) -> bool:
        return bool(PersonOut.of(contact).email_confirmed)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_deleted_objects(
        self, objs: Iterable[Contact], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        # What deleting a contact removes: its user and everything that hangs from it. Being
        # allowed to delete contacts is allowed to delete that much.
        users = User.objects.filter(contact__in=[contact.pk for contact in objs])
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(users, request)
        return deleted, counts, set(), protected

    def delete_model(self, request: HttpRequest, obj: Contact) -> None:
        embed_services.contact_forget(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        for contact in queryset:
            embed_services.contact_forget(contact)


class DeskUserAdmin(UserAdmin):
    """Django's user admin, except that a contact's user (chats/embed/) is offered no staff
    flag, no superuser flag, no permissions and no password: it can never sign in (and
    chats.receivers.contact_user_guard refuses such a save whatever the path)."""

    CONTACT_LOCKED = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and Contact.objects.filter(user_id=obj.pk).exists():
            return (*fields, *self.CONTACT_LOCKED)
        return fields

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        user = self.get_object(request, unquote(id))
        if user is not None and Contact.objects.filter(user=user).exists():
            raise PermissionDenied("People from the embedded widget have no password.")
        return super().user_change_password(request, id, form_url)


admin.site.unregister(User)
admin.site.register(User, DeskUserAdmin)


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0
    fields = ("weekday", "opens", "closes")


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0
    fields = ("date", "name")


class SupportTextsInline(admin.StackedInline):
    model = SupportTexts
    extra = 0
    fields = ("language", "greeting", "reply_time", "away_message")
    verbose_name_plural = (
        "The texts in other languages (left as desk ships them, the texts above are translated "
        "for each person; once changed, give them here in each language your customers use)"
    )


@admin.register(SupportSettings)
class SupportSettingsAdmin(admin.ModelAdmin):
    """The one row of support settings: business hours (time zone, weekly hours, holidays), the
    widget's texts, and whether replies name their admin. Opening the list opens the row."""

    inlines = [OpeningHoursInline, HolidayInline, SupportTextsInline]
    fieldsets = [
        ("Business hours", {"fields": ["time_zone", "hide_launcher_for_guests"]}),
        ("What the widget says", {"fields": ["greeting", "reply_time", "away_message"]}),
        ("Replies", {"fields": ["agent_names"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from django.shortcuts import redirect

        settings_row = SupportSettings.load()
        return redirect("admin:chats_supportsettings_change", settings_row.pk)
