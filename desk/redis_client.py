"""The process's synchronous Redis client for REDIS_URL, shared by what asks Redis outside the
event loop: access changes (chats/access.py), the sweep's heartbeat and check_workers
(notifications/heartbeat.py), and /metrics' queue depth (desk/metrics.py).

redis-py's pool is thread-safe; a command waits at most 2 s for Redis. One per URL, so that a test
pointing REDIS_URL at a private Redis gets a client of its own.
"""

from __future__ import annotations

import redis
from django.conf import settings

TIMEOUT = 2

_clients: dict[str, redis.Redis] = {}


def sync_redis() -> redis.Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
    return client
