"""Django's own middleware, with their hooks run on the event loop for async requests.

For an async request Django runs each MiddlewareMixin hook (process_request, process_response) in
a worker thread: a thread hop apiece, about fifteen per request with the standard stack, which
cost this API most of its per-request CPU (4 ms for a bare 404 on the 2-core reference machine).
The hooks below only read headers and cookies and set headers, so they run inline; the two that
can touch the database (saving the session, storing flash messages in it) still hop when, and only
when, they have something to write. Django's async-safety guard raises rather than blocks if a
hook ever does query the database on the event loop.

`InlineHooks` overrides MiddlewareMixin.__acall__, written against Django 6.1.3 (see README.md
beside this file). desk's own middleware, which mix it in too, are in desk/middleware.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware import clickjacking, common, csp, csrf, locale, security
from django.utils.deprecation import MiddlewareMixin


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


class LocaleMiddleware(InlineHooks, locale.LocaleMiddleware):
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
