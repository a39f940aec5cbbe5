"""The physical floor under a message's fan-out, measured in the same run on the same services.

Whatever desk does, a delivered message costs at least one durable write (an INSERT and its COMMIT
on the same PostgreSQL) and one trip through Redis (a PUBLISH until a subscriber receives it).
Their sum is the floor the fan-out latency is compared with; the ratio holds on a noisy machine
because both sides see the same noise.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from bench.clients import summary

CHANNEL = "desk-bench-floor"


async def redis_round_trips(count: int) -> list[float]:
    """PUBLISH -> a subscriber's receipt, one at a time, in milliseconds."""
    from redis.asyncio import Redis

    publisher = Redis.from_url(settings.REDIS_URL)
    subscriber = Redis.from_url(settings.REDIS_URL)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(CHANNEL)
    await pubsub.get_message(timeout=5)  # the subscription's confirmation
    samples = []
    try:
        for n in range(count):
            start = time.perf_counter()
            await publisher.publish(CHANNEL, f"floor {n}")
            while (await pubsub.get_message(timeout=5)) is None:
                pass
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        await pubsub.aclose()
        await publisher.aclose()
        await subscriber.aclose()
    return samples


def insert_commits(count: int) -> list[float]:
    """One small INSERT and its COMMIT, one at a time, in milliseconds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS desk_bench_floor (id integer PRIMARY KEY, body text)"
        )
        cursor.execute("DELETE FROM desk_bench_floor")
    samples = []
    for n in range(count):
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO desk_bench_floor VALUES (%s, %s)", [n, "floor"])
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def measure(count: int) -> dict[str, Any]:
    pubsub = summary(asyncio.run(redis_round_trips(count)))
    insert = summary(insert_commits(count))
    return {
        "redis_pubsub": pubsub,
        "insert_commit": insert,
        "p50_ms": round(pubsub["p50_ms"] + insert["p50_ms"], 2),
        "p99_ms": round(pubsub["p99_ms"] + insert["p99_ms"], 2),
    }
