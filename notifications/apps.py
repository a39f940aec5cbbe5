from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Reply emails"

    def ready(self) -> None:
        from anymail.signals import tracking

        from chats.signals import message_created
        from notifications import checks, receivers

        message_created.connect(receivers.reply_schedule, dispatch_uid="notifications.schedule")
        tracking.connect(receivers.tracking_event, dispatch_uid="notifications.tracking")
        checks.register()
