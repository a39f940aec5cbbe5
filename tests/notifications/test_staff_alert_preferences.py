"""`GET/PUT /api/admin/staff_alerts`: each staff member chooses which alerts they are emailed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from notifications.models import StaffAlertPreference
from tests.conftest import ApiClient

Api = Callable[..., ApiClient]
PATH = "/admin/staff_alerts"


def put(client: ApiClient, body: Any, **headers: Any) -> Any:
    return client.client.put(
        f"/api{PATH}", json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_staff_member_who_never_chose_gets_every_alert(api: Api, admin: Any) -> None:
    answer = api(admin).get(PATH)

    assert (answer.status_code, answer.json()) == (200, {"scope": "all"})


def test_a_choice_is_kept_and_read_back(api: Api, admin: Any) -> None:
    chosen = put(api(admin), {"scope": "answered"})
    read = api(admin).get(PATH)

    assert (chosen.status_code, chosen.json()) == (200, {"scope": "answered"})
    assert read.json() == {"scope": "answered"}
    assert StaffAlertPreference.objects.get(user=admin).scope == "answered"


def test_one_staff_members_choice_is_not_anothers(api: Api, admin: Any, other_admin: Any) -> None:
    put(api(admin), {"scope": "none"})

    assert api(other_admin).get(PATH).json() == {"scope": "all"}


def test_an_unknown_choice_is_refused_naming_the_field(api: Api, admin: Any) -> None:
    answer = put(api(admin), {"scope": "sometimes"})

    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["body", "scope"]
    assert "all, answered, none" in error["msg"]
    assert not StaffAlertPreference.objects.exists()


def test_a_choice_that_is_not_a_string_is_refused(api: Api, admin: Any) -> None:
    for scope in [None, 1, ["all"], {"all": True}]:
        assert put(api(admin), {"scope": scope}).status_code == 422, scope


def test_a_body_that_is_not_an_object_is_refused(api: Api, admin: Any) -> None:
    assert put(api(admin), ["all"]).status_code == 422


def test_a_person_may_neither_read_nor_choose_staff_alerts(api: Api, user: Any) -> None:
    assert api(user).get(PATH).status_code == 403
    assert put(api(user), {"scope": "none"}).status_code == 403
    assert not StaffAlertPreference.objects.exists()


def test_nobody_signed_out_may_read_or_choose(api: Api, db: None) -> None:
    assert api().get(PATH).status_code == 401
    assert put(api(), {"scope": "none"}).status_code == 401


def test_choosing_needs_the_csrf_token(api: Api, admin: Any) -> None:
    answer = put(api(admin, csrf=True), {"scope": "none"})

    assert answer.status_code == 403
    assert not StaffAlertPreference.objects.exists()
