"""The two refusals only uploads have, as rows of chats.errors' table (REST answers them with
their status and `{"detail": "..."}`; no socket ever sees them: files arrive over REST only)."""

from __future__ import annotations

from chats.errors import DeskError


class FileTooLargeError(DeskError):
    """The upload is over DESK_ATTACHMENT_MAX_BYTES: refused as its bytes arrive."""

    status = 413
    field = "file"


class UnsupportedFileTypeError(DeskError):
    """The upload's content is none of the accepted types (whatever its name says)."""

    status = 415
    field = "file"
