"""The socket framework both websocket consumers share; the consumers are in chats/consumers.py.

A socket is admitted once (its user, access, its groups, a slot among the user's sockets), then
lives for hours: it re-checks its access when a revocation message arrives, when an action finds
the last check a minute old, and on its keep-alive. Its user comes from the Django session, or,
for the embedded widget, from a desk token (chats/embed/sockets.py): a token socket re-checks
its person by id, a session socket its session. Each frame from the client is one action: its
allowance taken, parsed, routed to the consumer's method of the same name if the socket's role may
take it. Messages from the channel layer are routed by type through LAYER_HANDLERS. Every event
leaves with its attachments' URLs signed for the socket's own user (`send_event`).

Bad input is answered with an `error` event built from chats.errors's table, and the socket stays
open; no exception closes it. Each frame is handled in the socket's language (`lang` in its URL, the
language cookie, Accept-Language: desk.i18n.scope_language), so an error's `detail` is written in
it; its `code` never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar

from channels.auth import get_user
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy, ngettext

from chats import access, presence, ratelimit
from chats.attachments.links import sign_event
from chats.embed.sockets import SUBPROTOCOL, TOKEN_AUTHENTICATED
from chats.embed.tokens import contact_user
from chats.errors import (
    CloseCode,
    DeskError,
    ErrorCode,
    PermissionDeniedError,
    as_desk_error,
)
from chats.permissions import Role
from chats.realtime.builders import error_event
from chats.realtime.protocol import (
    LAYER_EVENT,
    LAYER_MEMBERSHIP_LOST,
    LAYER_RECHECK,
    Event,
    encode,
    for_role,
    user_group,
)
from desk import metrics
from desk.i18n import scope_language
from desk.runtime.database import database_sync_to_async

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

# A frame is one action; a 5,000-character message fits many times over even fully \u-escaped.
MAX_FRAME_CHARS = 100_000
MAX_REQUEST_ID_CHARS = 100
# How stale the socket's idea of its user may be before an action re-checks the session and the
# user's access. A logout, a deactivation, a password change or a withdrawn staff flag closes the
# socket at once (chats.access); this catches what bypasses Django's signals (a bulk update).
ACCESS_RECHECK_AFTER = 60.0
# How often an idle socket re-checks, and renews its group memberships, which the channel layer
# expires after a day (channels-redis group_expiry) however long the socket stays open. Its slot
# among the user's sockets (chats.access) is renewed more often, every SLOT_RENEW_EVERY.
KEEPALIVE_INTERVAL = 600.0

Handler = Callable[[dict[str, Any]], Awaitable[None]]

INTERNAL_ERROR_DETAIL = gettext_lazy("Something went wrong on our side; try again.")
# An action only the other side of the chat may take.
ONLY_ROLE_DETAIL = {
    Role.USER: gettext_lazy("Only the chat's user can %(action)s."),
    Role.ADMIN: gettext_lazy("Only the chat's admin can %(action)s."),
}

# Channel-layer message type -> the SocketConsumer method that handles it.
LAYER_HANDLERS = {
    LAYER_EVENT: "on_group_event",
    LAYER_RECHECK: "on_access_recheck",
    LAYER_MEMBERSHIP_LOST: "on_membership_lost",
}


class SocketError(DeskError):
    """Something wrong with a frame itself (not JSON, an unknown action), answered with an
    `error` event. Only sockets have frames, so each carries its own code; its status stays the
    table's 400 for bad input."""

    def __init__(self, code: ErrorCode, detail: StrOrPromise, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.field = field


class Refused(Exception):
    def __init__(self, code: CloseCode) -> None:
        super().__init__(code.name)
        self.code = code


class SocketConsumer(AsyncWebsocketConsumer):
    """What both sockets share: authentication, frames, rate limits, errors, group events."""

    # action -> the roles that may take it; the handler is the method of the same name.
    actions: ClassVar[dict[str, frozenset[Role]]] = {}

    user: Any
    role: Role
    groups_joined: list[str]
    closed: bool
    checked_at: float
    keepalive: asyncio.Task[None] | None
    # A hash of the session key the socket opened with (chats.access.session_mark), or, for a
    # socket authenticated by a desk token, access.NO_SESSION: no logout ever names it.
    session_mark: str
    slot_held: bool
    # What the socket's error details are written in (desk.i18n.scope_language).
    language: str

    async def authorize(self, user: User) -> list[str]:
        """Check `user` may open this socket; set what it needs; return the groups to join."""
        raise NotImplementedError

    def presence(self) -> str | None:
        """What this socket makes present while it is open (chats.presence), if anything."""
        return None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # A message from the channel layer goes to the handler LAYER_HANDLERS names; one from the
        # client's connection (`websocket.connect`, `.receive`, `.disconnect`) to channels' own.
        #
        # Replaces channels' dispatch, which first closes stale database connections, for every
        # message: a hop to the one thread all of a process's socket database work shares, for
        # each event each socket receives. Under load that queue starved event delivery
        # (dashboards fell behind and overflowed their buffers). desk's handlers reach the
        # database only through database_sync_to_async, which does the same clean-up itself.
        kind = message["type"]
        name = LAYER_HANDLERS.get(kind)
        if name is None and kind.startswith("websocket."):
            name = get_handler_name(message)
        handler = getattr(self, name, None) if name is not None else None
        if handler is None:
            raise ValueError(f"No handler for message type {kind}")
        await handler(message)

    # --- Connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        self.groups_joined = []
        self.closed = False
        self.counted_open = False
        self.keepalive = None
        self.slot_held = False
        self.language = scope_language(self.scope)
        if self.token_authenticated:
            self.session_mark = access.NO_SESSION
        else:
            self.session_mark = access.session_mark(self.scope["session"].session_key)
        # A client that offers subprotocols fails the handshake unless the server picks one.
        offered = self.scope.get("subprotocols") or []
        subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
        try:
            await self.admit(self.scope.get("user"))
        except Refused as refusal:
            # Accepted first, so that the client sees the close code: a websocket refused
            # during the handshake only ever shows a 403.
            await self.accept(subprotocol)
            await self.close_with(refusal.code)
            return
        await self.accept(subprotocol)
        metrics.WEBSOCKETS_OPEN.inc()
        self.counted_open = True
        self.checked_at = time.monotonic()
        self.keepalive = asyncio.create_task(self.keep_alive())
        if (present := self.presence()) is not None:
            await presence.join(present, self.channel_name)

    async def admit(self, user: Any) -> None:
        """Check access, join the groups, take a slot among the user's sockets; raises Refused."""
        groups = await self.check_access(user)
        self.user = user
        # Joined before accepting: once the client sees the socket open, no event can miss it.
        # The user's own group too, before the marks are read below: an access change is either
        # among the marks, or its message reaches this socket.
        for group in [*groups, user_group(user.pk)]:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        admission = await access.slot_claim(user.pk, self.channel_name)
        if not admission.claimed:
            raise Refused(CloseCode.TOO_MANY_SOCKETS)
        self.slot_held = True
        # The user was loaded (by the auth middleware) before this socket joined the user's
        # group: an access change in between left only its mark.
        if self.session_mark in admission.marks:
            raise Refused(CloseCode.UNAUTHENTICATED)
        if access.ANY_SESSION in admission.marks:
            await self.reload_access()

    async def check_access(self, user: Any) -> list[str]:
        """The groups `user` may join on this socket; raises Refused with the close code."""
        if user is None or not user.is_authenticated:
            raise Refused(CloseCode.UNAUTHENTICATED)
        try:
            return await self.authorize(user)
        except DeskError as error:
            # The table's close code: 4404 for a chat that is not theirs, 4403 for a non-admin.
            if error.close_code is None:
                raise
            raise Refused(error.close_code) from None

    async def disconnect(self, code: int) -> None:
        self.closed = True
        if getattr(self, "counted_open", False):
            self.counted_open = False
            metrics.WEBSOCKETS_OPEN.dec()
        if self.keepalive is not None:
            self.keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keepalive
        await self.leave_groups()
        await presence.leave(self.channel_name)
        # Freed here only, once the keep-alive is stopped, so that no renewal can put it back.
        if self.slot_held:
            self.slot_held = False
            await access.slot_release(self.user.pk, self.channel_name)

    async def leave_groups(self) -> None:
        while self.groups_joined:
            await self.channel_layer.group_discard(self.groups_joined.pop(), self.channel_name)

    async def close_with(self, code: CloseCode) -> None:
        # Once only: a re-check message and the keep-alive may find the same ended access.
        if self.closed:
            return
        self.closed = True
        await self.leave_groups()
        await self.close(code=code)

    @property
    def token_authenticated(self) -> bool:
        return bool(self.scope.get(TOKEN_AUTHENTICATED))

    async def reload_access(self) -> None:
        """Reload the user (from a fresh copy of the session, or for a token socket by its id, if
        still an active contact) and check its access again.

        Raises Refused when the session ended or the person is gone (4401), or the user may no
        longer be here.
        """
        if self.token_authenticated:
            user = await database_sync_to_async(contact_user)(self.user.pk)
        else:
            session_key = self.scope["session"].session_key
            store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
            user = await get_user({"session": store})
        if user is None or user.pk != self.user.pk:
            raise Refused(CloseCode.UNAUTHENTICATED)
        await self.check_access(user)
        self.user = user

    async def recheck(self) -> None:
        """Close the socket if its access ended; else renew its group memberships."""
        self.checked_at = time.monotonic()
        try:
            await self.reload_access()
        except Refused as refusal:
            await self.close_with(refusal.code)
            return
        if self.closed:
            return
        # Renews the memberships' timestamps, which the layer would otherwise expire.
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)

    async def keep_alive(self) -> None:
        while not self.closed:
            await asyncio.sleep(min(KEEPALIVE_INTERVAL, access.SLOT_RENEW_EVERY))
            if self.closed:
                return
            try:
                await access.slot_renew(self.user.pk, self.channel_name)
                if time.monotonic() - self.checked_at >= KEEPALIVE_INTERVAL:
                    await self.recheck()
            except Exception:
                logger.exception("websocket keep-alive check failed; will retry")

    # --- Frames from the client ---------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closed:
            return
        # The language is the socket task's own (asgiref's Local is a context variable), and the
        # services' threads inherit it: whatever a frame's handling writes is in it.
        with translation.override(self.language):
            await self.take_frame(text_data, bytes_data)

    async def take_frame(self, text_data: str | None, bytes_data: bytes | None) -> None:
        request_id = None
        try:
            await ratelimit.take(ratelimit.SOCKET_FRAMES, self.user.pk)
            frame = parse_frame(text_data, bytes_data)
            request_id = request_id_of(frame)
            handler = self.handler_for(frame.get("action"))
            if time.monotonic() - self.checked_at > ACCESS_RECHECK_AFTER:
                await self.recheck()
                if self.closed:
                    return
            await handler(frame)
        except Exception as exc:
            error = as_desk_error(exc)
            if error is None:
                logger.exception(
                    "websocket frame from user %s on %s failed", self.user.pk, self.scope["path"]
                )
                await self.send_event(
                    error_event(
                        ErrorCode.INTERNAL_ERROR, str(INTERNAL_ERROR_DETAIL), request_id=request_id
                    )
                )
                return
            await self.send_event(
                error_event(
                    error.code,
                    error.detail,
                    field=error.field,
                    retry_after=error.retry_after,
                    request_id=request_id,
                )
            )
            if isinstance(error, PermissionDeniedError):
                # A service found the account no longer allowed (it checks the database, not the
                # user this socket holds): the socket ends now, as a re-check would end it.
                try:
                    await self.recheck()
                except Exception:
                    logger.exception("websocket access re-check of user %s failed", self.user.pk)

    def handler_for(self, action: Any) -> Handler:
        roles = self.actions.get(action) if isinstance(action, str) else None
        if roles is None:
            if self.actions:
                detail = gettext("Unknown action %(action)s; actions: %(known)s.") % {
                    "action": repr(action),
                    "known": ", ".join(sorted(self.actions)),
                }
            else:
                detail = gettext("Unknown action %(action)s; this socket takes none.") % {
                    "action": repr(action)
                }
            raise SocketError(ErrorCode.UNKNOWN_ACTION, detail)
        if self.role not in roles:
            # Two sides, so the other one: the only role that may.
            detail = ONLY_ROLE_DETAIL[min(roles)] % {"action": action}
            raise SocketError(ErrorCode.FORBIDDEN, detail)
        handler: Handler = getattr(self, action)
        return handler

    # --- Messages from the channel layer (LAYER_HANDLERS) ---------------------------------------

    async def on_group_event(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        event = for_role(message["event"], self.role)
        if event is not None:
            await self.send_event(event)

    async def on_access_recheck(self, message: dict[str, Any]) -> None:
        # From chats.access: this user's access may have ended. A logout names its session;
        # any other change (deactivated, password, staff flag) concerns every session.
        if self.closed:
            return
        if message["session"] == self.session_mark:
            await self.close_with(CloseCode.UNAUTHENTICATED)
        elif message["session"] == access.ANY_SESSION:
            await self.recheck()

    async def on_membership_lost(self, message: dict[str, Any]) -> None:
        # From desk/runtime/layers.py: Redis lost this socket's group memberships (restarted or
        # flushed), so no event would reach it any more. The client reconnects and catches up.
        await self.close_with(CloseCode.RECONNECT)

    async def send_event(self, event: Event) -> None:
        if not self.closed:
            # One event goes to the chat's user and its admins alike: each socket signs the
            # attachments' URLs for its own user (chats/attachments/links.py).
            await self.send(text_data=encode(sign_event(event, self.user.pk)))


def parse_frame(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
    if text_data is None:
        raise SocketError(
            ErrorCode.BINARY_NOT_SUPPORTED,
            gettext("Send actions as JSON text frames, not binary."),
        )
    if len(text_data) > MAX_FRAME_CHARS:
        raise SocketError(
            ErrorCode.FRAME_TOO_LARGE,
            ngettext(
                "A frame may hold at most %(count)s character.",
                "A frame may hold at most %(count)s characters.",
                MAX_FRAME_CHARS,
            )
            % {"count": MAX_FRAME_CHARS},
        )
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):
        # RecursionError: JSON nested thousands deep, which fits easily in a frame.
        frame = None
    if not isinstance(frame, dict):
        raise SocketError(
            ErrorCode.INVALID_JSON,
            gettext("A frame must be a JSON object such as %(example)s.")
            % {"example": '{"action": "sync"}'},
        )
    return frame


def request_id_of(frame: dict[str, Any]) -> str | None:
    # Echoed in the reply to that frame, so a client can tell which of its actions failed.
    request_id = frame.get("request_id")
    if isinstance(request_id, str) and len(request_id) <= MAX_REQUEST_ID_CHARS:
        return request_id
    return None
