"""Which pages may open desk's websockets: the origins REST accepts, and the sites that embed desk.

A browser sends the visitor's cookies with a websocket handshake whichever page opens it, and CORS
does not apply to websockets, so the `Origin` header is all that tells desk's own pages from
another site's (cross-site websocket hijacking). Comparing host names alone, as channels'
AllowedHostsOriginValidator does, let any page on the same host name in: another app on another
port (`http://127.0.0.1:9999`), or the same host over plain http. Django's CSRF origin check
compares scheme, host and port, and REST already relies on it, so sockets run that very check
(`CsrfViewMiddleware._origin_verified`) on a request built from the handshake. An origin is
accepted when it is

- desk's own: the scheme the socket arrived on (wss counts as https) and the `Host` header, which
  must be in ALLOWED_HOSTS; or
- one of `socket_trusted_origins()`: CSRF_TRUSTED_ORIGINS, exactly or by a
  `https://*.example.com` pattern, and DESK_EMBED_ORIGINS, exactly (as CORS grants them).

A page of a DESK_EMBED_ORIGINS site is let in but not trusted with the visitor's cookies: it may be
a subdomain of desk's own site, whose Lax session cookie the browser would send along.
`origin_embeds()` tells chats/embed/sockets.py to authenticate such a socket by its desk token
only.

A handshake without an `Origin` is refused, as it was with channels' validator: browsers always
send one, and other clients can send one too.

`origin_trusted()` puts the same rule at the service of HTTP requests (chats/http.py: a cross-site
GET marks nothing), so that this module is the one place that calls the private method.
"""

from __future__ import annotations

import copy
import io
import logging
import re
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

logger = logging.getLogger(__name__)

Scope = dict[str, Any]


def socket_trusted_origins() -> list[str]:
    """Origins other than the handshake's own whose pages may open a socket: CSRF_TRUSTED_ORIGINS
    (desk's own pages) and DESK_EMBED_ORIGINS (host sites, matched exactly: a `*` there is no
    pattern, as it is none for CORS either). The only list the socket check reads."""
    embedders = [origin for origin in settings.DESK_EMBED_ORIGINS if "*" not in origin]
    return [*settings.CSRF_TRUSTED_ORIGINS, *embedders]


def _origin_verified(check: CsrfViewMiddleware, request: HttpRequest) -> bool:
    """Django's CSRF origin check of request.META["HTTP_ORIGIN"], as `check` is configured.

    `CsrfViewMiddleware._origin_verified` is private to Django; this is its one caller, written
    against Django 6.1.3, where it reads the origin from request.META["HTTP_ORIGIN"] and compares
    scheme, host and port with the request's own and with the instance's trusted origins.
    tests/security/test_socket_origins.py and tests/security/test_get_side_effects.py fail if it
    stops behaving as REST's check does.
    """
    return bool(check._origin_verified(request))  # type: ignore[attr-defined]


class _OriginCheck(CsrfViewMiddleware):
    """Django's CSRF origin check, with socket_trusted_origins() in place of CSRF_TRUSTED_ORIGINS.

    The two properties restate Django's own (two set-builders) over the other list, and are
    recomputed on each use so that changed settings apply at once.
    """

    def trusted(self) -> list[str]:
        return socket_trusted_origins()

    @property
    def allowed_origins_exact(self) -> set[str]:
        return {origin for origin in self.trusted() if "*" not in origin}

    @property
    def allowed_origin_subdomains(self) -> defaultdict[str, list[str]]:
        subdomains: defaultdict[str, list[str]] = defaultdict(list)
        for origin in self.trusted():
            if "*" in origin:
                parsed = urlsplit(origin)
                subdomains[parsed.scheme].append(parsed.netloc.lstrip("*"))
        return subdomains


def _never_called(request: Any) -> HttpResponse:
    raise AssertionError("the origin check is never used as middleware")


class _OwnOriginCheck(_OriginCheck):
    """The same check with nothing trusted: only the handshake's own origin passes."""

    def trusted(self) -> list[str]:
        return []


_check = _OriginCheck(_never_called)
_own_check = _OwnOriginCheck(_never_called)


def origin_trusted(request: HttpRequest, origin: str) -> bool:
    """Whether Django's CSRF check accepts `origin` for this request, as REST's writes do.

    That is the request's own origin (scheme, host and port) or one of CSRF_TRUSTED_ORIGINS. A
    fresh middleware each time: it caches CSRF_TRUSTED_ORIGINS on the instance.
    """
    probe = copy.copy(request)
    probe.META = {**request.META, "HTTP_ORIGIN": origin}
    return _origin_verified(CsrfViewMiddleware(_never_called), probe)


def handshake_request(scope: Scope) -> ASGIRequest:
    """The handshake as Django sees an HTTP request: its Host, headers and scheme (ws is http)."""
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    http_scope = {**scope, "type": "http", "method": "GET", "scheme": scheme}
    return ASGIRequest(http_scope, io.BytesIO())


def origin_allowed(scope: Scope) -> bool:
    """Whether the page that opened this websocket may open one at all."""
    request = handshake_request(scope)
    if "HTTP_ORIGIN" not in request.META:
        return False
    return _origin_verified(_check, request)


def origin_embeds(scope: Scope) -> bool:
    """Whether the page that opened this websocket is a host site's (one of DESK_EMBED_ORIGINS,
    and not the handshake's own origin): then the visitor's cookies must not authenticate it."""
    request = handshake_request(scope)
    origin = request.META.get("HTTP_ORIGIN")
    if origin not in settings.DESK_EMBED_ORIGINS:
        return False
    return not _origin_verified(_own_check, request)


class OriginValidator:
    """ASGI middleware: a websocket from a page of another origin is refused at the handshake."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("OriginValidator only guards websockets")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        # Logged, as Django's CSRF failures are, so a proxy that rewrites Host, or a missing
        # CSRF_TRUSTED_ORIGINS entry, shows up as the reason its dashboards cannot connect.
        logger.warning(
            "Forbidden (websocket origin): %r is neither desk's own origin nor trusted: %s",
            dict(scope.get("headers", [])).get(b"origin", b"(none)").decode("latin1"),
            scope.get("path", ""),
        )
        return await WebsocketDenier()(scope, receive, send)


def cors_grant(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The CORS headers django-cors-headers would add to an answer to this HTTP request, for an
    answer made before Django runs (the request thread pool's 413, 408 and 503): without them an
    embedding page's script sees a network error instead of the refusal. The same settings
    decide: CORS_URLS_REGEX for the path, CORS_ALLOWED_ORIGINS exactly for the origin."""
    origin = dict(scope.get("headers", ())).get(b"origin", b"").decode("latin-1")
    if not origin or origin not in settings.CORS_ALLOWED_ORIGINS:
        return []
    if not re.match(settings.CORS_URLS_REGEX, scope.get("path", "")):
        return []
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", ", ".join(settings.CORS_EXPOSE_HEADERS).encode()),
        (b"vary", b"origin"),
    ]
