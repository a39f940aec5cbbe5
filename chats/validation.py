from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy, ngettext

from chats.errors import InvalidInputError
from chats.models import ATTACHMENTS_PER_MESSAGE, CONTENT_MAX_LENGTH, NAME_MAX_LENGTH

EMAIL_MAX_LENGTH = 254
EMAIL_INVALID = gettext_lazy("email must be an email address.")


def clean_content(content: object) -> str:
    """Return message content trimmed, or raise InvalidInputError naming the `content` field.

    The one rule for every edge, applied once, by the posting services (chats/services.py):
    `content` is whatever the edge parsed, None when the client sent none.
    """
    if content is None:
        raise InvalidInputError("content", gettext_lazy("Message content is required."))
    if not isinstance(content, str):
        raise InvalidInputError("content", gettext_lazy("Message content must be text."))
    content = content.strip()
    if not content:
        raise InvalidInputError("content", gettext_lazy("Message content must not be empty."))
    if len(content) > CONTENT_MAX_LENGTH:
        raise InvalidInputError(
            "content",
            ngettext(
                "Message content must be at most %(count)s character.",
                "Message content must be at most %(count)s characters.",
                CONTENT_MAX_LENGTH,
            )
            % {"count": CONTENT_MAX_LENGTH},
        )
    # PostgreSQL cannot store NUL, and lone surrogates cannot be encoded as UTF-8 at all: both
    # would fail at INSERT time as a server error instead of a clear answer.
    if "\x00" in content:
        raise InvalidInputError(
            "content", gettext_lazy("Message content must not contain NUL characters.")
        )
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            "content", gettext_lazy("Message content is not valid Unicode text.")
        ) from None
    return content


def clean_caption(content: object) -> str:
    """`clean_content` for a message that carries attachments: none, or only whitespace, is ""."""
    if content is None or (isinstance(content, str) and not content.strip()):
        return ""
    return clean_content(content)


def clean_attachment_ids(value: object) -> list[uuid.UUID]:
    """The ids of the uploads a message is to carry (chats/attachments/), in the order given,
    each once; raises InvalidInputError naming `attachment_ids`. None: no attachments.

    Whether each is an upload of the sender's, into this chat, not yet attached, is for the
    posting services to check against the database."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidInputError(
            "attachment_ids", gettext_lazy("attachment_ids must be a list of upload ids.")
        )
    if len(value) > ATTACHMENTS_PER_MESSAGE:
        raise InvalidInputError(
            "attachment_ids",
            ngettext(
                "A message may carry at most %(count)s attachment.",
                "A message may carry at most %(count)s attachments.",
                ATTACHMENTS_PER_MESSAGE,
            )
            % {"count": ATTACHMENTS_PER_MESSAGE},
        )
    ids: list[uuid.UUID] = []
    for item in value:
        if isinstance(item, uuid.UUID):
            found = item
        else:
            try:
                found = uuid.UUID(item if isinstance(item, str) else "")
            except ValueError:
                raise InvalidInputError(
                    "attachment_ids", gettext_lazy("attachment_ids must be the ids of uploads.")
                ) from None
        if found not in ids:
            ids.append(found)
    return ids


def one_line(text: str) -> str:
    """`text` without control characters (newlines included), trimmed: a name is shown on one
    line of the dashboard."""
    return "".join(char for char in text if char.isprintable()).strip()


def name_clean(value: object) -> str:
    """A person's name as given (None: no name), on one line; InvalidInputError naming `name`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInputError("name", gettext_lazy("name must be a string."))
    name = one_line(value)
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInputError(
            "name",
            ngettext(
                "name may be at most %(count)s character.",
                "name may be at most %(count)s characters.",
                NAME_MAX_LENGTH,
            )
            % {"count": NAME_MAX_LENGTH},
        )
    return name


def email_clean(value: object) -> str:
    """An email address as given (None or "": none), trimmed; InvalidInputError naming `email`."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > EMAIL_MAX_LENGTH:
        raise InvalidInputError("email", EMAIL_INVALID)
    email = value.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInputError("email", EMAIL_INVALID) from None
    return email
