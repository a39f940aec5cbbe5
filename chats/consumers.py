"""The websocket edge of the chat domain: the widget's and the dashboard's live connections.

Each action parses its frame, calls the same service or selector REST calls, and sends what
happened back as events (docs/events.md is the contract). The consumers hold no rules of their
own: who may post, what a valid message is, what gets broadcast, all come from `services`,
`selectors` and `chats.realtime`. Broadcasts leave from the services after their commit, so the
sender's own socket receives its `new_message` exactly like every other socket on the chat.

What both consumers share (admission, frames, errors, keep-alive) is chats/realtime/sockets.py.
Database work hops to a thread with channels' `database_sync_to_async` (run on a bounded pool of
threads, desk/runtime/database.py), which also closes the stale connections a request's end would
close on the HTTP side.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, ClassVar

from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy

from chats import selectors, services
from chats.errors import InvalidInputError, NotFoundError
from chats.models import SupportChat
from chats.permissions import Role, require_admin
from chats.presence import STAFF, chat_presence
from chats.realtime import transport
from chats.realtime.builders import sync_event
from chats.realtime.protocol import ADMINS_GROUP, PEOPLE_GROUP, chat_group
from chats.realtime.sockets import SocketConsumer, request_id_of
from desk.i18n import scope_stated_language, scope_time_zone
from desk.runtime.database import database_sync_to_async
from notifications.services import staff_reader_record

logger = logging.getLogger(__name__)

# Messages per `sync` reply; `has_more` asks the client to sync again from the last one.
SYNC_LIMIT = selectors.PAGE_SIZE


class SupportChatConsumer(SocketConsumer):
    """`/ws/support_chat/<chat_id>/`: the chat's user (the widget) or any admin."""

    actions: ClassVar[dict[str, frozenset[Role]]] = {
        "send_message": frozenset({Role.USER, Role.ADMIN}),
        "mark_read": frozenset({Role.USER}),
        "viewed": frozenset({Role.ADMIN}),
        "typing": frozenset({Role.USER, Role.ADMIN}),
        "sync": frozenset({Role.USER, Role.ADMIN}),
    }

    chat: SupportChat

    async def authorize(self, user: User) -> list[str]:
        try:
            chat_id = uuid.UUID(str(self.scope["url_route"]["kwargs"]["chat_id"]))
        except ValueError:
            raise NotFoundError(gettext_lazy("No such chat.")) from None
        if getattr(self, "role", None) == Role.ADMIN:
            # A re-check of an admin's socket, which knows the chat exists: losing staff status
            # is 4403, not the 4404 a user gets for a chat that is not theirs.
            require_admin(user)
        self.chat, self.role = await database_sync_to_async(selectors.chat_for_participant)(
            user=user, chat_id=chat_id
        )
        if self.role == Role.USER:
            # Support's presence is announced to every person's chat sockets.
            return [chat_group(self.chat.id), PEOPLE_GROUP]
        return [chat_group(self.chat.id)]

    def presence(self) -> str | None:
        # The person is online on their chat; an admin reading it is not the person.
        return chat_presence(self.chat.id) if self.role == Role.USER else None

    async def send_message(self, frame: dict[str, Any]) -> None:
        content = frame.get("content")
        attachment_ids = frame.get("attachment_ids")
        if self.role == Role.USER:
            # The person's language and time zone, as the widget states them in the socket's URL
            # (`lang`, `tz`), are kept with their chat for the emails it sends them. None (the
            # socket stated none) leaves what the chat has.
            await database_sync_to_async(services.user_message_post)(
                user=self.user,
                content=content,
                attachment_ids=attachment_ids,
                language=scope_stated_language(self.scope),
                time_zone=scope_time_zone(self.scope),
            )
        else:
            await database_sync_to_async(services.admin_reply_post)(
                admin=self.user,
                chat_id=self.chat.id,
                content=content,
                attachment_ids=attachment_ids,
            )

    async def mark_read(self, frame: dict[str, Any]) -> None:
        await database_sync_to_async(services.messages_mark_read)(user=self.user)

    async def viewed(self, frame: dict[str, Any]) -> None:
        await database_sync_to_async(services.chat_mark_viewed)(
            admin=self.user, chat_id=self.chat.id
        )

    async def typing(self, frame: dict[str, Any]) -> None:
        is_typing = frame.get("is_typing")
        if not isinstance(is_typing, bool):
            raise InvalidInputError("is_typing", gettext_lazy("is_typing must be true or false."))
        await transport.typing_send(self.chat.id, sender_type=self.role, is_typing=is_typing)

    async def sync(self, frame: dict[str, Any]) -> None:
        after = frame.get("after")
        try:
            after_id = uuid.UUID(after) if isinstance(after, str) else None
        except ValueError:
            after_id = None
        if after_id is None:
            raise InvalidInputError(
                "after", gettext_lazy("after must be the id of a message in this chat.")
            )
        page = await database_sync_to_async(selectors.messages_page)(
            messages=selectors.chat_messages(self.chat), after=after_id, limit=SYNC_LIMIT
        )
        await self.send_event(sync_event(self.chat.id, page, request_id_of(frame)))


class AdminNotificationsConsumer(SocketConsumer):
    """`/ws/admin/notifications/`: the dashboard's feed of what happens in every chat."""

    role = Role.ADMIN

    async def authorize(self, user: User) -> list[str]:
        require_admin(user)
        return [ADMINS_GROUP]

    async def admit(self, user: Any) -> None:
        await super().admit(user)
        # The dashboard's language (its switcher's cookie, else the browser's) and, when its URL
        # states one (`tz`), its time zone: the staff member's alert emails are written in them.
        # Recorded before the socket is accepted, so that it is done once the client sees it open.
        try:
            await database_sync_to_async(staff_reader_record)(
                staff=self.user, language=self.language, time_zone=scope_time_zone(self.scope)
            )
        except Exception:
            logger.exception("could not record the dashboard language of staff %s", self.user.pk)

    def presence(self) -> str | None:
        # Support is online while a staff member has the dashboard open.
        return STAFF


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Any other websocket path: refused during the handshake (the client sees a 403)."""

    async def connect(self) -> None:
        await self.close()
