"""desk's own middleware: refusals that come before any view, and the pages' answer to errors.

Django's middleware that desk runs with their hooks on the event loop (InlineHooks and the
subclasses of Django's classes) are in desk/runtime/middleware.py, with the other places where
desk departs from a library's defaults; RejectNulMiddleware mixes InlineHooks in as they do.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext, gettext_noop

from chats.errors import as_desk_error
from desk.runtime.middleware import InlineHooks

# NUL is no character of any URL or name desk uses, and PostgreSQL refuses it in a query (a
# DataError, so a 500) wherever a view or the admin's list filters pass it on: one guard for
# every view, before any of them, instead of a check in each. (The session cookie, which reaches
# the database before any view, is checked by desk/sessions.py, for websockets too.)
NUL = "\x00"
NUL_DETAIL = gettext_noop("NUL characters are not allowed in the address or its query string.")


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
        text = gettext(NUL_DETAIL)
        if _under_the_api(request):
            detail = [{"loc": loc, "msg": text, "type": "invalid"} for loc in locations]
            return JsonResponse({"detail": detail}, status=422)
        return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")


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
