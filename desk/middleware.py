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

from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
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

from chats.errors import as_desk_error


class InlineHooks(MiddlewareMixin):
    """Run process_request and process_response directly in the async path."""

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase | None = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        if response is None:
            response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        if hasattr(self, "process_response"):
            response = await self._process_response(request, response)
        return response

    async def _process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        # Every class below mixes this into a Django middleware that has process_response.
        hook: Callable[[HttpRequest, HttpResponseBase], HttpResponseBase]
        hook = self.process_response  # type: ignore[attr-defined]
        return hook(request, response)


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
            return await sync_to_async(self.process_response)(request, cast(HttpResponse, response))
        return self.process_response(request, cast(HttpResponse, response))


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    async def _process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        storage: Any = getattr(request, "_messages", None)
        if storage is not None and (storage.used or storage.added_new):
            return await sync_to_async(self.process_response)(request, cast(HttpResponse, response))
        return self.process_response(request, cast(HttpResponse, response))


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


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A plain 503 page, with Retry-After, when a page's view cannot reach the database.

    The answer is chats.errors' UnavailableError, as the API (in its own shape) and the sockets
    give it. Any other error the table knows that a page lets through answers from its row too
    (the dashboard answers them itself, with its own 403 and 404 pages); the rest are bugs, 500.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        error = as_desk_error(exception)
        if error is None:
            return None
        response = HttpResponse(
            error.detail, status=error.status, content_type="text/plain; charset=utf-8"
        )
        if error.retry_after_header is not None:
            response["Retry-After"] = error.retry_after_header
        return response
