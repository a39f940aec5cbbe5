"""Clients of a live desk as the widget and the dashboard are written: REST calls and sockets that
follow docs/events.md, reconnecting after a drop and catching up with `sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.live import Answer, Server, rest

__all__ = ["Answer", "rest"]

TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def opened(server: Server, path: str, cookie: str) -> AsyncIterator[ClientConnection]:
    async with connect(
        server.url(path),
        additional_headers={"Origin": server.origin, "Cookie": f"sessionid={cookie}"},
        open_timeout=TIMEOUT,
        close_timeout=2,
        max_queue=None,
    ) as websocket:
        yield websocket


@dataclass
class Follower:
    """A widget (or an admin's chat view) that follows one chat and survives drops.

    It keeps the chat's messages merged by id, as docs/events.md asks of clients; after any drop it
    reconnects (to the next of its servers) and sends `sync` from the newest message it has, again
    while `has_more`. `duplicates` counts a `new_message` that one socket received twice, which
    the contract rules out; `drops` counts the open sockets it lost.
    """

    servers: list[Server]
    path: str
    cookie: str
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    drops: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    websocket: ClientConnection | None = None

    def newest(self) -> str | None:
        if not self.messages:
            return None
        return max(self.messages.values(), key=lambda m: (m["created_at"], m["id"]))["id"]

    def ordered_ids(self) -> list[str]:
        return [
            m["id"]
            for m in sorted(self.messages.values(), key=lambda m: (m["created_at"], m["id"]))
        ]

    async def run(self) -> None:
        attempt = 0
        while True:
            server = self.servers[attempt % len(self.servers)]
            try:
                async with opened(server, self.path, self.cookie) as websocket:
                    self.websocket = websocket
                    if (after := self.newest()) is not None:
                        await websocket.send(json.dumps({"action": "sync", "after": after}))
                    self.connected.set()
                    await self._follow(websocket)
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                pass
            if self.connected.is_set():
                self.drops += 1
            self.websocket = None
            self.connected.clear()
            attempt += 1
            await asyncio.sleep(0.2)

    async def _follow(self, websocket: ClientConnection) -> None:
        seen_here: set[str] = set()
        async for raw in websocket:
            event = json.loads(raw)
            if event["type"] == "new_message":
                message = event["message"]
                if message["id"] in seen_here:
                    self.duplicates += 1
                seen_here.add(message["id"])
                self.messages[message["id"]] = message
            elif event["type"] == "sync":
                for message in event["messages"]:
                    self.messages[message["id"]] = message
                if event["has_more"] and event["messages"]:
                    after = event["messages"][-1]["id"]
                    await websocket.send(json.dumps({"action": "sync", "after": after}))

    async def send(self, content: str) -> bool:
        """Send a message over the current socket; False when there is none at the moment."""
        if self.websocket is None:
            return False
        try:
            await self.websocket.send(json.dumps({"action": "send_message", "content": content}))
        except ConnectionClosed:
            return False
        return True


async def wait_for(condition: Any, patience: float, what: str) -> float:
    """Poll `condition()` until true; the seconds it took. Fails the test after `patience` s."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > patience:
            raise AssertionError(f"{what}: still not true after {patience:g} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started
