"""Fixtures for the real-time layer: channel layers, logged-in sockets, and Redis clean-up."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.test import Client

from chats import access, presence, ratelimit, services
from chats.embed import services as embed_services
from chats.embed import tokens
from chats.embed.identity import Identity
from chats.embed.sockets import BEARER_PREFIX, SUBPROTOCOL
from chats.models import Contact, SupportChat
from tests.conftest import logged_in
from tests.live import redis_delete

HOST = "testserver"
ORIGIN = f"http://{HOST}"
# Generous: on the Redis layer an event crosses Redis twice; a slow CI machine must not flake.
EVENT_TIMEOUT = 5.0
PRESENCE_EVENTS = frozenset({"presence", "support_presence"})


@pytest.fixture(autouse=True)
def own_redis_namespace(settings: Any) -> Iterator[str]:
    """Each test gets its own key prefix (rate limits, channel layer), deleted afterwards."""
    redis_url = settings.REDIS_URL
    prefix = f"{settings.DESK_CHANNEL_PREFIX}-{uuid.uuid4().hex[:10]}"
    settings.DESK_CHANNEL_PREFIX = prefix
    config = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**config, "CONFIG": {**config.get("CONFIG", {}), "prefix": prefix}}
    }
    yield prefix
    redis_delete(redis_url, f"{prefix}*")


@pytest.fixture(params=["memory", "redis"])
def layer(request: pytest.FixtureRequest, settings: Any, own_redis_namespace: str) -> str:
    """Run the test on the in-memory channel layer and on desk's real Redis layer."""
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"capacity": settings.DESK_CHANNEL_CAPACITY},
            }
        }
    return str(request.param)


@pytest.fixture
def redis_layer(settings: Any, own_redis_namespace: str) -> str:
    """desk's Redis channel layer only (behaviour that depends on it)."""
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "desk.runtime.layers.RedisChannelLayer"
    return "redis"


def session_cookie(user: Any) -> str:
    return str(logged_in(user).cookies["sessionid"].value)


class WebsocketCommunicator(ApplicationCommunicator):  # type: ignore[misc]
    """channels' WebsocketCommunicator, on the same asgiref base.

    `channels.testing` cannot be imported without daphne (its package imports the live-server
    test case), which desk does not install; this is the part of it the tests use.
    """

    def __init__(
        self,
        application: Any,
        path: str,
        headers: list[tuple[bytes, bytes]],
        subprotocols: list[str] | None = None,
        query: str = "",
    ) -> None:
        # A browser always sends Host; desk's origin check compares Origin with it.
        if not any(name == b"host" for name, _ in headers):
            headers = [(b"host", HOST.encode()), *headers]
        scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": headers,
            "subprotocols": subprotocols or [],
        }
        super().__init__(application, scope)

    async def connect(self, within: float) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(within)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, response.get("subprotocol")

    async def send_json_to(self, data: Any) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_from(self, within: float) -> str:
        response = await self.receive_output(within)
        assert response["type"] == "websocket.send", response
        return str(response["text"])

    async def disconnect(self, code: int = 1000, within: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(within)


class Socket:
    """A websocket client on desk's real ASGI application (origin check, session auth)."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.open = False
        # Events read ahead by receives_nothing, to be returned first.
        self.unread: list[dict[str, Any]] = []
        # The subprotocol the server accepted with.
        self.subprotocol: str | None = None

    async def send(self, **frame: Any) -> None:
        await self.communicator.send_json_to(frame)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_input({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self.communicator.send_input({"type": "websocket.receive", "bytes": data})

    async def event(self, within: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next event this socket receives, presence events aside (they come whenever a
        person or a dashboard opens or closes a socket; `presence_event` reads them)."""
        while True:
            event = await self.any_event(within)
            if event["type"] not in PRESENCE_EVENTS:
                return event

    async def any_event(self, within: float = EVENT_TIMEOUT) -> dict[str, Any]:
        if self.unread:
            return self.unread.pop(0)
        return dict(json.loads(await self.communicator.receive_from(within)))

    async def presence_event(self, within: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next presence event this socket receives, other events aside."""
        while True:
            event = await self.any_event(within)
            if event["type"] in PRESENCE_EVENTS:
                return event

    async def events(self, count: int, within: float = EVENT_TIMEOUT) -> list[dict[str, Any]]:
        return [await self.event(within) for _ in range(count)]

    async def receives_nothing(self, within: float = 0.3) -> bool:
        """No event but presence events arrives within the time. (A timeout of receive_output
        would end the application: receive_nothing waits without.)"""
        if any(event["type"] not in PRESENCE_EVENTS for event in self.unread):
            return False
        while not await self.communicator.receive_nothing(within):
            event = await self.any_event()
            if event["type"] not in PRESENCE_EVENTS:
                self.unread.append(event)  # for the next event()
                return False
        return True

    async def close_code(self, within: float = EVENT_TIMEOUT) -> int:
        """Wait for the server to close the socket; its close code."""
        output = await self.communicator.receive_output(within)
        assert output["type"] == "websocket.close", output
        self.open = False
        await self.communicator.send_input({"type": "websocket.disconnect", "code": output["code"]})
        await self.communicator.wait(within)
        return int(output["code"])

    async def disconnect(self) -> None:
        if self.open:
            self.open = False
            await self.communicator.disconnect(within=EVENT_TIMEOUT)


OpenSocket = Callable[..., Awaitable[Socket]]


@pytest_asyncio.fixture
async def ws() -> AsyncIterator[OpenSocket]:
    """`await ws(path, user)` opens a socket (user None: anonymous); all are closed afterwards.

    Each socket gets a session of its own; `session=client` opens it with that logged-in test
    Client's session instead (to log that session out, say). `bearer=token` offers the embedded
    widget's subprotocols for that desk token (`bearer_subprotocols`), `subprotocols=[...]` any
    others; the one accepted is `socket.subprotocol`; `query` is the URL's query string
    ("lang=es"), `extra_headers` more handshake headers. `before_handshake` is awaited after
    the application has started and before the client's connect frame. The handshake is accepted
    even for a refused socket (so its close code reaches the client): check `socket.close_code()`.
    """
    from desk.asgi import application

    sockets: list[Socket] = []

    async def open_socket(
        path: str,
        user: Any = None,
        *,
        origin: str | None = ORIGIN,
        accepted: bool = True,
        session: Client | None = None,
        bearer: str | None = None,
        subprotocols: list[str] | None = None,
        before_handshake: Callable[[], Awaitable[Any]] | None = None,
        query: str = "",
        extra_headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> Socket:
        headers = list(extra_headers)
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        if session is not None:
            cookie = session.cookies["sessionid"].value
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        elif user is not None:
            cookie = await database_sync_to_async(session_cookie)(user)
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        if bearer is not None:
            subprotocols = bearer_subprotocols(bearer)
        socket = Socket(WebsocketCommunicator(application, path, headers, subprotocols, query))
        if before_handshake is not None:
            # Started now, not on the first frame as asgiref would: its middleware loads the
            # user while the client's connect frame is still to come.
            _ = socket.communicator.future
            await before_handshake()
        connected, subprotocol = await socket.communicator.connect(within=EVENT_TIMEOUT)
        assert connected is accepted, "handshake accepted" if accepted else "handshake refused"
        socket.open = connected
        socket.subprotocol = subprotocol if connected else None
        sockets.append(socket)
        return socket

    yield open_socket
    for socket in sockets:
        await socket.disconnect()
    await presence.stop()
    await ratelimit.close()
    await access.close()


@pytest_asyncio.fixture
async def limiter() -> AsyncIterator[None]:
    """The rate limiter's Redis client for this test's event loop, closed afterwards."""
    yield
    await ratelimit.close()


Rest = Callable[..., Awaitable[Any]]


@pytest.fixture
def rest(api: Any) -> Rest:
    """`await rest(user, "post", path, body)`: a REST call as `user`, from an async test."""

    def call(user: Any, method: str, path: str, body: Any = None) -> Any:
        client = api(user)
        if method == "get":
            return client.get(path)
        return getattr(client, method)(path, body)

    return database_sync_to_async(call)


def chat_path(chat_id: Any) -> str:
    return f"/ws/support_chat/{chat_id}/"


# --- The embedded widget (chats/embed/) ----------------------------------------------------------

# A host site's page: another host name and port than desk's.
EMBED_ORIGIN = "https://shop.example:8443"


def bearer_subprotocols(token: str) -> list[str]:
    """What the embedded widget offers: `new WebSocket(url, ["desk", "desk.bearer." + token])`."""
    return [SUBPROTOCOL, BEARER_PREFIX + token]


def desk_token(user: Any) -> str:
    return tokens.desk_token_issue(user).token


@pytest.fixture
def embedding(settings: Any) -> str:
    """EMBED_ORIGIN is a site allowed to embed desk (DESK_EMBED_ORIGINS)."""
    settings.DESK_EMBED_ORIGINS = [EMBED_ORIGIN]
    return EMBED_ORIGIN


@pytest.fixture
def guest(db: None) -> Contact:
    """A guest of the embedded widget, with a chat (started by a first message)."""
    contact = embed_services.guest_create(client="192.0.2.7", name="Gus").contact
    services.user_message_post(user=contact.user, content="Hello from a guest")
    return contact


@pytest.fixture
def person(db: None) -> Contact:
    """Someone the host site identified (an identity token's `sub`), with a chat."""
    contact = embed_services.identified_contact(
        Identity(sub="shop-user-1017", email="ann@shop.example", name="Ann")
    )
    services.user_message_post(user=contact.user, content="Hello from Ann")
    return contact


def chat_of(contact: Contact) -> SupportChat:
    return SupportChat.objects.get(user_id=contact.user_id)


ADMIN_PATH = "/ws/admin/notifications/"
