from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from chats.errors import InvalidInputError
from chats.models import CONTENT_MAX_LENGTH, NAME_MAX_LENGTH

EMAIL_MAX_LENGTH = 254


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


def one_line(text: str) -> str:
    """`text` without control characters (newlines included), trimmed: a name is shown on one
    line of the dashboard."""
    return "".join(char for char in text if char.isprintable()).strip()


def name_clean(value: object) -> str:
    """A person's name as given (None: no name), on one line; InvalidInputError naming `name`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInputError("name", "name must be a string.")
    name = one_line(value)
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInputError("name", f"name may be at most {NAME_MAX_LENGTH} characters.")
    return name


def email_clean(value: object) -> str:
    """An email address as given (None or "": none), trimmed; InvalidInputError naming `email`."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > EMAIL_MAX_LENGTH:
        raise InvalidInputError("email", "email must be an email address.")
    email = value.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInputError("email", "email must be an email address.") from None
    return email
