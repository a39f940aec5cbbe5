"""desk deployed across hosts, restarted and broken under live chats, loses and repeats nothing.

Six hosts on one switch (tests/hosts/network.py), as docs/deploy.md lays a deployment out:
- `db`: PostgreSQL and Redis (private servers, listening on the host's address only);
- `web1`, `web2`: `python -m desk.web`, each on its own address, port 8000;
- `work`: a Celery worker and the one beat, writing reply emails to files;
- `client`: the people and the staff member, where the test itself runs (widget-like sockets that
  reconnect to the other web host and `sync`, REST posts spread over both web hosts as a load
  balancer would), and Prometheus, scraping both web hosts' /metrics every second.

While everyone chats, web1 and then web2 are restarted gracefully (SIGTERM, started again), then
web1 is killed (SIGKILL) and left dead. Afterwards:
- every message a client was told was stored (201) is stored exactly once, and no message at all
  is stored twice (a post cut off by the kill may or may not have been stored: never twice);
- every person's socket has every message of their chat, and no socket got one twice;
- every reply email that fell due was sent, and each once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults import mail
from tests.faults.clients import Follower, rest, wait_for
from tests.faults.private import postgres_binaries, private_postgres, private_redis
from tests.hosts.network import Host, Unavailable, network
from tests.live import Answer, LiveDesk, Server, seed, spawn, stop, wait_until_listening

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

PEOPLE = [f"p{n:02d}" for n in range(12)]
STAFF = "support"
PORT = 8000
METRICS_TOKEN = "desk-hosts-metrics-token"
SEND_EVERY = 0.5  # seconds between one client's posts
PHASE = 6.0  # seconds of chatting between two disruptions
PATIENCE = 60.0
GRACE = 5  # DESK_GRACEFUL_SHUTDOWN


@dataclass
class WebHost:
    """`python -m desk.web` on a host of its own, as a deployment runs it."""

    host: Host
    env: dict[str, str]
    workdir: Path
    server: Server | None = None
    starts: int = 0

    def start(self) -> Server:
        self.starts += 1
        name = f"{self.host.name}-{self.starts}"
        process = spawn(
            name,
            [sys.executable, "-m", "desk.web"],
            {**self.env, "HOST": self.host.address, "PORT": str(PORT)},
            self.workdir,
            inside=self.host.move_here,
        )
        self.server = Server(name, PORT, process, self.workdir / f"{name}.log", self.host.address)
        wait_until_listening(self.server)
        return self.server

    def stop_gracefully(self) -> int:
        """SIGTERM, as a deploy stops it; its exit status."""
        assert self.server is not None
        self.server.process.send_signal(signal.SIGTERM)
        return self.server.process.wait(GRACE + 10)

    def kill(self) -> None:
        assert self.server is not None
        self.server.process.kill()
        self.server.process.wait()


@dataclass
class Posts:
    """What one client posted: accepted (201) contents and their ids, and the others."""

    accepted: dict[str, str] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


@dataclass
class Scrape:
    host: str
    at: float
    sockets: float
    stored: float


def post(servers: list[Server], path: str, cookie: str, content: str) -> Answer | None:
    """One post, through a load balancer that tries the next host when one refuses connections
    (nothing was sent, so nothing can be doubled); None when the post may have been cut off."""
    for server in servers:
        try:
            return rest(server, "POST", path, cookie, {"content": content}, timeout=5)
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError):
                return None
        except OSError:
            return None
    return None


def scrape(server: Server) -> dict[str, float] | None:
    """/metrics as Prometheus reads it: open sockets and messages stored; None if unreachable."""
    request = urllib.request.Request(
        f"{server.origin}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    values = {"sockets": 0.0, "stored": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "desk_websockets_open":
                values["sockets"] += sample.value
            elif sample.name == "desk_messages_stored_total":
                values["stored"] += sample.value
    return values


@dataclass
class Deployment:
    hosts: dict[str, Host]
    desk: LiveDesk
    webs: list[WebHost]
    mailbox: Path


@contextlib.contextmanager
def deployment(workdir: Path) -> Iterator[Deployment]:
    bin_dir, why = postgres_binaries()
    if bin_dir is None:
        pytest.skip(f"needs a PostgreSQL server of its own: {why}")
    with contextlib.ExitStack() as stack:
        try:
            hosts = stack.enter_context(network("db", "web1", "web2", "work", "client"))
        except Unavailable as reason:
            pytest.skip(f"cannot make separate hosts with network namespaces here: {reason}")
        db, work = hosts["db"], hosts["work"]
        # The test acts as the client host from here on: every socket it opens is that host's.
        stack.enter_context(hosts["client"].entered())
        postgres = stack.enter_context(private_postgres(bin_dir, db.address, db.move_here))
        redis_server = stack.enter_context(private_redis(workdir, db.address, db.move_here))
        mailbox = workdir / "mail"
        mailbox.mkdir()
        (workdir / "data").mkdir()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "desk.settings",
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis_server.url,
            "DESK_CHANNEL_PREFIX": "desk-hosts",
            "DESK_CELERY_QUEUE": "desk-hosts",
            "DESK_DATA_DIR": str(workdir / "data"),
            "SECRET_KEY": "desk-hosts-not-a-secret",
            "DEBUG": "false",
            "ALLOWED_HOSTS": f"{hosts['web1'].address},{hosts['web2'].address}",
            "DESK_METRICS_TOKEN": METRICS_TOKEN,
            "DESK_GRACEFUL_SHUTDOWN": str(GRACE),
            # Two posts a second per person and for the staff member, all allowed.
            "DESK_MESSAGES_PER_MINUTE": "600",
            "PYTHONUNBUFFERED": "1",
            **mail.email_settings(mailbox),
        }
        # One process per web host: its own counters are the host's.
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        people = seed(env, PEOPLE, [STAFF], inside=work.move_here)
        desk = LiveDesk([], env, workdir, people["cookies"], people["chats"])
        webs = [WebHost(hosts[name], env, workdir) for name in ("web1", "web2")]
        stack.callback(stop_all, desk, webs)
        for web in webs:
            web.start()
        for name, command in (
            ("worker", ["worker", "--pool", "solo", "--without-gossip", "--without-mingle"]),
            ("beat", ["beat", "--schedule", str(workdir / "celerybeat-schedule")]),
        ):
            celery = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_app",
                *command,
                "--loglevel",
                "INFO",
            ]
            desk.workers.append(spawn(name, celery, env, workdir, inside=work.move_here))
        yield Deployment(hosts, desk, webs, mailbox)


def stop_all(desk: LiveDesk, webs: list[WebHost]) -> None:
    for web in webs:
        if web.server is not None:
            stop(web.server.process)
    for process in desk.workers:
        stop(process)


async def keep_posting(
    stop_posting: asyncio.Event,
    pool: ThreadPoolExecutor,
    webs: list[WebHost],
    cookie: str,
    chats: dict[str, str],
    label: str,
    posts: Posts,
) -> None:
    """Post every SEND_EVERY seconds, through a round-robin balancer over the web hosts.

    `chats` maps a recipient's name to the path that posts to them; each content says who sent
    it and to whom ("support #4 to p04")."""
    loop = asyncio.get_running_loop()
    recipients = list(chats)
    n = 0
    while not stop_posting.is_set():
        # Round robin: each post starts at the next host.
        servers = [web.server for web in webs[n % len(webs) :] + webs[: n % len(webs)]]
        recipient = recipients[n % len(recipients)]
        content = f"{label} #{n} to {recipient}"
        answer = await loop.run_in_executor(pool, post, servers, chats[recipient], cookie, content)
        if answer is not None and answer.status == 201:
            posts.accepted[content] = answer.body["id"]
        else:
            posts.failed.append(content)
        n += 1
        await asyncio.sleep(SEND_EVERY)


async def keep_scraping(
    stop_scraping: asyncio.Event, pool: ThreadPoolExecutor, webs: list[WebHost], into: list[Scrape]
) -> None:
    loop = asyncio.get_running_loop()
    while not stop_scraping.is_set():
        for web in webs:
            assert web.server is not None
            values = await loop.run_in_executor(pool, scrape, web.server)
            if values is not None:
                into.append(Scrape(web.host.name, time.monotonic(), **values))
        await asyncio.sleep(1)


def stored_messages(desk: LiveDesk) -> dict[str, list[tuple[str, str]]]:
    """Every stored message, as (id, content), by chat id."""
    found: dict[str, list[tuple[str, str]]] = {}
    with mail.live_cursor(desk) as cursor:
        cursor.execute("SELECT chat_id, id, content FROM chats_supportmessage")
        for chat_id, message_id, content in cursor.fetchall():
            found.setdefault(str(chat_id), []).append((str(message_id), content))
    return found


def everyone_caught_up(followers: dict[str, Follower], desk: LiveDesk) -> Callable[[], bool]:
    def check() -> bool:
        stored = stored_messages(desk)
        return all(
            set(follower.messages) == {m for m, _ in stored.get(desk.chats[who], [])}
            for who, follower in followers.items()
        )

    return check


def emails_settled(desk: LiveDesk) -> bool:
    statuses = mail.email_statuses(desk)
    return mail.undecided_replies(desk) == 0 and not statuses["queued"] and not statuses["sending"]


async def test_restarting_and_killing_web_hosts_under_live_chats_loses_and_repeats_nothing(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    with deployment(tmp_path) as deployed:
        desk, webs = deployed.desk, deployed.webs
        loop = asyncio.get_running_loop()
        # Threads started from here are born on the client host, as the calling thread now is.
        pool = ThreadPoolExecutor(max_workers=len(PEOPLE) + 4)
        servers = [web.server for web in webs]
        assert all(servers)
        followers = {
            who: Follower(
                # Half the people start on each web host; after a drop, the other one.
                servers=servers if n % 2 == 0 else servers[::-1],  # type: ignore[arg-type]
                path=f"/ws/support_chat/{desk.chats[who]}/",
                cookie=desk.cookies[who],
            )
            for n, who in enumerate(PEOPLE)
        }
        posts = {who: Posts() for who in [*PEOPLE, STAFF]}
        scrapes: list[Scrape] = []
        stop_posting, stop_scraping = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(follower.run()) for follower in followers.values()]
        try:
            await wait_for(
                lambda: all(f.connected.is_set() for f in followers.values()),
                PATIENCE,
                "every person's socket is open",
            )
            tasks.append(asyncio.create_task(keep_scraping(stop_scraping, pool, webs, scrapes)))
            targets = {who: {STAFF: "/api/support_chat/messages"} for who in PEOPLE}
            targets[STAFF] = {who: f"/api/admin/chats/{desk.chats[who]}/messages" for who in PEOPLE}
            for who, chats in targets.items():
                poster = keep_posting(
                    stop_posting, pool, webs, desk.cookies[who], chats, who, posts[who]
                )
                tasks.append(asyncio.create_task(poster))

            await asyncio.sleep(PHASE)
            exits = []
            for web in webs:  # a rolling restart, one host at a time
                exits.append(await loop.run_in_executor(pool, web.stop_gracefully))
                await loop.run_in_executor(pool, web.start)
                await asyncio.sleep(PHASE)
            await loop.run_in_executor(pool, webs[0].kill)
            killed_at = time.monotonic()
            await asyncio.sleep(PHASE)
            stop_posting.set()

            await wait_for(
                everyone_caught_up(followers, desk), PATIENCE, "every socket has every message"
            )
            await wait_for(lambda: emails_settled(desk), PATIENCE, "every reply email is decided")
            # The survivor's last scrape comes after everyone moved there.
            await asyncio.sleep(2)
            stop_scraping.set()
        finally:
            stop_posting.set()
            stop_scraping.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            pool.shutdown(wait=False, cancel_futures=True)

        stored = stored_messages(desk)
        statuses = mail.email_statuses(desk)
        mailbag = mail.Mailbag.of(deployed.mailbox)

    accepted = {content: mid for p in posts.values() for content, mid in p.accepted.items()}
    stored_contents = [content for messages in stored.values() for _, content in messages]
    stored_ids = {mid for messages in stored.values() for mid, _ in messages}
    failed = sum(len(p.failed) for p in posts.values())
    survivor = [s for s in scrapes if s.host == "web2" and s.at > killed_at]
    figures(
        accepted=len(accepted),
        failed_posts=failed,
        stored=len(stored_contents),
        drops=sum(f.drops for f in followers.values()),
        emails=mailbag.emails,
        scrapes=len(scrapes),
        web2_sockets_after_kill=survivor[-1].sockets if survivor else None,
    )

    # Every accepted message stored once; no message stored twice.
    assert set(accepted.values()) <= stored_ids
    assert len(stored_contents) == len(set(stored_contents))
    # Every socket has its chat's every message, and got none twice.
    for who, follower in followers.items():
        assert set(follower.messages) == {m for m, _ in stored[desk.chats[who]]}, who
        assert follower.duplicates == 0, who
        assert follower.drops >= 1, who
    # Every due reply email sent, each once: one written per email recorded as sent, and every
    # person who was answered got theirs.
    assert set(statuses) == {"sent"}, statuses
    assert mailbag.emails == statuses["sent"]
    answered = {content.rsplit(" to ", 1)[1] for content in posts[STAFF].accepted}
    assert set(mailbag.recipients) == {f"{who}@example.com" for who in answered}
    # The graceful stops were graceful; Prometheus saw everyone move to the survivor.
    assert all(code in (0, -signal.SIGTERM) for code in exits), exits
    assert {s.host for s in scrapes} == {"web1", "web2"}
    assert survivor
    assert survivor[-1].sockets == len(PEOPLE)
    assert survivor[-1].stored > 0
