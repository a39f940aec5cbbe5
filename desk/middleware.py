"""Django's own middleware, with their hooks run on the event loop for async requests.

For an async request Django runs each MiddlewareMixin hook (process_request, process_response) in
a worker thread: a thread hop apiece, about fifteen per request with the standard stack, which
cost this API most of its per-request CPU (4 ms for a bare 404 on the 2-core reference machine).
The hooks below only read headers and cookies and set headers, so they run inline; the two that
can touch the database (saving the session, storing flash messages in it) still hop when, and only
when, they have something to write. Django's async-safety guard raises rather than blocks if a
hook ever does query the database on the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.db import InterfaceError, OperationalError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
)
from django.middleware import clickjacking, common, csp, csrf, security
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger(__name__)


class InlineHooks:
    """Run process_request and process_response directly in the async path."""

    get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = await self._process_response(request, response)
        return response

    async def _process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        return self.process_response(request, response)


class SecurityMiddleware(InlineHooks, security.SecurityMiddleware):
    pass


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(InlineHooks, csrf.CsrfViewMiddleware):
    pass


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    pass


class XFrameOptionsMiddleware(InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass


class ContentSecurityPolicyMiddleware(InlineHooks, csp.ContentSecurityPolicyMiddleware):
    pass


class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    async def _process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if request.session.modified or settings.SESSION_SAVE_EVERY_REQUEST:
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    async def _process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        storage: Any = getattr(request, "_messages", None)
        if storage is not None and (storage.used or storage.added_new):
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)


# NUL is no character of any URL or name desk uses, and PostgreSQL refuses it in a query (a
# DataError, so a 500) wherever a view or the admin's list filters pass it on: one guard for
# every view, before any of them, instead of a check in each. (The session cookie, which reaches
# the database before any view, is checked by desk/sessions.py, for websockets too.)
NUL = "\x00"
NUL_DETAIL = "NUL characters are not allowed in the address or its query string."


def _nul_locations(request: HttpRequest) -> list[list[str]]:
    """Where the request carries a NUL, as the API's error `loc`s: the path or the query."""
    found: list[list[str]] = []
    if NUL in request.path:
        found.extend(_path_locations(request))
    found.extend(
        ["query", key]
        for key, values in request.GET.lists()
        if NUL in key or any(NUL in value for value in values)
    )
    return found


def _path_locations(request: HttpRequest) -> list[list[str]]:
    """The path parameters holding a NUL, named as the API names them; else the path itself."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return [["path"]]
    named = [
        ["path", name]
        for name, value in match.kwargs.items()
        if isinstance(value, str) and NUL in value
    ]
    return named or [["path"]]


def _under_the_api(request: HttpRequest) -> bool:
    try:
        return request.path.startswith(reverse("api:api-root"))
    except NoReverseMatch:  # a URLconf without the API (a test's own)
        return False


class RejectNulMiddleware(InlineHooks, MiddlewareMixin):
    """400 for a NUL in the path or the query string; under the API, its 422 shape.

    The API documents bad parameters as 422 with the parameter named in `loc` (its schema, which
    Schemathesis checks every answer against, has no 400 for most operations), so API requests
    get that shape here too.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        locations = _nul_locations(request)
        if not locations:
            return None
        if _under_the_api(request):
            detail = [{"loc": loc, "msg": NUL_DETAIL, "type": "invalid"} for loc in locations]
            return JsonResponse({"detail": detail}, status=422)
        return HttpResponseBadRequest(NUL_DETAIL, content_type="text/plain; charset=utf-8")


# The database is down or unreachable (a restart, a failover, the pool's wait for a connection
# running out): the request may well succeed shortly, so it gets a 503 with Retry-After, not a 500.
# Integrity and data errors are bugs or bad input, never this. Once the server is back, the pool
# (whose `check` tests each connection before handing it out) resumes on its own.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "The service is briefly unavailable; try again in a few seconds."


def database_unavailable(exc: Exception) -> None:
    logger.warning("database unavailable, the request is refused for now (503): %s", exc)


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A plain 503 page, with Retry-After, when a page's view cannot reach the database.

    The API answers in its own error shape (desk/api.py); this covers every other page.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        database_unavailable(exception)
        response = HttpResponse(
            UNAVAILABLE_DETAIL, status=503, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
