"""The one NinjaAPI: REST under /api/, docs at /api/docs, schema at /api/openapi.json."""

from __future__ import annotations

import math

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from chats.errors import (
    DeskError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from desk.middleware import RETRY_AFTER_SECONDS, UNAVAILABLE_DETAIL, database_unavailable

api = NinjaAPI(
    title="desk",
    version="1",
    description="Support chat: the user's widget and the admins' dashboard. Session "
    "authentication (Django login); mutating requests need the CSRF token in X-CSRFToken.",
    auth=django_auth,
    urls_namespace="api",
)
api.add_router("/", "chats.api.router")

STATUS_BY_ERROR: dict[type[DeskError], int] = {
    NotFoundError: 404,
    PermissionDeniedError: 403,
    RateLimitedError: 429,
}


@api.exception_handler(DeskError)
def desk_error(request: HttpRequest, exc: DeskError) -> HttpResponse:
    if isinstance(exc, InvalidInputError):
        detail = [{"loc": [exc.location, exc.field], "msg": exc.message, "type": exc.code}]
        return api.create_response(request, {"detail": detail}, status=422)
    status = next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    response = api.create_response(request, {"detail": str(exc)}, status=status)
    if isinstance(exc, RateLimitedError):
        # Whole seconds (RFC 9110), rounded up so that a client waiting this long gets through.
        response["Retry-After"] = str(math.ceil(exc.retry_after))
    return response


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # desk.middleware.DATABASE_UNAVAILABLE: the database is down or out of reach, so try again.
    database_unavailable(exc)
    response = api.create_response(request, {"detail": UNAVAILABLE_DETAIL}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
