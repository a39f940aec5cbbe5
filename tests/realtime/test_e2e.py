"""End to end: two real uvicorn servers sharing Redis and a database, real websocket clients.

The user's socket is on one server and the admins' on the other, as behind a load balancer; every
event between them crosses Redis. The servers are subprocesses (`python -m uvicorn
desk.asgi:application`, as `make run` starts it) on a database of their own, prepared by
tests/realtime/e2e_seed.py: a temporary SQLite file, or a fresh PostgreSQL database when the suite
runs on PostgreSQL (dropped afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from desk.embedded import dies_with_parent
from tests.realtime.conftest import redis_delete

BASE_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
EVENT_TIMEOUT = 10.0
MESSAGES_PER_MINUTE = 5

pytestmark = pytest.mark.asyncio


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@dataclass
class Desk:
    a: Server
    b: Server
    cookies: dict[str, str]
    chats: dict[str, str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def servers_database(workdir: Path) -> Iterator[str]:
    """A DATABASE_URL for the servers alone, removed afterwards."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{workdir / 'e2e.sqlite3'}"
        return
    import psycopg

    name = f"desk_e2e_{uuid.uuid4().hex[:12]}"
    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as maintenance:
        maintenance.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "localhost"
    port = db.get("PORT") or 5432
    try:
        yield f"postgres://{credentials}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(**params) as maintenance:
            maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(name: str, env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "desk.asgi:application",
                "--host", "127.0.0.1", "--port", str(port),
                "--lifespan", "off", "--no-access-log", "--timeout-graceful-shutdown", "2",
            ],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=dies_with_parent(),
        )  # fmt: skip
    return Server(name, port, process, log)


def wait_until_listening(server: Server, deadline: float) -> None:
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"server {server.name} exited with {server.process.returncode}:\n"
                + server.log.read_text(errors="replace")
            )
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"server {server.name} did not listen within {START_TIMEOUT:g} s:\n"
                + server.log.read_text(errors="replace")
            )
        time.sleep(0.1)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    workdir = tmp_path_factory.mktemp("e2e")
    prefix = f"desk-e2e-{uuid.uuid4().hex[:10]}"
    with servers_database(workdir) as database_url:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "desk.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": settings.REDIS_URL,
            "DESK_CHANNEL_PREFIX": prefix,
            "DESK_DATA_DIR": str(workdir / "data"),
            "DESK_SOCKET_MESSAGES_PER_MINUTE": str(MESSAGES_PER_MINUTE),
            "SECRET_KEY": "desk-e2e-not-a-secret",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
        seeded = subprocess.run(
            [sys.executable, "-m", "tests.realtime.e2e_seed"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        assert seeded.returncode == 0, seeded.stderr.decode(errors="replace")
        seed = json.loads(seeded.stdout.decode().strip().splitlines()[-1])
        servers: list[Server] = []
        try:
            servers = [start_server(name, env, workdir) for name in ("a", "b")]
            deadline = time.monotonic() + START_TIMEOUT
            for server in servers:
                wait_until_listening(server, deadline)
            yield Desk(servers[0], servers[1], seed["cookies"], seed["chats"])
        finally:
            for server in servers:
                stop(server)
            redis_delete(settings.REDIS_URL, f"{prefix}*")


@contextlib.asynccontextmanager
async def opened(
    server: Server, path: str, cookie: str | None, origin: str | None = None
) -> AsyncIterator[ClientConnection]:
    headers = {"Origin": origin or server.origin}
    if cookie is not None:
        headers["Cookie"] = f"sessionid={cookie}"
    async with connect(
        server.url(path), additional_headers=headers, open_timeout=EVENT_TIMEOUT, close_timeout=2
    ) as websocket:
        yield websocket


async def next_event(websocket: ClientConnection, **match: Any) -> dict[str, Any]:
    """The next event with these values (events of other kinds in between are skipped)."""
    async with asyncio.timeout(EVENT_TIMEOUT):
        while True:
            event = json.loads(await websocket.recv())
            if all(_get(event, key) == value for key, value in match.items()):
                return dict(event)


def _get(event: dict[str, Any], key: str) -> Any:
    value: Any = event
    for part in key.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


async def send(websocket: ClientConnection, **frame: Any) -> None:
    await websocket.send(json.dumps(frame))


def chat_socket(desk: Desk, who: str = "ann") -> str:
    return f"/ws/support_chat/{desk.chats[who]}/"


ADMIN_SOCKET = "/ws/admin/notifications/"


# --- Messages cross servers both ways ------------------------------------------------------------


async def test_a_users_message_on_one_server_reaches_admins_on_the_other(desk: Desk) -> None:
    async with (
        opened(desk.a, chat_socket(desk), desk.cookies["ann"]) as widget,
        opened(desk.b, chat_socket(desk), desk.cookies["admin1"]) as console,
        opened(desk.b, ADMIN_SOCKET, desk.cookies["admin2"]) as dashboard,
    ):
        await send(widget, action="send_message", content="Hello from server A")
        own = await next_event(widget, type="new_message")
        seen = await next_event(console, type="new_message")
        listed = await next_event(dashboard, type="new_user_message")
    assert own == seen
    assert seen["message"]["content"] == "Hello from server A"
    assert listed["user_email"] == "ann@example.com"
    assert listed["message"]["id"] == own["message"]["id"]


async def test_an_admins_reply_on_one_server_reaches_the_user_on_the_other(desk: Desk) -> None:
    async with (
        opened(desk.a, chat_socket(desk), desk.cookies["ann"]) as widget,
        opened(desk.b, chat_socket(desk), desk.cookies["admin1"]) as console,
    ):
        await send(console, action="typing", is_typing=True)
        typing = await next_event(widget, type="typing")
        await send(console, action="send_message", content="Reply from server B")
        reply = await next_event(widget, type="new_message")
    assert (typing["sender_type"], typing["is_typing"]) == ("admin", True)
    assert reply["message"]["sender_type"] == "admin"
    assert reply["message"]["content"] == "Reply from server B"


async def test_chat_viewed_by_one_admin_reaches_the_other_admin_on_the_other_server(
    desk: Desk,
) -> None:
    async with (
        opened(desk.a, ADMIN_SOCKET, desk.cookies["admin2"]) as dashboard,
        opened(desk.a, chat_socket(desk), desk.cookies["ann"]) as widget,
        opened(desk.b, chat_socket(desk), desk.cookies["admin1"]) as console,
    ):
        await send(console, action="viewed")
        for_admins = await next_event(dashboard, type="chat_viewed")
        for_user = await next_event(widget, type="chat_viewed")
    assert for_admins["chat_id"] == desk.chats["ann"]
    assert for_admins["admin"]["email"] == "support1@example.com"
    assert for_user["admin_viewed_at"] == for_admins["admin_viewed_at"]
    assert "admin" not in for_user


async def test_a_user_reconnecting_to_the_other_server_catches_up(desk: Desk) -> None:
    async with opened(desk.a, chat_socket(desk), desk.cookies["ann"]) as widget:
        await send(widget, action="send_message", content="before the drop")
        last_seen = (await next_event(widget, type="new_message"))["message"]["id"]
    async with opened(desk.b, chat_socket(desk), desk.cookies["admin1"]) as console:
        for text in ("missed 1", "missed 2"):
            await send(console, action="send_message", content=text)
            await next_event(console, type="new_message", message__content=text)
    async with opened(desk.b, chat_socket(desk), desk.cookies["ann"]) as widget:
        await send(widget, action="sync", after=last_seen)
        synced = await next_event(widget, type="sync")
    assert [m["content"] for m in synced["messages"]] == ["missed 1", "missed 2"]
    assert synced["has_more"] is False


# --- Limits and refusals, as the real server sends them ------------------------------------------


async def test_the_message_limit_is_shared_by_a_users_sockets_on_both_servers(desk: Desk) -> None:
    attempts = MESSAGES_PER_MINUTE + 2
    outcomes = []
    async with (
        opened(desk.a, chat_socket(desk, "flo"), desk.cookies["flo"]) as on_a,
        opened(desk.b, chat_socket(desk, "flo"), desk.cookies["flo"]) as on_b,
    ):
        for n in range(attempts):
            websocket = (on_a, on_b)[n % 2]
            await send(websocket, action="send_message", content=f"flood {n}", request_id=str(n))
            async with asyncio.timeout(EVENT_TIMEOUT):
                while True:
                    event = json.loads(await websocket.recv())
                    if event.get("request_id") == str(n):
                        outcomes.append(event["code"])
                        break
                    if _get(event, "message__content") == f"flood {n}":
                        outcomes.append("sent")
                        break
    assert outcomes == ["sent"] * MESSAGES_PER_MINUTE + ["rate_limited"] * 2
    stored = await asyncio.to_thread(rest_get, desk.a, "/api/support_chat", desk.cookies["flo"])
    assert len(stored["messages"]) == MESSAGES_PER_MINUTE


def rest_get(server: Server, path: str, cookie: str) -> Any:
    request = urllib.request.Request(
        f"{server.origin}{path}", headers={"Cookie": f"sessionid={cookie}"}
    )
    with urllib.request.urlopen(request, timeout=EVENT_TIMEOUT) as response:
        return json.loads(response.read())


@pytest.mark.parametrize(
    ("who", "code"), [(None, 4401), ("ben", 4403)], ids=["anonymous", "other-user"]
)
async def test_the_real_server_delivers_the_documented_close_codes(
    desk: Desk, who: str | None, code: int
) -> None:
    cookie = desk.cookies[who] if who else None
    async with opened(desk.a, chat_socket(desk), cookie) as websocket:
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(EVENT_TIMEOUT):
                await websocket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code


async def test_the_real_server_refuses_a_foreign_origin_at_the_handshake(desk: Desk) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with opened(desk.b, chat_socket(desk), desk.cookies["ann"], "https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
