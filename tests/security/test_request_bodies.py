"""Bodies the JSON endpoints do not take get a 413 or 415 in the API's error shape, never a 500.

A multipart body posted with a session and its CSRF token was read as form fields by the CSRF
check, leaving nothing for the JSON parser (500; under DEBUG, a traceback). A JSON body over
DATA_UPLOAD_MAX_MEMORY_SIZE was Django's HTML 400 page (DEBUG: ninja's 500 traceback). Each case
runs with DEBUG off and on. Real servers refuse oversized bodies earlier still: see
test_slow_clients.py and tests/desk/test_threadpool.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from chats.models import SupportMessage

USER_POST = "/api/support_chat/messages"


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.fixture
def widget(user: Any, debug: bool) -> tuple[Client, str]:
    """The user's browser with CSRF enforced, as a real one is, and its CSRF token."""
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    browser.force_login(user)
    browser.get("/api/support_chat")
    return browser, browser.cookies["csrftoken"].value


def assert_refused(response: Any, status: int) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert isinstance(response.json()["detail"], str)
    assert not SupportMessage.objects.exists()


def test_a_multipart_body_is_refused_with_415(widget: tuple[Client, str]) -> None:
    browser, token = widget
    response = browser.post(USER_POST, {"content": "hi"}, headers={"X-CSRFToken": token})
    assert_refused(response, 415)


def test_a_form_encoded_body_is_refused_with_415(widget: tuple[Client, str]) -> None:
    browser, token = widget
    response = browser.post(
        USER_POST,
        "content=hi",
        content_type="application/x-www-form-urlencoded",
        headers={"X-CSRFToken": token},
    )
    assert_refused(response, 415)


def test_a_json_body_with_another_content_type_is_refused_with_415(
    widget: tuple[Client, str],
) -> None:
    browser, token = widget
    response = browser.post(
        USER_POST,
        json.dumps({"content": "hi"}),
        content_type="text/plain",
        headers={"X-CSRFToken": token},
    )
    assert_refused(response, 415)


def test_a_json_body_over_the_upload_limit_is_refused_with_413(
    widget: tuple[Client, str], settings: Any
) -> None:
    browser, token = widget
    body = json.dumps({"content": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = browser.post(
        USER_POST, body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert_refused(response, 413)


def test_a_json_body_with_a_charset_parameter_is_accepted(widget: tuple[Client, str]) -> None:
    browser, token = widget
    response = browser.post(
        USER_POST,
        json.dumps({"content": "hi"}),
        content_type="application/json; charset=utf-8",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201, response.content[:300]


def test_an_operation_without_a_body_ignores_a_form_body(
    admin: Any, chat: Any, debug: bool
) -> None:
    # The dashboard's archive button could post a form: the operation reads no body, so none is
    # refused.
    browser = Client()
    browser.force_login(admin)
    response = browser.post(f"/api/admin/chats/{chat.id}/archive", {"reason": "done"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/support_chat/messages", "post"), ("/api/admin/chats/{chat_id}/messages", "post")],
)
def test_the_posting_operations_document_413_and_415(path: str, method: str) -> None:
    from desk.api import api

    responses = api.get_openapi_schema()["paths"][path][method]["responses"]
    for status in (413, 415):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}
