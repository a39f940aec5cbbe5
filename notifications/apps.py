from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Emails"

    def ready(self) -> None:
        from anymail.signals import inbound, tracking

        from chats.signals import chat_merged, contact_email_given, guest_invited, message_created
        from notifications import checks, receivers

        message_created.connect(receivers.reply_schedule, dispatch_uid="notifications.schedule")
        contact_email_given.connect(
            receivers.confirmation_schedule, dispatch_uid="notifications.confirmation"
        )
        guest_invited.connect(
            receivers.invitation_schedule, dispatch_uid="notifications.invitation"
        )
        chat_merged.connect(receivers.chat_merged_move, dispatch_uid="notifications.merge")
        tracking.connect(receivers.tracking_event, dispatch_uid="notifications.tracking")
        inbound.connect(receivers.inbound_event, dispatch_uid="notifications.inbound")
        checks.register()
