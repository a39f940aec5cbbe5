"""One table of errors (chats.errors), and every edge answering an error from it the same way:
REST, the dashboard's pages, the sockets, the pages' 503 and the request thread pool's 503."""

# The sockets here open through tests/realtime's `ws` fixture, imported below, which the tests'
# `ws` parameters name again.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import Client, RequestFactory

from chats import services
from chats.errors import (
    DeskError,
    ErrorCode,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
    as_desk_error,
)
from chats.models import SupportChat
from chats.realtime.sockets import SocketError
from desk.middleware import DatabaseUnavailableMiddleware
from tests.desk.test_threadpool import Client as AsgiClient
from tests.desk.test_threadpool import pool
from tests.realtime.conftest import (  # noqa: F401 (own_redis_namespace and ws: fixtures)
    ADMIN_PATH,
    OpenSocket,
    chat_path,
    own_redis_namespace,
    ws,
)

UNREACHABLE = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


def every_desk_error() -> Iterator[type[DeskError]]:
    pending: list[type[DeskError]] = [DeskError]
    while pending:
        kind = pending.pop()
        yield kind
        pending.extend(kind.__subclasses__())


def browser(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


def unreachable_database(**kwargs: Any) -> Any:
    raise OperationalError(UNREACHABLE)


# --- The table ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(every_desk_error()), ids=lambda kind: kind.__name__)
def test_every_desk_error_has_an_http_status_and_a_socket_code(kind: type[DeskError]) -> None:
    assert 400 <= kind.status < 600
    assert kind.code in set(ErrorCode)


def test_the_table_gives_each_error_its_own_status() -> None:
    statuses = {
        kind.__name__: kind.status
        for kind in (
            InvalidInputError,
            PermissionDeniedError,
            NotFoundError,
            RateLimitedError,
            UnavailableError,
        )
    }
    assert statuses == {
        "InvalidInputError": 422,
        "PermissionDeniedError": 403,
        "NotFoundError": 404,
        "RateLimitedError": 429,
        "UnavailableError": 503,
    }


def test_refusals_carry_the_close_code_that_ends_a_socket() -> None:
    assert (NotFoundError.close_code, PermissionDeniedError.close_code) == (4404, 4403)
    assert InvalidInputError.close_code is None


def test_a_sockets_frame_errors_are_rows_of_the_same_table() -> None:
    assert SocketError in set(every_desk_error())


def test_a_rate_limit_is_retried_after_whole_seconds_rounded_up() -> None:
    assert RateLimitedError("Slow down.", retry_after=2.2).retry_after_header == "3"


@pytest.mark.parametrize("kind", [OperationalError, InterfaceError])
def test_the_translator_makes_an_unreachable_database_a_503_with_retry_after(
    kind: type[Exception],
) -> None:
    error = as_desk_error(kind(UNREACHABLE))
    assert isinstance(error, UnavailableError)
    assert (error.status, error.code, error.retry_after_header) == (503, "unavailable", "5")


def test_the_translator_gives_a_desk_error_back_as_itself() -> None:
    error = NotFoundError("No such chat.")
    assert as_desk_error(error) is error


@pytest.mark.parametrize("exc", [IntegrityError("duplicate key"), RuntimeError("bug")])
def test_the_translator_leaves_other_exceptions_to_be_bugs(exc: Exception) -> None:
    assert as_desk_error(exc) is None


# --- Not found: 404 over REST and on the dashboard, `not_found` on a socket ----------------------


@pytest.mark.django_db
def test_a_missing_chat_is_404_over_rest(api: Callable[..., Any], admin: Any) -> None:
    answer = api(admin).get(f"/admin/chats/{uuid.uuid4()}")
    assert answer.status_code == NotFoundError.status
    assert answer.json() == {"detail": "No such chat."}


@pytest.mark.django_db
def test_a_missing_chat_is_404_on_the_dashboard(admin: Any) -> None:
    answer = browser(admin).get(f"/desk/chats/{uuid.uuid4()}/")
    assert answer.status_code == NotFoundError.status


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_missing_chat_is_not_found_on_a_socket(
    ws: OpenSocket, admin: Any, chat: SupportChat
) -> None:
    console = await ws(chat_path(chat.id), admin)
    await database_sync_to_async(SupportChat.objects.filter(id=chat.id).delete)()
    await console.send(action="viewed")
    event = await console.event()
    assert (event["code"], event["detail"]) == (NotFoundError.code, "No such chat.")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_someone_elses_chat_refuses_the_socket_with_the_tables_close_code(
    ws: OpenSocket, other_user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), other_user)
    assert await socket.close_code() == NotFoundError.close_code


# --- Forbidden: 403 over REST and on the dashboard, 4403 for a socket ----------------------------


@pytest.mark.django_db
def test_a_non_admin_is_403_over_rest(api: Callable[..., Any], user: Any) -> None:
    assert api(user).get("/admin/chats").status_code == PermissionDeniedError.status


@pytest.mark.django_db
def test_a_non_admin_is_403_on_the_dashboard(user: Any) -> None:
    assert browser(user).get("/desk/").status_code == PermissionDeniedError.status


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_non_admin_is_refused_the_dashboard_socket_with_the_tables_close_code(
    ws: OpenSocket, user: Any
) -> None:
    socket = await ws(ADMIN_PATH, user)
    assert await socket.close_code() == PermissionDeniedError.close_code


# --- Invalid input: 422 over REST and on the dashboard, `invalid` on a socket --------------------


@pytest.mark.django_db
def test_an_empty_message_is_422_over_rest_naming_the_field(
    api: Callable[..., Any], user: Any
) -> None:
    answer = api(user).post("/support_chat/messages", {"content": "   "})
    assert answer.status_code == InvalidInputError.status
    [problem] = answer.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["body", "content"], "invalid")


@pytest.mark.django_db
def test_an_empty_reply_is_422_on_the_dashboard(admin: Any, chat: SupportChat) -> None:
    answer = browser(admin).post(f"/desk/chats/{chat.id}/reply", {"content": "   "})
    assert answer.status_code == InvalidInputError.status


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_empty_message_is_invalid_on_a_socket_naming_the_field(
    ws: OpenSocket, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="   ")
    event = await socket.event()
    assert (event["code"], event["field"]) == (InvalidInputError.code, "content")


# --- Unavailable: 503 with Retry-After everywhere ------------------------------------------------


@pytest.mark.django_db
def test_an_unreachable_database_is_503_with_retry_after_over_rest(
    api: Callable[..., Any], user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "user_message_post", unreachable_database)
    answer = api(user).post("/support_chat/messages", {"content": "Anyone there?"})
    assert (answer.status_code, answer["Retry-After"]) == (503, "5")
    assert answer.json() == {"detail": UnavailableError().detail}


@pytest.mark.django_db
def test_an_unreachable_database_is_503_with_retry_after_on_the_dashboard(
    admin: Any, chat: SupportChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "admin_reply_post", unreachable_database)
    answer = browser(admin).post(f"/desk/chats/{chat.id}/reply", {"content": "On it"})
    assert (answer.status_code, answer["Retry-After"]) == (503, "5")
    assert answer.content.decode() == UnavailableError().detail


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_unreachable_database_is_unavailable_with_retry_after_on_a_socket(
    ws: OpenSocket, user: Any, chat: SupportChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "user_message_post", unreachable_database)
    socket = await ws(chat_path(chat.id), user)
    await socket.send(action="send_message", content="Anyone there?")
    event = await socket.event()
    assert (event["code"], event["retry_after"]) == ("unavailable", 5)
    assert event["detail"] == UnavailableError().detail


@pytest.mark.asyncio
async def test_busy_request_threads_answer_the_same_503_as_an_unreachable_database() -> None:
    release = threading.Event()

    async def held(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await sync_to_async(release.wait)()

    app = pool(held, threads=1, thread_wait=0.1)
    busy, late = AsgiClient(), AsgiClient()
    holding = asyncio.create_task(app(busy.scope(), busy.receive, busy.send))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(app(late.scope(), late.receive, late.send), timeout=5)
    release.set()
    await holding
    assert (late.status, late.response_headers[b"retry-after"]) == (503, b"5")
    assert json.loads(late.sent[1]["body"]) == {"detail": UnavailableError().detail}


# --- A page that lets a known error through -------------------------------------------------------


def test_a_page_that_lets_a_desk_error_through_answers_its_status_not_500() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    answer = middleware.process_exception(
        RequestFactory().get("/unsubscribe/"), NotFoundError("No such subscription.")
    )
    assert answer is not None
    assert (answer.status_code, answer.content) == (404, b"No such subscription.")
