"""The chat domain's errors: every edge (REST, websocket, task) maps them the same way."""

from __future__ import annotations


class DeskError(Exception):
    """Base of every error a service raises on purpose."""

    code = "error"


class NotFoundError(DeskError):
    code = "not_found"


class PermissionDeniedError(DeskError):
    code = "forbidden"


class InvalidInputError(DeskError):
    """Input that breaks a rule; `field` names what to fix, `location` where it was sent."""

    code = "invalid"

    def __init__(self, field: str, message: str, location: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.location = location


class RateLimitedError(DeskError):
    """Over a per-user rate limit; `retry_after` is how many seconds until one more is taken."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
