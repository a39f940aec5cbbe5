from __future__ import annotations

from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "chats"
    verbose_name = "Support chats"

    def ready(self) -> None:
        self.connect_access_receivers()

        # desk, the project package, is no app and has no ready() of its own.
        from chats.embed import checks as embed_checks
        from desk import checks

        checks.register()
        embed_checks.register()
        self.connect_session_receivers()
        self.connect_metrics_receivers()
        self.connect_availability_receivers()

    def connect_availability_receivers(self) -> None:
        # Staff changed the business hours or the widget's texts in Django admin.
        from django.db.models.signals import post_delete, post_save

        from chats.availability import settings_changed
        from chats.models import Holiday, OpeningHours, SupportSettings, SupportTexts

        for model in (SupportSettings, OpeningHours, Holiday, SupportTexts):
            for signal in (post_save, post_delete):
                signal.connect(settings_changed, sender=model, dispatch_uid=f"availability.{model}")

    def connect_metrics_receivers(self) -> None:
        # desk/metrics.py: desk_messages_stored_total.
        from chats.signals import message_created
        from desk import metrics

        message_created.connect(metrics.message_stored, dispatch_uid="desk.metrics.messages")

    def connect_session_receivers(self) -> None:
        # desk/sessions.py: a session row deleted through the ORM leaves the cache too.
        from django.contrib.sessions.models import Session
        from django.db.models.signals import post_delete

        from desk.sessions import forget_deleted

        post_delete.connect(forget_deleted, sender=Session, dispatch_uid="desk.sessions.forget")

    def connect_access_receivers(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_delete, post_save, pre_save

        from chats import receivers

        # Open sockets follow the account: a logout, a deactivation, a password change, a lost
        # staff flag or a deleted user closes them within moments, on every process. And a
        # contact's user (chats/embed/) is never given a staff flag or a password.
        user_model = get_user_model()
        user_logged_out.connect(
            receivers.user_logged_out, dispatch_uid="chats.receivers.user_logged_out"
        )
        for signal, receiver in (
            (pre_save, receivers.user_pre_save),
            (pre_save, receivers.contact_user_guard),
            (post_save, receivers.user_post_save),
            (post_delete, receivers.user_post_delete),
        ):
            signal.connect(
                receiver, sender=user_model, dispatch_uid=f"chats.receivers.{receiver.__name__}"
            )
