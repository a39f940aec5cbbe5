"""Schemathesis on /api/openapi.json, as a user, an admin, and the embedded widget's people (a
guest and someone the host site identified, with their desk token and no session): no 5xx, every
answer as documented.

Every operation of the schema, in-process (Django's WSGI handler, the test database), with data
generated from the schema, both valid and invalid (negative testing). Each case runs in a
transaction that is rolled back, so cases never see one another's rows; Hypothesis is
derandomized, so a run is repeatable. The message rate limit is lifted here: 429 is tested in
test_rate_limits.py, and here it would only hide the answers behind it.

Every Schemathesis check runs but one, `positive_data_acceptance` (a request the schema allows must
succeed): desk refuses some schema-valid requests by rules OpenAPI cannot state, with a documented
422 naming the field: `after` must be a message of this chat, not both `after` and `before`, a
`cursor` must be one desk issued, content must not be blank or hold NUL once trimmed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import checks

from chats import services
from chats.embed.identity import Identity
from chats.embed.services import guest_create, identified_contact
from chats.embed.tokens import desk_token_issue
from chats.models import SupportChat
from desk.api import api
from tests.conftest import make_user
from tests.security.conftest import FIGURES

# Enough for both generation modes to reach every parameter of each operation; the whole file runs
# in about a minute on the 2-core reference machine.
EXAMPLES_PER_OPERATION = 60
CSRF_TOKEN = "a" * 32  # any 32 characters make a CSRF secret (sent as cookie and header)


def without_authentication(spec: dict[str, Any]) -> dict[str, Any]:
    """The schema minus its session-cookie security scheme.

    The tests send a real session themselves; left in, Schemathesis would also drop or garble the
    cookie to test authentication, which the authorization matrix covers role by role.
    """
    spec = {**spec, "components": dict(spec.get("components", {}))}
    spec["components"].pop("securitySchemes", None)
    spec["paths"] = {
        path: {
            method: {k: v for k, v in op.items() if k != "security"} for method, op in ops.items()
        }
        for path, ops in spec["paths"].items()
    }
    return spec


def _public(operation: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in operation.items() if key != "security"}


schema = schemathesis.openapi.from_dict(without_authentication(api.get_openapi_schema()))
schema.app = get_wsgi_application()

BOUNDED = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture
def connections_kept_open() -> Iterator[None]:
    """As Django's test client does: a request's start and end must not close the test's
    connection (inside the test's transaction, PostgreSQL's would be lost)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def people(db: None, settings: Any, connections_kept_open: None) -> dict[str, Any]:
    settings.DESK_MESSAGES_PER_MINUTE = 1_000_000
    # As for messages: 429 is tested in tests/embed, here it would hide the answers behind it.
    settings.DESK_GUESTS_PER_HOUR = 1_000_000
    # The WSGI test client speaks to host "localhost".
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    user = make_user("ann@example.com")
    admin = make_user("support@example.com", is_staff=True)
    chat = services.chat_get_or_create(user=user)
    message = services.user_message_post(user=user, content="Where is my order?")
    services.admin_reply_post(admin=admin, chat_id=chat.id, content="On its way.")
    found = {"user": user, "admin": admin, "chat": chat, "message": message}
    # The embedded widget's people, each with a chat and a message of their own.
    guest = guest_create(client="192.0.2.7", name="Gus", email="gus@visitor.example").contact
    identified = identified_contact(Identity(sub="shop-1017", email="dan@shop.example", name="Dan"))
    for role, contact in (("guest", guest), ("identified", identified)):
        found[role] = contact.user
        found[f"{role}_message"] = services.user_message_post(user=contact.user, content="Hi")
        found[f"{role}_chat"] = found[f"{role}_message"].chat
    return found


def session_cookies(user: Any) -> dict[str, str]:
    browser = Client()
    browser.force_login(user)
    return {"sessionid": browser.cookies["sessionid"].value, "csrftoken": CSRF_TOKEN}


def aim_at_real_rows(case: Any, chat: SupportChat, message_id: uuid.UUID) -> None:
    """Point half of the generated ids at rows that exist, so success answers are checked too.

    Only well-formed ids are replaced: a malformed one is what a negative case is testing.
    """
    targets = [(case.path_parameters, "chat_id", chat.id)]
    targets += [(case.query, name, message_id) for name in ("after", "before")]
    for values, name, real in targets:
        if values and _is_uuid(values.get(name)) and uuid.UUID(values[name]).int % 2 == 0:
            values[name] = str(real)


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def bearer(user: Any) -> dict[str, str]:
    """What the embedded widget sends: its desk token, no cookie."""
    return {"Authorization": f"Bearer {desk_token_issue(user).token}"}


def run(case: Any, people: dict[str, Any], role: str) -> None:
    if role in ("guest", "identified"):
        aim_at_real_rows(case, people[f"{role}_chat"], people[f"{role}_message"].id)
        call = {"headers": bearer(people[role])}
    else:
        aim_at_real_rows(case, people["chat"], people["message"].id)
        call = {"cookies": session_cookies(people[role]), "headers": {"X-CSRFToken": CSRF_TOKEN}}
    with transaction.atomic():
        response = case.call(**call)
        FIGURES[f"schemathesis: cases run as {role}"] += 1
        transaction.set_rollback(True)
    assert response.status_code < 500, response.text[:500]
    case.validate_response(response, excluded_checks=[checks.positive_data_acceptance])


@schema.parametrize()
@BOUNDED
def test_every_operation_as_a_user(case: Any, people: dict[str, Any]) -> None:
    run(case, people, "user")


@schema.parametrize()
@BOUNDED
def test_every_operation_as_an_admin(case: Any, people: dict[str, Any]) -> None:
    run(case, people, "admin")


@schema.parametrize()
@BOUNDED
def test_every_operation_as_a_guest(case: Any, people: dict[str, Any]) -> None:
    run(case, people, "guest")


@schema.parametrize()
@BOUNDED
def test_every_operation_as_an_identified_person(case: Any, people: dict[str, Any]) -> None:
    run(case, people, "identified")
