"""/metrics: Prometheus's view of a desk process, for the token holder only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from chats.models import SupportMessage
from tests.desk.asgi_request import ask

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-" + "x" * 32


@pytest.fixture(autouse=True)
def metrics_token(settings: Any) -> None:
    settings.DESK_METRICS_TOKEN = TOKEN


async def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics reports, by name and labels."""
    answer = await ask("/metrics", headers=[(b"authorization", f"Bearer {TOKEN}".encode())])
    assert answer["status"] == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer["body"].decode())
        for sample in family.samples
    }


@pytest.mark.asyncio
async def test_metrics_are_off_without_a_token(settings: Any) -> None:
    settings.DESK_METRICS_TOKEN = ""

    answer = await ask("/metrics", headers=[(b"authorization", b"Bearer ")])

    assert answer["status"] == 404


@pytest.mark.parametrize(
    "authorization",
    [None, b"Bearer wrong", f"Basic {TOKEN}".encode(), f"Bearer {TOKEN}x".encode()],
    ids=["none", "wrong token", "another scheme", "longer token"],
)
@pytest.mark.asyncio
async def test_metrics_need_the_bearer_token(authorization: bytes | None) -> None:
    headers = [] if authorization is None else [(b"authorization", authorization)]

    answer = await ask("/metrics", headers=headers)

    assert answer["status"] == 401
    assert answer["headers"]["www-authenticate"].startswith("Bearer")


@pytest.mark.asyncio
async def test_requests_are_counted_by_route_not_path(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]
    route = "desk/chats/<uuid:chat_id>/"
    key = ("desk_http_requests_total", (("method", "GET"), ("route", route), ("status", "302")))
    before = (await scrape()).get(key, 0.0)

    await ask("/desk/chats/0e6f2c1a-54c3-4d2e-9d51-6a3f0f5b8c11/", host=b"localhost")
    await ask("/desk/chats/1e6f2c1a-54c3-4d2e-9d51-6a3f0f5b8c11/", host=b"localhost")

    assert (await scrape())[key] == before + 2


@pytest.mark.asyncio
async def test_the_celery_queue_depth_is_reported() -> None:
    samples = await scrape()

    assert samples[("desk_celery_queue_depth", ())] >= 0


def test_a_stored_message_is_counted(say: Callable[[str], SupportMessage]) -> None:
    def stored() -> float:
        return REGISTRY.get_sample_value("desk_messages_stored_total", {"sender_type": "user"}) or 0

    before = stored()

    say("Hello?")

    assert stored() == before + 1
