from __future__ import annotations

from collections.abc import Callable

from django.apps import AppConfig
from django.dispatch import Signal


class ChatsConfig(AppConfig):
    name = "chats"
    verbose_name = "Support chats"

    def ready(self) -> None:
        from chats import events, signals

        # The real-time layer: every committed change reaches the sockets it concerns.
        receivers: dict[Signal, Callable[..., None]] = {
            signals.message_created: events.message_created_broadcast,
            signals.messages_read: events.messages_read_broadcast,
            signals.chat_viewed: events.chat_viewed_broadcast,
            signals.chat_archived: events.chat_archived_broadcast,
            signals.chat_unarchived: events.chat_unarchived_broadcast,
        }
        for signal, receiver in receivers.items():
            signal.connect(receiver, dispatch_uid=f"chats.events.{receiver.__name__}")

        self.connect_access_receivers()

        # desk, the project package, is no app and has no ready() of its own.
        from desk import checks

        checks.register()

    def connect_access_receivers(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_delete, post_save, pre_save

        from chats import access

        # Open sockets follow the account: a logout, a deactivation, a password change, a lost
        # staff flag or a deleted user closes them within moments, on every process.
        user_model = get_user_model()
        user_logged_out.connect(access.user_logged_out, dispatch_uid="chats.access.logout")
        for signal, receiver in (
            (pre_save, access.user_pre_save),
            (post_save, access.user_post_save),
            (post_delete, access.user_post_delete),
        ):
            signal.connect(
                receiver, sender=user_model, dispatch_uid=f"chats.access.{receiver.__name__}"
            )
