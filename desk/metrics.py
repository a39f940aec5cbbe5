"""Prometheus metrics at `/metrics` (prometheus-client), for a token holder only.

`/metrics` answers 404 until DESK_METRICS_TOKEN is set, then only a request carrying
`Authorization: Bearer <token>`; like the health checks it is answered before Django (any Host,
no session, unlogged). What each process counts:

- `desk_http_requests_total{route,method,status}`: HTTP requests answered, by URL pattern (not
  path: ids stay out of labels); `desk_http_request_duration_seconds{route,method}`: their
  duration, from the request's arrival to its last byte;
- `desk_websockets_open`: sockets open now;
- `desk_events_sent_total`, `desk_events_dropped_total`: events handed to the channel layer (one
  per group and event), and those it dropped (a full channel: docs/reliability.md);
- `desk_messages_stored_total{sender_type}`: chat messages stored (user, admin);
- `desk_emails_total{kind,outcome}`: the workers' email attempts (sent, failed, retry, cancelled);
- `desk_celery_queue_depth`: tasks waiting in desk's Celery queue (asked of Redis at each scrape).

With several processes per host (WEB_CONCURRENCY, the Celery worker's), set
PROMETHEUS_MULTIPROC_DIR to an empty directory they share, as prometheus-client's multiprocess
mode asks: `/metrics` then sums them all, the workers' email counts included. Without it, each web
process answers for itself, and the workers' counts are not exposed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import redis
from django.conf import settings
from django.urls import Resolver404, resolve
from django.utils.crypto import constant_time_compare
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from desk.health import UNCACHED
from desk.redis_client import sync_redis
from desk.runtime.threadpool import answer

logger = logging.getLogger(__name__)

PATH = "/metrics"
PLAIN = b"text/plain; charset=utf-8"
# Requests about the process itself are not counted among the application's.
UNCOUNTED = {PATH, "/healthz", "/readyz"}

HTTP_REQUESTS = Counter(
    "desk_http_requests", "HTTP requests answered.", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "desk_http_request_duration_seconds",
    "HTTP requests' duration, from arrival to the last byte.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKETS_OPEN = Gauge("desk_websockets_open", "Websockets open now.", multiprocess_mode="livesum")
EVENTS_SENT = Counter("desk_events_sent", "Events handed to the channel layer.")
EVENTS_DROPPED = Counter("desk_events_dropped", "Events the channel layer dropped.")
MESSAGES_STORED = Counter("desk_messages_stored", "Chat messages stored.", ["sender_type"])
EMAILS = Counter("desk_emails", "Email attempts by the workers.", ["kind", "outcome"])


def _queue_depth() -> GaugeMetricFamily:
    return GaugeMetricFamily("desk_celery_queue_depth", "Tasks waiting in desk's Celery queue.")


class QueueDepth(Collector):
    """Tasks waiting in desk's Celery queue, asked of the broker when Prometheus scrapes."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # What the registry asks at registration (at import): the name, without asking Redis.
        yield _queue_depth()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = _queue_depth()
        try:
            # The broker is REDIS_URL's Redis (CELERY_BROKER_URL is its kombu spelling).
            waiting = sync_redis().llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        except redis.RedisError as error:
            logger.warning("metrics: the Celery queue's depth is unknown: %r", error)
            return
        depth.add_metric([], float(waiting))
        yield depth


def message_stored(sender: Any, *, message: Any, **kwargs: Any) -> None:
    """On chats' `message_created` (sent once the message is committed)."""
    MESSAGES_STORED.labels(str(message.sender_type)).inc()


_QUEUE_DEPTH = QueueDepth()
REGISTRY.register(_QUEUE_DEPTH)


def exposition() -> bytes:
    """Every metric in Prometheus's text format: this process's, or the host's (multiprocess)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    registry.register(_QUEUE_DEPTH)
    return generate_latest(registry)


def route_of(path: str) -> str:
    """The URL pattern a path matches (`api/admin/chats/<uuid:chat_id>`), or `unmatched`."""
    try:
        match = resolve(path)
    except Resolver404:
        return "unmatched"
    return match.route or "unmatched"


class Metrics:
    """ASGI middleware: serves `/metrics`, and times and counts every other HTTP request."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == PATH:
            await self.serve(scope, send)
            return
        if path in UNCOUNTED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def counted(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            route, method = route_of(path), scope.get("method", "")
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)

    async def serve(self, scope: dict[str, Any], send: Any) -> None:
        token = settings.DESK_METRICS_TOKEN
        if not token:
            await answer(send, 404, b"Not found.", PLAIN)
            return
        offered = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        if not constant_time_compare(offered, f"Bearer {token}"):
            challenge = [(b"www-authenticate", b'Bearer realm="desk metrics"')]
            await answer(send, 401, b"A bearer token is required.", PLAIN, challenge)
            return
        # Off the event loop: the queue's depth is a Redis round trip.
        body = await asyncio.to_thread(exposition)
        await answer(send, 200, body, CONTENT_TYPE_LATEST.encode(), [UNCACHED])
