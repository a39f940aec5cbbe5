"""One HTTP request to desk's whole ASGI application, in-process, as a client at 10.0.3.1 asks."""

from __future__ import annotations

from typing import Any

from asgiref.testing import ApplicationCommunicator

from desk.asgi import application


async def ask(
    path: str,
    *,
    method: str = "GET",
    host: bytes = b"10.0.3.7",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> dict[str, Any]:
    """The answer to one request (its status, headers and body), from the application itself."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host), *(headers or [])],
        "client": ("10.0.3.1", 40000),
        "server": ("10.0.3.7", 8000),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=10)
    body = await communicator.receive_output(timeout=10)
    await communicator.wait(timeout=5)
    return {
        "status": start["status"],
        "headers": {name.decode(): value.decode() for name, value in start["headers"]},
        "body": body["body"],
    }
