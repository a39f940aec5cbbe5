"""The one NinjaAPI: REST under /api/, docs at /api/docs, schema at /api/openapi.json."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext, gettext_lazy, ngettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import django_auth

from chats.errors import (
    DATABASE_UNAVAILABLE,
    DeskError,
    InvalidInputError,
    UnauthenticatedError,
    as_desk_error,
)
from desk.api_docs import docs_access
from desk.runtime.threadpool import body_too_large_detail

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

api = NinjaAPI(
    title="desk",
    version="1",
    description="Support chat: the user's widget and the admins' dashboard. Session "
    "authentication (Django login); mutating requests need the CSRF token in X-CSRFToken. "
    "A widget embedded on another site authenticates the user endpoints with a desk token "
    "(`Authorization: Bearer`) from /api/embed/token instead: no cookies, no CSRF token. "
    "Error texts (`detail`, and `msg` in a 422) are written in the language of "
    "`Accept-Language` (en, ru, de, fr, es, ar; else English); status codes, `reason`, `type` "
    "and `loc` never change with it.",
    auth=django_auth,
    urls_namespace="api",
    # DESK_API_DOCS: public, staff only (the default outside DEBUG) or off.
    docs_decorator=docs_access,
)
api.add_router("/", "chats.api.router")
api.add_router("/embed/", "chats.embed.api.router")
api.add_router("/", "notifications.api.router")
api.add_router("/i18n/", "desk.i18n_api.router")


# Errors answer from their row of chats.errors' table, as every other edge does. Every `detail`
# and `msg` is written in the request's language (LocaleMiddleware: the language cookie, else
# Accept-Language, which the widget sends); codes, `type`, `loc` and `reason` never change.
@api.exception_handler(DeskError)
def desk_error(request: HttpRequest, exc: DeskError) -> HttpResponse:
    body: dict[str, Any] = {"detail": exc.detail}
    if isinstance(exc, UnauthenticatedError):
        body["reason"] = exc.reason
    if isinstance(exc, InvalidInputError):
        # ninja's own shape for a bad parameter, so clients read one 422 whoever found the fault.
        body["detail"] = [{"loc": [exc.location, exc.field], "msg": exc.detail, "type": exc.code}]
    response = api.create_response(request, body, status=exc.status)
    if exc.retry_after_header is not None:
        response["Retry-After"] = exc.retry_after_header
    return response


@api.exception_handler(AuthenticationError)
def no_credential(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # No credential an operation takes (no session, no bearer): 401 in the same shape as a
    # refused one, so that a client reads `reason` whatever the case.
    return desk_error(
        request,
        UnauthenticatedError(gettext_lazy("Authentication required."), reason="unauthenticated"),
    )


# --- 422 from the schemas (pydantic), in the asker's language -------------------------------------
# pydantic writes its messages in English. For the kinds of fault desk's schemas can meet, the
# message is desk's own, by the error's `type`, with the numbers from its `ctx`; `type`, `loc` and
# `ctx` stay exactly as pydantic made them (clients branch on those). Any other type keeps
# pydantic's English text.
SCHEMA_MESSAGES: dict[str, StrOrPromise] = {
    "missing": gettext_lazy("This field is required."),
    "missing_argument": gettext_lazy("This field is required."),
    "string_type": gettext_lazy("Must be text."),
    "string_unicode": gettext_lazy("Must be text."),
    "string_too_short": ngettext_lazy(
        "Must be at least %(min_length)s character long.",
        "Must be at least %(min_length)s characters long.",
        "min_length",
    ),
    "string_too_long": ngettext_lazy(
        "Must be at most %(max_length)s character long.",
        "Must be at most %(max_length)s characters long.",
        "max_length",
    ),
    "string_pattern_mismatch": gettext_lazy("Is not in the expected format."),
    "int_type": gettext_lazy("Must be a whole number."),
    "int_parsing": gettext_lazy("Must be a whole number."),
    "int_from_float": gettext_lazy("Must be a whole number."),
    "int_parsing_size": gettext_lazy("Is too large a number."),
    "bool_type": gettext_lazy("Must be true or false."),
    "bool_parsing": gettext_lazy("Must be true or false."),
    "uuid_type": gettext_lazy("Must be a UUID."),
    "uuid_parsing": gettext_lazy("Must be a UUID."),
    "uuid_version": gettext_lazy("Must be a UUID."),
    "json_invalid": gettext_lazy("Is not valid JSON."),
    "json_type": gettext_lazy("Is not valid JSON."),
    "list_type": gettext_lazy("Must be a list."),
    "dict_type": gettext_lazy("Must be a JSON object."),
    "model_type": gettext_lazy("Must be a JSON object."),
    "model_attributes_type": gettext_lazy("Must be a JSON object."),
    "extra_forbidden": gettext_lazy("Is not a field of this request."),
    "greater_than": gettext_lazy("Must be greater than %(gt)s."),
    "greater_than_equal": gettext_lazy("Must be at least %(ge)s."),
    "less_than": gettext_lazy("Must be less than %(lt)s."),
    "less_than_equal": gettext_lazy("Must be at most %(le)s."),
    "too_short": ngettext_lazy(
        "Must hold at least %(min_length)s item.",
        "Must hold at least %(min_length)s items.",
        "min_length",
    ),
    "too_long": ngettext_lazy(
        "Must hold at most %(max_length)s item.",
        "Must hold at most %(max_length)s items.",
        "max_length",
    ),
    "literal_error": gettext_lazy("Must be one of: %(expected)s."),
    "enum": gettext_lazy("Must be one of: %(expected)s."),
}
# A schema's own validator raised: its text, marked where it is raised, without pydantic's
# English "Value error, " before it.
RAISED = frozenset({"value_error", "assertion_error"})


def schema_error_translate(error: dict[str, Any]) -> dict[str, Any]:
    """One error of a 422 as ninja shapes it, its `msg` in the active language."""
    kind = str(error.get("type"))
    ctx = error.get("ctx") or {}
    try:
        if kind in RAISED:
            msg = gettext(str(ctx["error"]))
        elif kind in SCHEMA_MESSAGES:
            msg = SCHEMA_MESSAGES[kind] % ctx
        else:
            return error
    except (KeyError, TypeError, ValueError):
        # A context without the number the text names: pydantic's own words, then.
        return error
    return {**error, "msg": msg}


@api.exception_handler(ValidationError)
def invalid_parameters(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = [schema_error_translate(dict(error)) for error in exc.errors]
    return api.create_response(request, {"detail": detail}, status=422)


# ninja's own HttpError: the only one desk's operations meet is a body that does not parse.
UNPARSABLE_BODY = "Cannot parse request body"
UNPARSABLE_BODY_DETAIL = gettext_lazy("Cannot parse request body")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    detail = str(exc)
    if detail.startswith(UNPARSABLE_BODY):
        # In DEBUG, ninja adds the parser's own words after it, in parentheses.
        detail = str(UNPARSABLE_BODY_DETAIL) + detail.removeprefix(UNPARSABLE_BODY)
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


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
    detail = body_too_large_detail(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return api.create_response(request, {"detail": detail}, status=413)


# --- Request bodies are JSON --------------------------------------------------------------------
JSON_MEDIA_TYPE = "application/json"
NOT_JSON_DETAIL = gettext_lazy("The request body must be JSON, sent as Content-Type: %(type)s.")


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
        detail = str(NOT_JSON_DETAIL) % {"type": JSON_MEDIA_TYPE}
        return api.create_response(request, {"detail": detail}, status=415)
    return None


# ninja 1.7's "view" mode wraps each operation's `run`: authentication, parsing and the handler.
api.add_decorator(json_bodies_only, mode="view")
