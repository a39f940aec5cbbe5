"""The one place attachment bytes leave desk: `/files/<attachment id>/<file|thumb>?u=&e=&s=`.

Cheap, and silent about what exists:
- the signature is checked before any query (chats/attachments/links.py); a forged or tampered
  URL, an unknown variant, a missing parameter: 404 at the cost of an HMAC;
- one query then finds the attachment if the URL's person may fetch it now (an active admin; the
  chat's active user, for an attached file or their own waiting upload): 404 alike for an id that
  names nothing and one that is not theirs;
- a URL desk signed that has expired is 403, saying so (its holder had it legitimately).

The bytes stream from the storage in chunks. Every answer carries `X-Content-Type-Options:
nosniff` and `Content-Security-Policy: default-src 'none'; sandbox`: whatever a file holds, a
browser neither guesses another type for it nor runs anything in it on desk's origin. Images
(and thumbnails) show inline; every other type is `Content-Disposition: attachment`, with the
file's name (RFC 6266, `filename*` in UTF-8 for names beyond ASCII).
"""

from __future__ import annotations

import logging
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from chats import selectors
from chats.attachments import links, storage
from chats.models import Attachment

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

SANDBOX = "default-src 'none'; sandbox"
NOT_FOUND = gettext_lazy("No such file.")
UNAVAILABLE = gettext_lazy("The file store cannot be reached just now; try again in a moment.")
EXPIRED = gettext_lazy(
    "This link has expired: load the message (or GET the attachment from the API) again for a "
    "fresh one."
)


@require_safe
async def attachment_file(
    request: HttpRequest, attachment_id: uuid.UUID, variant: str
) -> HttpResponseBase:
    try:
        asked = links.link_check(
            attachment_id,
            variant,
            viewer=request.GET.get("u", ""),
            expires=request.GET.get("e", ""),
            signature=request.GET.get("s", ""),
        )
    except links.LinkExpired:
        return _plain(403, EXPIRED)
    except links.LinkRefused:
        return _plain(404, NOT_FOUND)
    found = await sync_to_async(selectors.attachment_to_serve)(
        viewer_id=asked.viewer_id, attachment_id=asked.attachment_id
    )
    if found is None or (asked.variant is links.Variant.THUMBNAIL and not found.thumbnail_name):
        return _plain(404, NOT_FOUND)
    served = _Served(found, asked.variant)
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(b"", content_type=served.content_type)
    else:
        # The first chunk is read before answering: a store that fails now gets a clear 503,
        # not a response cut off after its headers.
        chunks = storage.file_chunks(served.name)
        try:
            first = await sync_to_async(_next_chunk)(chunks)
        except Exception:
            logger.exception("attachment %s could not be read from its storage", found.id)
            return _plain(503, UNAVAILABLE)
        response = StreamingHttpResponse(_streamed(first, chunks), content_type=served.content_type)
    response["Content-Length"] = str(served.size)
    response["Content-Disposition"] = disposition(served.filename, inline=served.inline)
    response["Cache-Control"] = f"private, max-age={max(int(asked.expires - time.time()), 0)}"
    # An <img> in the widget on another site must be able to load it.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    _harmless(response)
    return response


class _Served:
    def __init__(self, attachment: Attachment, variant: links.Variant) -> None:
        thumbnail = variant is links.Variant.THUMBNAIL
        self.name = attachment.thumbnail_name if thumbnail else attachment.storage_name
        self.size = (attachment.thumbnail_size or 0) if thumbnail else attachment.size
        content_type = attachment.thumbnail_content_type if thumbnail else attachment.content_type
        self.inline = content_type.startswith("image/")
        self.content_type = (
            f"{content_type}; charset=utf-8" if content_type.startswith("text/") else content_type
        )
        self.filename = attachment.name
        if thumbnail:
            stem = attachment.name.rsplit(".", 1)[0]
            self.filename = f"{stem}-thumbnail.{'png' if content_type.endswith('png') else 'jpg'}"


async def _streamed(first: bytes | None, chunks: Generator[bytes]) -> AsyncIterator[bytes]:
    # The storage is read in a thread, a chunk at a time: a slow client holds one chunk, never
    # the file (Django would read a synchronous iterator whole before sending it over ASGI).
    try:
        chunk = first
        while chunk is not None:
            yield chunk
            chunk = await sync_to_async(_next_chunk)(chunks)
    finally:
        await sync_to_async(chunks.close)()


def _next_chunk(chunks: Generator[bytes]) -> bytes | None:
    return next(chunks, None)


def disposition(filename: str, *, inline: bool) -> str:
    """`attachment` (or `inline`) with the file's name: plain `filename` when it is printable
    ASCII, else an ASCII stand-in there and the name itself in UTF-8 as `filename*` (RFC 6266,
    RFC 5987), which every current browser prefers."""
    kind = "inline" if inline else "attachment"
    plain = "".join(
        char
        for char in unicodedata.normalize("NFKD", filename)
        if " " <= char <= "~" and char not in '"\\'
    ).strip()
    if plain == filename:
        return f'{kind}; filename="{plain}"'
    extension = filename.rsplit(".", 1)[-1] if "." in filename else ""
    if not plain.strip(". ") or plain.startswith("."):
        plain = f"file.{extension}" if extension.isascii() and extension else "file"
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _plain(status: int, detail: StrOrPromise) -> HttpResponse:
    # In the request's language (LocaleMiddleware, which also adds Vary: Accept-Language).
    response = HttpResponse(str(detail), status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    _harmless(response)
    return response


def _harmless(response: HttpResponseBase) -> None:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    # The URL is a credential: never sent on as a Referer by anything the file links to.
    response["Referrer-Policy"] = "no-referrer"
