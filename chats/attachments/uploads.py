"""The size limit of an upload, enforced while Django's multipart parser reads the body.

`limited_uploads` (a view decorator for the two upload operations, `ninja.decorators
.decorate_view`) puts `SizeLimitedUpload` first among the request's upload handlers, before
authentication can make Django parse the body (django_auth's CSRF check reads request.POST):

- a declared Content-Length beyond the limit (plus room for the multipart framing) is refused
  before a byte of the body is parsed;
- otherwise the file's bytes are counted as they arrive, and the chunk that goes over the limit
  is refused before it reaches the handlers that keep the file: at most the limit is ever held.

Either refusal is FileTooLargeError: 413 with `{"detail": "..."}`.

In front of Django, desk's request thread pool (desk/runtime/threadpool.py) reads every body
first, counting as the bytes come and refusing with 413 past its limit, before Django (or a
request thread) sees any of it. `request_body_limit` is that limit by path: Django's
DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) for every request but the two uploads, which may bring a file
of DESK_ATTACHMENT_MAX_BYTES and its framing.
"""

from __future__ import annotations

import functools
import inspect
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext

from chats.attachments.errors import FileTooLargeError
from desk.runtime.threadpool import body_too_large_detail

# Room for the multipart framing around the file (boundaries, part headers, a file name).
MULTIPART_OVERHEAD = 16 * 1024


def too_large(limit: int) -> FileTooLargeError:
    """The refusal, in the active language, its numbers written the reader's way."""
    megabytes = Decimal(f"{limit / 1024 / 1024:g}")
    return FileTooLargeError(
        gettext("The file is too large: at most %(bytes)s bytes (%(megabytes)s MB) are accepted.")
        % {
            "bytes": number_format(limit, force_grouping=True),
            "megabytes": number_format(megabytes),
        }
    )


class SizeLimitedUpload(FileUploadHandler):
    """Counts the bytes of every file in the request; refuses the request past `limit`."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        if content_length > self.limit + MULTIPART_OVERHEAD:
            raise too_large(self.limit)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise too_large(self.limit)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        # The next handler (in memory, or a temporary file) makes the file.
        return None


def request_body_limit(path: str) -> int:
    """The largest body desk's request thread pool reads for a request to `path`."""
    if _upload_paths().fullmatch(path):
        return int(settings.DESK_ATTACHMENT_MAX_BYTES) + MULTIPART_OVERHEAD
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def request_too_large_detail(path: str) -> str:
    """What the request thread pool's 413 says for a body past request_body_limit(path): an
    upload's names the file limit, as SizeLimitedUpload's own refusal does."""
    if _upload_paths().fullmatch(path):
        return str(too_large(int(settings.DESK_ATTACHMENT_MAX_BYTES)).detail)
    return body_too_large_detail(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


@functools.cache
def _upload_paths() -> re.Pattern[str]:
    # The two upload operations' paths, from the URL configuration (a chat id as [^/]+).
    placeholder = uuid.UUID(int=0)
    own = reverse("api:upload_attachment")
    admin = reverse("api:upload_admin_attachment", kwargs={"chat_id": placeholder})
    return re.compile(
        "|".join([re.escape(own), re.escape(admin).replace(re.escape(str(placeholder)), "[^/]+")])
    )


def upload_handlers(request: HttpRequest) -> list[FileUploadHandler]:
    return [
        SizeLimitedUpload(request, settings.DESK_ATTACHMENT_MAX_BYTES),
        MemoryFileUploadHandler(request),
        TemporaryFileUploadHandler(request),
    ]


def limited_uploads(run: Callable[..., Any]) -> Callable[..., Any]:
    """For ninja's `decorate_view`: the operation's request parses its body with the limit."""
    if inspect.iscoroutinefunction(run):

        @functools.wraps(run)
        async def limited_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            request.upload_handlers = upload_handlers(request)
            return await run(request, *args, **kwargs)

        return limited_async

    @functools.wraps(run)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        request.upload_handlers = upload_handlers(request)
        return run(request, *args, **kwargs)

    return limited
