from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from chats.models import ChatAuditEntry, SupportChat, SupportMessage


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
