from __future__ import annotations

from chats.errors import InvalidInputError
from chats.models import CONTENT_MAX_LENGTH


def clean_content(content: object) -> str:
    """Return message content trimmed, or raise InvalidInputError naming the `content` field.

    The one rule for every edge, applied once, by the posting services (chats/services.py):
    `content` is whatever the edge parsed, None when the client sent none.
    """
    if content is None:
        raise InvalidInputError("content", "Message content is required.")
    if not isinstance(content, str):
        raise InvalidInputError("content", "Message content must be text.")
    content = content.strip()
    if not content:
        raise InvalidInputError("content", "Message content must not be empty.")
    if len(content) > CONTENT_MAX_LENGTH:
        raise InvalidInputError(
            "content", f"Message content must be at most {CONTENT_MAX_LENGTH} characters."
        )
    # PostgreSQL cannot store NUL, and lone surrogates cannot be encoded as UTF-8 at all: both
    # would fail at INSERT time as a server error instead of a clear answer.
    if "\x00" in content:
        raise InvalidInputError("content", "Message content must not contain NUL characters.")
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError("content", "Message content is not valid Unicode text.") from None
    return content
