"""CPU time spent by each part of the stack while a scenario runs.

Wall-clock latency on a shared machine moves with everyone else's load; CPU time per message
does not, and it says what bounds the throughput: two cores divided by the CPU one message costs
across the servers, PostgreSQL, Redis and the load generator is the most any rate can reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil
import redis
from django.db import connection, connections

from tests.live import LiveDesk


@dataclass(frozen=True)
class Snapshot:
    servers: float
    postgres: dict[int, float]
    redis: float
    loadgen: float


def _closing_connections[T](read: Callable[[], T]) -> T:
    # Run in a throwaway thread from the event loop: its database connection must not outlive it
    # (an open session keeps the test database from being dropped).
    try:
        return read()
    finally:
        connections.close_all()


def _cpu_seconds(process: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        times = process.cpu_times()
        return float(times.user + times.system)
    return 0.0


class CpuMeter:
    """Reads the CPU seconds of the desk's processes, its database's backends and Redis."""

    def __init__(self, desk: LiveDesk) -> None:
        self.servers = {server.name: psutil.Process(server.process.pid) for server in desk.servers}
        # A desk on SQLite and its embedded Redis (the quick start) names neither: its own
        # scenario counts their CPU by process instead (bench/quickstart.py).
        self.database = urlsplit(desk.env.get("DATABASE_URL", "sqlite:")).path.lstrip("/")
        self.redis = None
        if "REDIS_URL" in desk.env:
            client = redis.Redis.from_url(desk.env["REDIS_URL"])
            try:
                self.redis = psutil.Process(int(client.info("server")["process_id"]))
            except (psutil.Error, redis.RedisError):
                self.redis = None
            finally:
                client.close()
        self.me = psutil.Process(os.getpid())

    def _postgres(self) -> dict[int, psutil.Process]:
        if connection.vendor != "postgresql" or not self.database:
            return {}
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database])
            pids = [row[0] for row in cursor.fetchall()]
        found = {}
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                found[pid] = psutil.Process(pid)
        return found

    def snapshot(self) -> Snapshot:
        backends = self._postgres()
        return Snapshot(
            servers=sum(_cpu_seconds(p) for p in self.servers.values()),
            postgres={pid: _cpu_seconds(p) for pid, p in backends.items()},
            redis=_cpu_seconds(self.redis) if self.redis else 0.0,
            loadgen=_cpu_seconds(self.me),
        )

    async def snapshot_async(self) -> Snapshot:
        return await asyncio.to_thread(_closing_connections, self.snapshot)

    async def per_message_ms_async(self, before: Snapshot, messages: int) -> dict[str, float]:
        return await asyncio.to_thread(
            _closing_connections, lambda: self.per_message_ms(before, messages)
        )

    def per_message_ms(self, before: Snapshot, messages: int) -> dict[str, float]:
        """CPU milliseconds per message since `before`, by part of the stack.

        PostgreSQL counts the backends serving the desk's database that were there before and
        after (the servers' pools keep theirs); Redis is the whole server, shared with whatever
        else uses it on this machine.
        """
        after = self.snapshot()
        parts = {
            "servers": after.servers - before.servers,
            "postgres": sum(
                seconds - before.postgres[pid]
                for pid, seconds in after.postgres.items()
                if pid in before.postgres
            ),
            "redis": after.redis - before.redis,
            "loadgen": after.loadgen - before.loadgen,
        }
        per = {k: round(v * 1000 / max(messages, 1), 2) for k, v in parts.items()}
        per["total"] = round(sum(per.values()), 2)
        return per
