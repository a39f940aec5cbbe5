"""Where the bytes live: Django's STORAGES["attachments"] (desk/settings.py): a folder under
DESK_DATA_DIR by default, any S3-compatible store through django-storages when
DESK_ATTACHMENTS_S3_BUCKET is set.

Stored names are desk's own (`<2 hex>/<attachment id hex>[.thumb]`), never derived from what the
uploader called the file. Nothing here lists a storage, and nothing serves its files but the
signed view (chats/attachments/views.py), which reads them in chunks.

Deleting follows the database: `files_delete_on_commit` drops the bytes once the transaction
that deleted the rows commits. A storage that fails then (S3 unreachable) gets the names again
from a Celery task with retries (chats.tasks.attachment_files_delete); a deletion that still fails
is logged with the names.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Generator, Iterable

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.db import transaction

logger = logging.getLogger(__name__)

STORAGE_ALIAS = "attachments"
CHUNK_SIZE = 64 * 1024
THUMBNAIL_SUFFIX = ".thumb"


def attachment_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def stored_name(attachment_id: uuid.UUID, *, thumbnail: bool = False) -> str:
    suffix = THUMBNAIL_SUFFIX if thumbnail else ""
    return f"{attachment_id.hex[:2]}/{attachment_id.hex}{suffix}"


def file_save(name: str, content: bytes | File[bytes]) -> str:
    """Store `content` (bytes, or a file read in chunks) under `name`; returns the name the
    storage used."""
    return attachment_storage().save(
        name, ContentFile(content) if isinstance(content, bytes) else content
    )


def file_chunks(name: str) -> Generator[bytes]:
    """The stored bytes of `name`, CHUNK_SIZE at a time, never the whole file at once."""
    storage = attachment_storage()
    bucket = getattr(storage, "bucket", None)
    if bucket is not None:
        # django-storages' S3 file downloads the whole object into a temporary file before the
        # first read; the object's body streams instead. `_normalize_name` (django-storages 1.14)
        # applies the storage's `location` prefix exactly as its saving did.
        body = bucket.Object(storage._normalize_name(name)).get()["Body"]  # type: ignore[attr-defined]
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        finally:
            body.close()
        return
    with storage.open(name, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk


def files_delete(names: Iterable[str]) -> list[str]:
    """Delete the stored files; returns the names the storage failed to delete."""
    storage = attachment_storage()
    failed = []
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except Exception:
            logger.exception("attachment file %s could not be deleted", name)
            failed.append(name)
    return failed


def files_delete_on_commit(names: Iterable[str], *, using: str | None = None) -> None:
    """Delete the stored files once the current transaction commits (at once outside one)."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(functools.partial(_delete_or_retry_later, names), using=using)


def _delete_or_retry_later(names: list[str]) -> None:
    failed = files_delete(names)
    if not failed:
        return
    from chats.tasks import attachment_files_delete

    try:
        attachment_files_delete.apply_async(args=[failed], countdown=60)
    except Exception:
        logger.exception("attachment files left in storage, to delete by hand: %s", failed)
