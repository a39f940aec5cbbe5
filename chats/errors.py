"""desk's errors, and the one table every edge reads to answer them.

Each DeskError subclass carries, as class attributes, how every edge answers it:

| error                   | HTTP | socket `code`  | close code | Retry-After     |
|-------------------------|------|----------------|------------|-----------------|
| `InvalidInputError`     | 422  | `invalid`      |            |                 |
| `PermissionDeniedError` | 403  | `forbidden`    | 4403       |                 |
| `NotFoundError`         | 404  | `not_found`    | 4404       |                 |
| `RateLimitedError`      | 429  | `rate_limited` |            | the error's own |
| `UnavailableError`      | 503  | `unavailable`  |            | 5 s             |

`as_desk_error()` is the one translator: a DeskError is itself, a database that cannot be reached
(`OperationalError`, `InterfaceError`) is an UnavailableError, anything else is None (a bug: the
edge logs it and answers 500 / `internal_error`). The edges: the API's exception handlers
(desk/api.py), the dashboard's `admin_view` and reply form (chats/dashboard.py), the socket
framework's `receive` and refusals (chats/realtime/sockets.py), the pages' 503
(desk/middleware.py) and the request thread pool's 503 (desk/runtime/threadpool.py).

Every error is raised with its English text, marked for the catalogs (`gettext_lazy`, or `gettext`
with named placeholders), and `detail` writes it out when the edge answers, in the language active
then: the asker's (LocaleMiddleware from Accept-Language or the language cookie on REST, the
socket's `lang` on a websocket). Codes, close codes and fields never change with the language.

This module imports nothing of desk's own: services, selectors and the thread pool all import it.
"""

from __future__ import annotations

import enum
import logging
import math
from typing import TYPE_CHECKING

from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext, gettext_lazy

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)


class ErrorCode(enum.StrEnum):
    """The `code` of a socket's `error` event (docs/events.md documents each)."""

    UNAUTHENTICATED = "unauthenticated"
    INVALID_JSON = "invalid_json"
    BINARY_NOT_SUPPORTED = "binary_not_supported"
    FRAME_TOO_LARGE = "frame_too_large"
    UNKNOWN_ACTION = "unknown_action"
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"


class CloseCode(enum.IntEnum):
    """Why the server closed a socket (the 4000-4999 range is the application's)."""

    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    # The user already has DESK_SOCKETS_PER_USER sockets open (on any process).
    TOO_MANY_SOCKETS = 4429
    # WebSocket's own "service restart": reconnect (and catch up with `sync`).
    RECONNECT = 1012


class DeskError(Exception):
    """Base of every error desk raises on purpose; its attributes are its row of the table."""

    status: int = 400
    code: ErrorCode = ErrorCode.INVALID
    # Set where the error refuses a socket's handshake (or ends the socket) rather than one action.
    close_code: CloseCode | None = None
    # Seconds the client should wait before trying again.
    retry_after: float | None = None
    # The input to fix, for errors about one field.
    field: str | None = None

    def __init__(self, message: StrOrPromise = "") -> None:
        super().__init__(message)

    @property
    def detail(self) -> str:
        """The text for the asker, in the active language. A lazy text is translated now; a plain
        one is looked up too, so that a text raised unmarked (or translated already) is written
        in the catalog's words when it has them, and as it came otherwise."""
        message = self.args[0] if self.args else ""
        return gettext(message) if isinstance(message, str) else str(message)

    @property
    def retry_after_header(self) -> str | None:
        # Whole seconds (RFC 9110), rounded up so that a client waiting this long gets through.
        return None if self.retry_after is None else str(math.ceil(self.retry_after))


class UnauthenticatedError(DeskError):
    """A credential was refused: an identity token, a desk token or a guest's secret that is
    forged, expired, signed with another key or algorithm, or no longer anyone's. `reason` says
    which (the widget logs it); `detail` says it in words."""

    status = 401
    code = ErrorCode.UNAUTHENTICATED
    close_code = CloseCode.UNAUTHENTICATED

    def __init__(self, message: StrOrPromise, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotFoundError(DeskError):
    status = 404
    code = ErrorCode.NOT_FOUND
    close_code = CloseCode.NOT_FOUND


class PermissionDeniedError(DeskError):
    status = 403
    code = ErrorCode.FORBIDDEN
    close_code = CloseCode.FORBIDDEN


class InvalidInputError(DeskError):
    """Input that breaks a rule; `field` names what to fix, `location` where it was sent."""

    status = 422
    code = ErrorCode.INVALID

    def __init__(self, field: str, message: StrOrPromise, location: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.location = location


class RateLimitedError(DeskError):
    """Over a per-user rate limit; `retry_after` is how many seconds until one more is taken."""

    status = 429
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: StrOrPromise, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnavailableError(DeskError):
    """desk cannot serve the request just now (the database is out of reach, every request
    thread is busy); the same request may well succeed in a few seconds."""

    status = 503
    code = ErrorCode.UNAVAILABLE
    retry_after = 5

    def __init__(self, message: StrOrPromise = "") -> None:
        super().__init__(message or UNAVAILABLE_DETAIL)


UNAVAILABLE_DETAIL = gettext_lazy("The service is briefly unavailable; try again in a few seconds.")


# The database is down or unreachable (a restart, a failover, the pool's wait for a connection
# running out): the request may well succeed shortly, so it gets a 503 with Retry-After, not a 500.
# Integrity and data errors are bugs or bad input, never this. Once the server is back, the pool
# (whose `check` tests each connection before handing it out) resumes on its own.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def as_desk_error(exc: BaseException) -> DeskError | None:
    """The DeskError an edge answers `exc` with; None for an exception that is a bug."""
    if isinstance(exc, DeskError):
        return exc
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("database unavailable, the request is refused for now (503): %s", exc)
        return UnavailableError()
    return None
