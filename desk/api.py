"""The one NinjaAPI: REST under /api/, docs at /api/docs, schema at /api/openapi.json."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from chats.errors import DeskError, InvalidInputError, NotFoundError, PermissionDeniedError

api = NinjaAPI(
    title="desk",
    version="1",
    description="Support chat: the user's widget and the admins' dashboard. Session "
    "authentication (Django login); mutating requests need the CSRF token in X-CSRFToken.",
    auth=django_auth,
    urls_namespace="api",
)
api.add_router("/", "chats.api.router")

STATUS_BY_ERROR: dict[type[DeskError], int] = {NotFoundError: 404, PermissionDeniedError: 403}


@api.exception_handler(DeskError)
def desk_error(request: HttpRequest, exc: DeskError) -> HttpResponse:
    if isinstance(exc, InvalidInputError):
        detail = [{"loc": [exc.location, exc.field], "msg": exc.message, "type": exc.code}]
        return api.create_response(request, {"detail": detail}, status=422)
    status = next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    return api.create_response(request, {"detail": str(exc)}, status=status)
