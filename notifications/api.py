"""REST edge of the notifications app: a staff member's choice of staff alerts."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from ninja import Field, Router, Schema
from pydantic import JsonValue

from chats.http import ApiRequest
from chats.permissions import require_admin
from chats.schemas import BODY_ERRORS, ErrorOut, ObjectIn, ValidationErrorOut
from notifications import services
from notifications.models import StaffAlertScope

router = Router(tags=["admin"])

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut}

SCOPE_HELP = (
    "Which new messages nobody opened or answered within DESK_STAFF_ALERT_DELAY are emailed to "
    "you: `all` (every chat), `answered` (chats you have answered), `none`."
)


class StaffAlertsOut(Schema):
    scope: StaffAlertScope = Field(description=SCOPE_HELP)


class StaffAlertsIn(ObjectIn):
    # Checked by the service, after the caller is known to be staff: a non-admin learns nothing
    # about the values, and gets the 403 whatever the body says.
    scope: object = Field(
        description=SCOPE_HELP,
        json_schema_extra={"type": "string", "enum": list[JsonValue](StaffAlertScope.values)},
    )


@router.get("/admin/staff_alerts", response={200: StaffAlertsOut, **ERRORS})
async def staff_alerts_get(request: ApiRequest) -> dict[str, str]:
    """Your choice of staff alert emails (`all` until you choose)."""
    return await sync_to_async(_scope_get)(request.auth)


@router.put("/admin/staff_alerts", response={200: StaffAlertsOut, **ERRORS, **BODY_ERRORS})
async def staff_alerts_set(request: ApiRequest, payload: StaffAlertsIn) -> dict[str, str]:
    """Choose your staff alert emails; the next alert follows the new choice."""
    return await sync_to_async(_scope_set)(request.auth, payload.scope)


def _scope_get(staff: User) -> dict[str, str]:
    require_admin(staff)
    return {"scope": services.staff_alert_scope(staff=staff).value}


def _scope_set(staff: User, scope: object) -> dict[str, str]:
    require_admin(staff)
    return {"scope": services.staff_alert_scope_set(staff=staff, scope=scope).value}
