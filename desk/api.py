"""The one NinjaAPI: REST under /api/, docs at /api/docs, schema at /api/openapi.json."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security import django_auth

from chats.errors import (
    DATABASE_UNAVAILABLE,
    DeskError,
    InvalidInputError,
    UnauthenticatedError,
    as_desk_error,
)
from desk.api_docs import docs_access
from desk.runtime.threadpool import BODY_TOO_LARGE_DETAIL

api = NinjaAPI(
    title="desk",
    version="1",
    description="Support chat: the user's widget and the admins' dashboard. Session "
    "authentication (Django login); mutating requests need the CSRF token in X-CSRFToken. "
    "A widget embedded on another site authenticates the user endpoints with a desk token "
    "(`Authorization: Bearer`) from /api/embed/token instead: no cookies, no CSRF token.",
    auth=django_auth,
    urls_namespace="api",
    # DESK_API_DOCS: public, staff only (the default outside DEBUG) or off.
    docs_decorator=docs_access,
)
api.add_router("/", "chats.api.router")
api.add_router("/embed/", "chats.embed.api.router")
api.add_router("/", "notifications.api.router")


# Errors answer from their row of chats.errors' table, as every other edge does.
@api.exception_handler(DeskError)
def desk_error(request: HttpRequest, exc: DeskError) -> HttpResponse:
    body: dict[str, Any] = {"detail": exc.detail}
    if isinstance(exc, UnauthenticatedError):
        body["reason"] = exc.reason
    if isinstance(exc, InvalidInputError):
        # ninja's own shape for a bad parameter, so clients read one 422 whoever found the fault.
        body["detail"] = [{"loc": [exc.location, exc.field], "msg": exc.message, "type": exc.code}]
    response = api.create_response(request, body, status=exc.status)
    if exc.retry_after_header is not None:
        response["Retry-After"] = exc.retry_after_header
    return response


@api.exception_handler(AuthenticationError)
def no_credential(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # No credential an operation takes (no session, no bearer): 401 in the same shape as a
    # refused one, so that a client reads `reason` whatever the case.
    return desk_error(
        request, UnauthenticatedError("Authentication required.", reason="unauthenticated")
    )


def database_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    error = as_desk_error(exc)
    if error is None:  # Registered only for errors the translator knows.
        raise exc
    return desk_error(request, error)


for unavailable in DATABASE_UNAVAILABLE:
    api.exception_handler(unavailable)(database_error)


@api.exception_handler(RequestDataTooBig)
def body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # A real server refuses these before Django (desk/runtime/threadpool.py); this answers the
    # rest, in the same words, rather than Django's HTML 400 page (or, in DEBUG, ninja's 500
    # traceback).
    detail = BODY_TOO_LARGE_DETAIL.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return api.create_response(request, {"detail": detail}, status=413)


# --- Request bodies are JSON --------------------------------------------------------------------
JSON_MEDIA_TYPE = "application/json"
NOT_JSON_DETAIL = f"The request body must be JSON, sent as Content-Type: {JSON_MEDIA_TYPE}."


def json_bodies_only(run: Callable[..., Any]) -> Callable[..., Any]:
    """For operations that take a JSON body: 415 for a body of any other media type.

    It runs before authentication on purpose: django_auth's CSRF check reads a form or multipart
    body as form fields, after which the JSON parser found the body consumed and raised (500).
    Operations without a body are left as they are (a form post to archive a chat is fine).
    """
    if not _takes_json_body(run):
        return run
    if inspect.iscoroutinefunction(run):

        @functools.wraps(run)
        async def checked_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return _not_json(request) or await run(request, *args, **kwargs)

        return checked_async

    @functools.wraps(run)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return _not_json(request) or run(request, *args, **kwargs)

    return checked


def _takes_json_body(run: Callable[..., Any]) -> bool:
    # ninja 1.7.1: `run` is the Operation's bound method; its `models` are the parameter
    # models, one per source (path, query, body, ...). tests/security/test_request_bodies.py
    # fails if this stops finding the body.
    operation = getattr(inspect.unwrap(run), "__self__", None)
    models = getattr(operation, "models", ())
    return any(getattr(model, "__ninja_param_source__", None) == "body" for model in models)


def _not_json(request: HttpRequest) -> HttpResponse | None:
    has_body = request.META.get("CONTENT_LENGTH", "") not in {"", "0"} or (
        "HTTP_TRANSFER_ENCODING" in request.META
    )
    if has_body and request.content_type != JSON_MEDIA_TYPE:
        return api.create_response(request, {"detail": NOT_JSON_DETAIL}, status=415)
    return None


# ninja 1.7's "view" mode wraps each operation's `run`: authentication, parsing and the handler.
api.add_decorator(json_bodies_only, mode="view")
