"""Log lines as JSON (LOG_FORMAT=json), and the request id every line of a request carries.

Each HTTP request gets an id: the `X-Request-ID` its proxy or load balancer sent, when it is a
plain token of up to 64 characters, else a new one. It is the response's `X-Request-ID`, and
`request_id` on every log record written while the request is handled, on the event loop or in
the request's thread (asgiref carries context variables across). Plain logs show it too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("desk_request_id", default="-")
HEADER = b"x-request-id"
_OFFERED = re.compile(rb"[A-Za-z0-9._-]{1,64}")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestIds:
    """ASGI middleware: the request's id in REQUEST_ID while it is handled, and in its answer."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope.get("headers", [])).get(HEADER, b"")
        request_id = offered.decode() if _OFFERED.fullmatch(offered) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)

        async def with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            REQUEST_ID.reset(token)
