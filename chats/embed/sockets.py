"""Sockets of the embedded widget: authenticated by a desk token, never by desk's cookies.

The token travels as a websocket subprotocol, so that it never appears in a URL (where proxies and
servers log it): the widget opens `new WebSocket(url, ["desk", "desk.bearer." + token])`, and the
socket framework (chats/realtime/sockets.py) accepts with `desk`, the only subprotocol it names.
A desk token is a JWT (base64url and dots), which is a valid subprotocol as it is.

`SocketAuthMiddleware` decides how a socket is authenticated, before the consumer runs:

- a socket that offers a bearer is that token's person (an active contact), or no one: its session
  cookie is never read, whichever page opened it;
- a socket from a page of a host site (DESK_EMBED_ORIGINS, desk/runtime/origins.py) without a
  bearer is no one, even with a desk session cookie: a host on a subdomain of desk's site would
  otherwise open sockets as a desk admin who browses it (the cookie is Lax, and same-site);
- any other socket, from desk's own pages, is authenticated by the Django session, as before.

Token sockets carry TOKEN_AUTHENTICATED in their scope and no session. The token is checked once,
as the socket opens (an open socket outlives its token, as a session socket outlives nothing but
its session): re-checks re-read the person by id (`contact_user`), so that deleting or deactivating
a person, or merging a guest into a person, closes their sockets (4401) as it does a desk user's.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from django.contrib.auth.models import AnonymousUser, User

from chats.embed.tokens import contact_user, desk_token_user_pk
from chats.errors import UnauthenticatedError
from desk.runtime.database import database_sync_to_async
from desk.runtime.origins import origin_embeds

SUBPROTOCOL = "desk"
BEARER_PREFIX = "desk.bearer."
# Scope key: the socket authenticates by a desk token only (scope["user"] is anonymous when the
# token was refused or missing), and has no session.
TOKEN_AUTHENTICATED = "desk_token_authenticated"


def bearers_offered(scope: dict[str, Any]) -> list[str]:
    """The tokens of the `desk.bearer.` subprotocols the client offered."""
    offered = scope.get("subprotocols") or []
    return [
        protocol.removeprefix(BEARER_PREFIX)
        for protocol in offered
        if isinstance(protocol, str) and protocol.startswith(BEARER_PREFIX)
    ]


def bearer_user(bearers: list[str]) -> User | None:
    """The active contact the one bearer names; None for a bad or expired token, or for two."""
    if len(bearers) != 1:
        return None
    try:
        user_pk = desk_token_user_pk(bearers[0])
    except UnauthenticatedError:
        return None
    return contact_user(user_pk)


class SocketAuthMiddleware:
    """ASGI middleware: a desk token's person, no one (a host site's page without one), or the
    Django session (channels' AuthMiddlewareStack), as the module's docstring says."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.session_application = AuthMiddlewareStack(application)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        bearers = bearers_offered(scope)
        if bearers:
            user = await database_sync_to_async(bearer_user)(bearers)
        elif origin_embeds(scope):
            user = None
        else:
            return await self.session_application(scope, receive, send)
        scope = {**scope, "user": user or AnonymousUser(), TOKEN_AUTHENTICATED: True}
        return await self.application(scope, receive, send)
