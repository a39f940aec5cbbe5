"""Request ids in answers and logs, and JSON log lines (desk/logs.py)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from desk.logs import JsonFormatter, RequestIdFilter
from tests.desk.asgi_request import ask
from tests.settings_env import FreshDesk


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What django.request logs, as desk's console handler writes it with LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_each_answer_carries_a_new_request_id(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]

    first = await ask("/accounts/login/", host=b"localhost")
    second = await ask("/accounts/login/", host=b"localhost")

    ids = [first["headers"]["x-request-id"], second["headers"]["x-request-id"]]
    assert all(len(value) == 32 for value in ids)
    assert ids[0] != ids[1]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_id_a_proxy_sent_is_kept(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]

    answer = await ask(
        "/accounts/login/", host=b"localhost", headers=[(b"x-request-id", b"lb-7f3a.42")]
    )

    assert answer["headers"]["x-request-id"] == "lb-7f3a.42"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "offered", [b"x" * 65, b"a b", b"id\r\nSet-Cookie: x=1", "é".encode(), b""]
)
async def test_an_id_that_is_not_a_plain_token_is_replaced(settings: Any, offered: bytes) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]

    answer = await ask("/accounts/login/", host=b"localhost", headers=[(b"x-request-id", offered)])

    assert len(answer["headers"]["x-request-id"]) == 32


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_log_line_written_during_a_request_carries_its_id(
    settings: Any, json_lines: io.StringIO
) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]

    answer = await ask("/no-such-page/", host=b"localhost")

    line = json.loads(json_lines.getvalue().splitlines()[-1])
    assert answer["status"] == 404
    assert line["request_id"] == answer["headers"]["x-request-id"]
    assert line["level"] == "WARNING"
    assert line["logger"] == "django.request"
    assert "/no-such-page/" in line["message"]


def test_a_json_line_carries_the_exception() -> None:
    logger = logging.getLogger("desk.test")
    try:
        raise ValueError("broken")
    except ValueError:
        record = logger.makeRecord("desk.test", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    RequestIdFilter().filter(record)

    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "failed"
    assert line["request_id"] == "-"
    assert "ValueError: broken" in line["exception"]


def test_an_unknown_log_format_stops_start_up(fresh_desk: FreshDesk) -> None:
    started = fresh_desk.start_up(LOG_FORMAT="xml", SECRET_KEY="desk-tests-only-not-a-secret")

    assert started.returncode != 0
    assert "LOG_FORMAT" in started.stderr
