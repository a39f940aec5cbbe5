"""/healthz and /readyz, through desk's whole ASGI application, as a load balancer asks them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import OperationalError

from desk import health
from tests.desk.asgi_request import ask

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_healthz_answers_ok() -> None:
    answer = await ask("/healthz")

    assert answer["status"] == 200
    assert answer["body"] == b"ok"
    assert answer["headers"]["cache-control"] == "no-store"


async def test_readyz_answers_ok_when_the_database_and_redis_answer() -> None:
    answer = await ask("/readyz")

    assert answer["status"] == 200
    assert json.loads(answer["body"]) == {"database": "ok", "redis": "ok"}


async def test_a_load_balancer_asking_by_ip_address_is_answered_whatever_allowed_hosts_say(
    settings: Any,
) -> None:
    settings.ALLOWED_HOSTS = ["desk.example.com"]

    assert (await ask("/healthz", host=b"10.0.3.7"))["status"] == 200
    assert (await ask("/readyz", host=b"10.0.3.7"))["status"] == 200


async def test_readyz_is_503_naming_redis_when_redis_does_not_answer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "desk.runtime.layers.RedisChannelLayer",
            # A port nothing listens on.
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }

    answer = await ask("/readyz")

    assert answer["status"] == 503
    assert answer["headers"]["retry-after"] == "5"
    assert json.loads(answer["body"]) == {"database": "ok", "redis": "unavailable"}


async def test_readyz_is_503_naming_the_database_when_it_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_database_answers", refused)

    answer = await ask("/readyz")

    assert answer["status"] == 503
    assert json.loads(answer["body"]) == {"database": "unavailable", "redis": "ok"}


async def test_a_head_request_gets_the_status_without_a_body() -> None:
    answer = await ask("/readyz", method="HEAD")

    assert answer["status"] == 200
    assert answer["body"] == b""


async def test_other_methods_are_405() -> None:
    answer = await ask("/healthz", method="POST")

    assert answer["status"] == 405
    assert answer["headers"]["allow"] == "GET, HEAD"


async def test_other_paths_still_reach_django(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]

    assert (await ask("/healthz/", host=b"localhost"))["status"] == 404
