"""The answers desk gives while its database is out of reach, checked in-process and fast.

tests/faults/test_postgres.py proves them against a real PostgreSQL that is stopped and started;
these run everywhere (also where no PostgreSQL server binaries are installed), with the database
error raised at the service, where a dropped connection surfaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from chats import services
from desk.middleware import DatabaseUnavailableMiddleware

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_the_api_answers_503_with_retry_after_when_the_database_is_unreachable(
    api: Callable[..., Any], user: Any, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    def unreachable(**kwargs: Any) -> None:
        raise error('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(services, "user_message_post", unreachable)
    answer = api(user).post("/support_chat/messages", {"content": "Anyone there?"})
    assert answer.status_code == 503
    assert answer.json() == {
        "detail": "The service is briefly unavailable; try again in a few seconds."
    }
    assert answer["Retry-After"] == "5"


def test_a_page_answers_a_plain_503_with_retry_after_when_the_database_is_unreachable() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(
        RequestFactory().get("/desk/"), OperationalError("the database system is shutting down")
    )
    assert response is not None
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response["Content-Type"].startswith("text/plain")
    assert b"briefly unavailable" in response.content


def test_other_database_errors_are_not_disguised_as_an_outage() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    assert middleware.process_exception(RequestFactory().get("/"), IntegrityError("dup")) is None
