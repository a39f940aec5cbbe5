from __future__ import annotations

from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "chats"
    verbose_name = "Support chats"

    def ready(self) -> None:
        from chats import events, signals

        # The real-time layer: every committed change reaches the sockets it concerns.
        receivers = {
            signals.message_created: events.message_created_broadcast,
            signals.messages_read: events.messages_read_broadcast,
            signals.chat_viewed: events.chat_viewed_broadcast,
            signals.chat_archived: events.chat_archived_broadcast,
            signals.chat_unarchived: events.chat_unarchived_broadcast,
        }
        for signal, receiver in receivers.items():
            signal.connect(receiver, dispatch_uid=f"chats.events.{receiver.__name__}")
