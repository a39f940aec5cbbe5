"""The email records in Django admin: the answer to "why did this customer get no email?", and
to "what became of the email they sent us?".

Search any of them by the customer's email address. Records are written by desk alone and are
read-only here; only a suppression can be deleted, to write to that address again.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import (
    ContactEmail,
    EmailPreference,
    InboundEmail,
    ReplyDecision,
    ReplyEmail,
    ReplyEmailClick,
    StaffAlertEmail,
    SuppressedAddress,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OutgoingEmailAdmin(ReadOnlyAdmin):
    """An outgoing email's record (models.OutgoingEmail): its columns, filters and dates alike."""

    list_display = ("created_at", "to_address", "status", "attempts", "sent_at", "cancel_reason")
    list_filter = ("status", "cancel_reason")
    date_hierarchy = "created_at"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DecisionInline(ReadOnlyInline):
    model = ReplyDecision
    fields = ("message", "decided_at")
    readonly_fields = fields
    verbose_name_plural = "replies listed"


class ClickInline(ReadOnlyInline):
    model = ReplyEmailClick
    fields = ("created_at", "outcome", "user", "marked_read")
    readonly_fields = fields


@admin.register(ReplyEmail)
class ReplyEmailAdmin(OutgoingEmailAdmin):
    search_fields = ("to_address", "user__email", "provider_message_id", "=id")
    list_select_related = ("user",)
    fields = (
        "id",
        "user",
        "chat",
        "to_address",
        "status",
        "attempts",
        "next_attempt_at",
        "sending_since",
        "sent_at",
        "provider_message_id",
        "cancel_reason",
        "last_error",
        "created_at",
    )
    readonly_fields = fields
    inlines = (DecisionInline, ClickInline)


@admin.register(ReplyDecision)
class ReplyDecisionAdmin(ReadOnlyAdmin):
    list_display = ("decided_at", "customer", "outcome", "email")
    list_filter = ("skip_reason", "email__status")
    search_fields = ("message__chat__user__email", "=message__id")
    list_select_related = ("message__chat__user", "email")
    date_hierarchy = "decided_at"
    fields = ("message", "email", "skip_reason", "decided_at")
    readonly_fields = fields

    @admin.display(description="customer", ordering="message__chat__user__email")
    def customer(self, decision: ReplyDecision) -> str:
        return str(decision.message.chat.user)

    @admin.display(description="outcome")
    def outcome(self, decision: ReplyDecision) -> str:
        if decision.email is None:
            return f"No email: {decision.get_skip_reason_display()}"
        return f"In an email: {decision.email.get_status_display()}"


@admin.register(ReplyEmailClick)
class ReplyEmailClickAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "email", "outcome", "user", "marked_read")
    list_filter = ("outcome",)
    search_fields = ("email__to_address", "user__email")
    list_select_related = ("email", "user")


@admin.register(ContactEmail)
class ContactEmailAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "to_address", "status", "attempts", "cancel_reason")
    list_filter = ("kind", "status", "cancel_reason")
    search_fields = ("to_address", "contact__email", "contact__name", "=id")
    date_hierarchy = "created_at"
    fields = (
        "id",
        "kind",
        "contact",
        "to_address",
        "requested_by",
        "status",
        "attempts",
        "next_attempt_at",
        "sending_since",
        "sent_at",
        "provider_message_id",
        "cancel_reason",
        "last_error",
        "created_at",
    )
    readonly_fields = fields


@admin.register(EmailPreference)
class EmailPreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "unsubscribed_at", "updated_at")
    list_filter = (("unsubscribed_at", admin.EmptyFieldListFilter),)
    search_fields = ("user__email",)
    list_select_related = ("user",)
    fields = ("user", "unsubscribed_at", "updated_at")
    readonly_fields = fields


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(ReadOnlyAdmin):
    list_display = ("address", "reason", "esp_name", "updated_at")
    list_filter = ("reason", "esp_name")
    search_fields = ("address", "provider_message_id")
    fields = (
        "address",
        "reason",
        "esp_name",
        "provider_message_id",
        "description",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    # Deleting the row is how support lets desk write to a fixed address again.
    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return True


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    """Every email a provider posted to an inbound webhook: posted to its chat, or why not.
    Deletable (an email naming no chat stays until deleted); deleting one unposts nothing."""

    list_display = ("received_at", "sender", "subject", "outcome", "ignored_reason", "esp_name")
    list_filter = ("outcome", "ignored_reason", "esp_name")
    search_fields = ("sender", "recipient", "subject", "=message_id", "=id")
    date_hierarchy = "received_at"
    fields = (
        "id",
        "received_at",
        "esp_name",
        "message_id",
        "sender",
        "recipient",
        "subject",
        "outcome",
        "ignored_reason",
        "chat",
        "posted",
        "text",
    )
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


@admin.register(StaffAlertEmail)
class StaffAlertEmailAdmin(OutgoingEmailAdmin):
    """Staff alerts sent (or not) to each staff member: "why did nobody tell me?"."""

    search_fields = ("to_address", "staff__email", "alert__chat__user__email", "=id")
    list_select_related = ("staff",)
    fields = (
        "id",
        "staff",
        "alert",
        "to_address",
        "status",
        "attempts",
        "next_attempt_at",
        "sending_since",
        "sent_at",
        "provider_message_id",
        "cancel_reason",
        "last_error",
        "created_at",
    )
    readonly_fields = fields
