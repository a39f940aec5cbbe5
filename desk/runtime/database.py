"""The websocket consumers' database work, on a bounded pool of threads instead of one.

channels' `database_sync_to_async` is asgiref's `sync_to_async` with `thread_sensitive=True`:
outside a request, every call of a process goes to one shared thread. Under load (500 users
sending over their sockets) each process's socket messages queued behind one another there,
one database round trip at a time, and send -> dashboard latency grew to seconds while the
cores idled.

Here the same calls run on a pool of DESK_SOCKET_DATABASE_THREADS threads per process. Django's
connections are per thread, so that bounds the process's socket connections too (with
PostgreSQL they come from the same pool as the request threads', DATABASE_POOL_MAX). Nothing the
consumers run needs a particular thread: each call is one service or selector, a transaction of
its own, and the chat's row lock orders concurrent writers, as it does for REST requests on the
request threads. Stale connections are closed before and after each call, as channels does.
SQLite lets one writer in at a time, so there the default is one thread: channels' own.

Written against channels 4.3.2 (`DatabaseSyncToAsync`) and asgiref 3.13.0 (`SyncToAsync`'s
`executor`); guarded by tests/realtime/test_socket_database.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import DatabaseSyncToAsync

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The process's pool, made on first use (after the settings, and after any fork)."""
    global _executor
    with _lock:
        if _executor is None:
            from django.conf import settings

            _executor = ThreadPoolExecutor(
                max_workers=settings.DESK_SOCKET_DATABASE_THREADS,
                thread_name_prefix="desk-socket-db",
            )
        return _executor


def database_sync_to_async(func: Callable[..., Any]) -> DatabaseSyncToAsync:
    """channels' `database_sync_to_async`, run on the pool above; with one thread (SQLite's
    default), on the process's one shared thread, exactly as channels runs it."""
    from django.conf import settings

    if settings.DESK_SOCKET_DATABASE_THREADS == 1:
        return DatabaseSyncToAsync(func)
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=executor())
