"""Redis fails while users chat: restarted (losing everything in it), or flushed.

Each test starts a private redis-server on a free loopback port and points two real desk servers
(and, for emails, a real Celery worker and beat) at it, then kills or flushes that server. The
machine's own Redis is never touched.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults.clients import Follower, rest, wait_for
from tests.faults.mail import Mailbag, email_settings, email_statuses
from tests.faults.private import PrivateRedis, private_redis
from tests.live import LiveDesk, live_desk

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

USERS = ["ann", "ben", "cid", "dee"]
# Between rounds of posts (one per user) while Redis fails.
PAUSE = 0.1
DOWN_FOR = 2.0
CATCH_UP_TIMEOUT = 30.0


def chat_path(desk: LiveDesk, who: str) -> str:
    return f"/ws/support_chat/{desk.chats[who]}/"


def persisted_ids(desk: LiveDesk, who: str) -> list[str]:
    """The chat's messages as the database has them, oldest first."""
    answer = rest(desk.a, "GET", "/api/support_chat/messages?limit=200", desk.cookies[who])
    assert answer.status == 200, answer
    assert not answer.body["has_more"]
    return [message["id"] for message in answer.body["messages"]]


@dataclass
class Posts:
    """What users posted over REST: every answer's status, and the ids of the messages created."""

    statuses: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    during_outage: int = 0

    def round(self, desk: LiveDesk, phase: str, *, outage: threading.Event | None = None) -> None:
        """Every user posts one message, the posts alternating between the servers."""
        for n, who in enumerate(USERS):
            answer = rest(
                desk.servers[n % 2], "POST", "/api/support_chat/messages", desk.cookies[who],
                {"content": f"{phase} from {who}"},
            )  # fmt: skip
            self.statuses.append(answer.status)
            self.during_outage += outage is not None and outage.is_set()
            if answer.status == 201:
                self.ids.append(answer.body["id"])

    def until(self, desk: LiveDesk, done: threading.Event, outage: threading.Event) -> None:
        while not done.is_set():
            self.round(desk, "during", outage=outage)
            time.sleep(PAUSE)


async def test_a_redis_restart_loses_no_message_and_sockets_catch_up_without_gaps(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    with (
        private_redis(tmp_path) as redis_server,
        live_desk(
            tmp_path,
            users=USERS,
            env={"REDIS_URL": redis_server.url, "DESK_MESSAGES_PER_MINUTE": "1000"},
        ) as desk,
    ):
        await _chat_through_a_restart(desk, redis_server, figures)


async def _chat_through_a_restart(
    desk: LiveDesk, redis_server: PrivateRedis, figures: Callable[..., None]
) -> None:
    # Each chat is followed twice (its user's widget), once from each server.
    followers = {
        (who, n): Follower(
            servers=[desk.servers[(i + n) % 2], desk.servers[(i + n + 1) % 2]],
            path=chat_path(desk, who),
            cookie=desk.cookies[who],
        )
        for i, who in enumerate(USERS)
        for n in range(2)
    }
    tasks = [asyncio.create_task(follower.run()) for follower in followers.values()]
    posts = Posts()
    socket_sent = 0

    async def all_connected() -> None:
        async with asyncio.timeout(CATCH_UP_TIMEOUT):
            await asyncio.gather(*(f.connected.wait() for f in followers.values()))

    try:
        await all_connected()
        for phase in range(3):
            await asyncio.to_thread(posts.round, desk, f"before {phase}")
        for (who, n), follower in followers.items():
            socket_sent += await follower.send(f"socket before from {who} {n}")

        # Redis goes away while users keep posting, before, during and after the outage.
        done, outage = threading.Event(), threading.Event()
        poster = asyncio.create_task(asyncio.to_thread(posts.until, desk, done, outage))
        await asyncio.sleep(PAUSE * 5)
        await asyncio.to_thread(redis_server.restart, down_for=DOWN_FOR, outage=outage)
        await asyncio.sleep(PAUSE * 5)
        done.set()
        await poster

        await all_connected()
        for (who, n), follower in followers.items():
            socket_sent += await follower.send(f"socket after from {who} {n}")
        # Socket messages may still be on their way to the database.
        stored: dict[str, list[str]] = {}
        deadline = time.monotonic() + CATCH_UP_TIMEOUT
        while sum(map(len, stored.values())) < len(posts.ids) + socket_sent:
            assert time.monotonic() < deadline, "messages sent were not all stored"
            stored = {who: await asyncio.to_thread(persisted_ids, desk, who) for who in USERS}
        caught_up = await wait_for(
            lambda: all(f.ordered_ids() == stored[who] for (who, _), f in followers.items()),
            CATCH_UP_TIMEOUT,
            "every socket has every stored message, in order",
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    all_stored = [message for ids in stored.values() for message in ids]
    figures(
        redis_restarts=redis_server.restarts,
        down_s=DOWN_FOR,
        rest_posts=len(posts.statuses),
        rest_posts_while_down=posts.during_outage,
        rest_201=posts.statuses.count(201),
        socket_sent=socket_sent,
        persisted=len(all_stored),
        sockets=len(followers),
        socket_drops=sum(f.drops for f in followers.values()),
        delivered=sum(len(f.messages) for f in followers.values()),
        expected_deliveries=2 * len(all_stored),
        duplicates=sum(f.duplicates for f in followers.values()),
        caught_up_s=round(caught_up, 1),
    )
    assert redis_server.restarts == 1
    assert posts.during_outage > 0
    assert set(posts.statuses) == {201}
    assert set(posts.ids) <= set(all_stored)
    assert len(all_stored) == len(set(all_stored)) == len(posts.ids) + socket_sent
    assert sum(f.duplicates for f in followers.values()) == 0


# --- Reply emails pending in a Redis that is flushed ---------------------------------------------

EMAIL_USERS = [f"reader{n:02d}" for n in range(20)]
EMAIL_TIMEOUT = 60.0
# After the last email, how long to keep watching for a late duplicate (many sweep intervals).
QUIET_FOR = 5.0


def reply_to(desk: LiveDesk, who: str) -> None:
    answer = rest(
        desk.servers[len(who) % 2], "POST", f"/api/admin/chats/{desk.chats[who]}/messages",
        desk.cookies["support"], {"content": f"Thanks {who}, we are on it."},
    )  # fmt: skip
    assert answer.status == 201, answer


async def test_reply_emails_pending_in_a_flushed_redis_are_all_sent_once(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    outbox = tmp_path / "emails"
    with (
        private_redis(tmp_path) as redis_server,
        live_desk(
            tmp_path,
            users=EMAIL_USERS,
            admins=["support"],
            env={"REDIS_URL": redis_server.url, **email_settings(outbox)},
        ) as desk,
    ):
        flushes = 0
        # Half the replies while no worker runs: their tasks wait in Redis, and are flushed.
        waiting, held = EMAIL_USERS[:10], EMAIL_USERS[10:]
        for who in waiting:
            await asyncio.to_thread(reply_to, desk, who)
        queued = await asyncio.to_thread(queue_length, redis_server, desk)
        await asyncio.to_thread(redis_server.client().flushall)
        flushes += 1
        # The other half while a worker runs: it holds their countdowns in memory, and Redis
        # (their unacknowledged copies with it) is flushed under it.
        desk.start_worker()
        desk.start_beat()
        await wait_for(lambda: worker_ready(desk), EMAIL_TIMEOUT, "the worker is ready")
        for who in held:
            await asyncio.to_thread(reply_to, desk, who)
        await wait_for(
            lambda: queue_length(redis_server, desk) == 0, EMAIL_TIMEOUT, "the worker took them"
        )
        await asyncio.to_thread(redis_server.client().flushall)
        flushes += 1

        took = await wait_for(
            lambda: Mailbag.of(outbox).emails >= len(EMAIL_USERS), EMAIL_TIMEOUT, "every email sent"
        )
        await asyncio.sleep(QUIET_FOR)
        sent = Mailbag.of(outbox)
        statuses = await asyncio.to_thread(email_statuses, desk)

    figures(
        flushes=flushes,
        tasks_flushed_from_queue=queued,
        emails_due=len(EMAIL_USERS),
        emails_sent=sent.emails,
        emails_duplicated=sent.duplicated,
        records=dict(statuses),
        all_sent_within_s=round(took, 1),
    )
    assert queued == len(waiting)
    assert sent.recipients == {f"{who}@example.com": 1 for who in EMAIL_USERS}
    assert statuses == {"sent": len(EMAIL_USERS)}


def queue_length(redis_server: PrivateRedis, desk: LiveDesk) -> int:
    client = redis_server.client()
    try:
        return int(client.llen(desk.env["DESK_CELERY_QUEUE"]))
    finally:
        client.close()


def worker_ready(desk: LiveDesk, name: str = "worker") -> bool:
    log = desk.workdir / f"{name}.log"
    return log.exists() and b" ready." in log.read_bytes()


# --- Sockets open on a Redis that is flushed ------------------------------------------------------


async def test_sockets_on_a_flushed_redis_are_closed_and_catch_up_without_gaps(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    # A flush breaks no connection: without a check, the sockets would stay open and hear nothing.
    with (
        private_redis(tmp_path) as redis_server,
        live_desk(tmp_path, users=USERS, env={"REDIS_URL": redis_server.url}) as desk,
    ):
        followers = {
            who: Follower(servers=[desk.servers[i % 2]], path=chat_path(desk, who),
                          cookie=desk.cookies[who])
            for i, who in enumerate(USERS)
        }  # fmt: skip
        tasks = [asyncio.create_task(follower.run()) for follower in followers.values()]
        posts = Posts()
        try:
            async with asyncio.timeout(CATCH_UP_TIMEOUT):
                await asyncio.gather(*(f.connected.wait() for f in followers.values()))
            await asyncio.to_thread(posts.round, desk, "before")
            await asyncio.to_thread(redis_server.client().flushall)
            for phase in range(3):
                await asyncio.to_thread(posts.round, desk, f"after {phase}")
            stored = {who: await asyncio.to_thread(persisted_ids, desk, who) for who in USERS}
            caught_up = await wait_for(
                lambda: all(f.ordered_ids() == stored[who] for who, f in followers.items()),
                CATCH_UP_TIMEOUT,
                "every socket has every stored message, in order",
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    figures(
        rest_posts=len(posts.statuses),
        persisted=sum(map(len, stored.values())),
        sockets=len(followers),
        socket_drops=sum(f.drops for f in followers.values()),
        duplicates=sum(f.duplicates for f in followers.values()),
        caught_up_s=round(caught_up, 1),
    )
    assert set(posts.statuses) == {201}
    assert sum(f.drops for f in followers.values()) >= len(followers)
    assert sum(f.duplicates for f in followers.values()) == 0
