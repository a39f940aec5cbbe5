"""The sockets' database work runs on a bounded pool of threads (desk/runtime/database.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings

from desk.runtime import database
from tests.settings_env import FreshDesk

PRODUCTION = {"SECRET_KEY": "desk-tests-only-not-a-secret"}


@pytest.fixture
def three_threads() -> Iterator[None]:
    # The pool is made on first use from the setting; a fresh one here, and the usual one after.
    previous = database._executor
    database._executor = None
    with override_settings(DESK_SOCKET_DATABASE_THREADS=3):
        yield
    database.executor().shutdown(wait=True)
    database._executor = previous


@pytest.mark.asyncio
async def test_socket_database_calls_run_side_by_side(three_threads: None) -> None:
    # Each call waits until all three are running: on one shared thread they never would be.
    everyone_in = threading.Barrier(3, timeout=5)
    await asyncio.gather(*(database.database_sync_to_async(everyone_in.wait)() for _ in range(3)))


@pytest.mark.asyncio
async def test_socket_database_calls_beyond_the_pool_wait_for_a_thread(three_threads: None) -> None:
    lock = threading.Lock()
    running = 0
    most = 0

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.1)
        with lock:
            running -= 1

    await asyncio.gather(*(database.database_sync_to_async(work)() for _ in range(8)))
    assert most == 3


def test_socket_database_threads_default_to_four_on_postgresql(fresh_desk: FreshDesk) -> None:
    loaded = fresh_desk.settings(**PRODUCTION, DATABASE_URL="postgres://desk@db.example/desk")
    assert loaded["DESK_SOCKET_DATABASE_THREADS"] == 4


def test_socket_database_threads_default_to_one_on_sqlite(fresh_desk: FreshDesk) -> None:
    # SQLite lets one writer in at a time.
    loaded = fresh_desk.settings(**PRODUCTION, DATABASE_URL="sqlite:////tmp/desk-threads.sqlite3")
    assert loaded["DESK_SOCKET_DATABASE_THREADS"] == 1


def test_socket_database_threads_come_from_the_environment(fresh_desk: FreshDesk) -> None:
    loaded = fresh_desk.settings(**PRODUCTION, DESK_SOCKET_DATABASE_THREADS="8")
    assert loaded["DESK_SOCKET_DATABASE_THREADS"] == 8
