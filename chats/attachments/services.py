"""The writes of attachments: an upload, and the clean-up of uploads never attached.

Attaching uploads to a message belongs to the posting services (chats/services.py), which claim
them under the chat's lock; deleting a chat or a person deletes its attachments by cascade, and
their bytes after the commit (chats.models.attachment_files_forget).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chats import ratelimit, selectors
from chats.attachments import filetypes, images, storage
from chats.errors import NotFoundError, UnavailableError
from chats.models import Attachment, SupportChat
from chats.permissions import require_admin, require_current_admin
from chats.services import chat_lock, user_chat_lock

logger = logging.getLogger(__name__)

# Uploads never attached to a message are deleted once this old.
UNATTACHED_MAX_AGE = timedelta(days=1)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class _Prepared:
    content: File[bytes] | bytes
    size: int
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumbnail_type: str = ""


def attachment_upload(
    *, user: User, upload: UploadedFile[bytes], chat_id: uuid.UUID | None = None
) -> Attachment:
    """Keep an upload, not yet attached to any message: into the user's own chat (created on
    first use, as a first message would), or, with `chat_id`, an admin's into that chat.

    The type comes from the content (chats/attachments/filetypes.py); an image is decoded and
    encoded again (chats/attachments/images.py). Raises UnsupportedFileTypeError (415) and
    InvalidInputError (422: empty, damaged, a bomb), then RateLimitedError (the uploader's
    DESK_UPLOADS_PER_HOUR and DESK_UPLOAD_MB_PER_HOUR), PermissionDeniedError, NotFoundError.
    A file refused for its type costs nothing of the allowance; one that fails to decode does
    (decoding is the expensive part). The size limit was enforced as the body arrived
    (chats/attachments/uploads.py).
    """
    if chat_id is not None:
        require_admin(user)
        # Before any work: a chat that is not there is a 404, not a decoded image thrown away.
        if not SupportChat.objects.filter(id=chat_id).exists():
            raise NotFoundError(gettext_lazy("No such chat."))
    found = filetypes.detect(upload)
    size = upload.size or 0
    ratelimit.take_sync(ratelimit.uploads(), user.pk)
    ratelimit.take_sync(ratelimit.upload_kibibytes(), user.pk, cost=ratelimit.kibibytes(size))
    prepared = _prepare(upload, found, size)
    attachment_id = uuid.uuid4()
    name, thumbnail_name = _store(attachment_id, prepared)
    try:
        with transaction.atomic():
            if chat_id is None:
                chat = user_chat_lock(user)
            else:
                require_current_admin(user)
                chat = chat_lock(chat_id)
            attachment = Attachment.objects.create(
                id=attachment_id,
                chat=chat,
                uploader=user,
                name=filetypes.safe_name(upload.name, found),
                size=prepared.size,
                content_type=found.content_type,
                width=prepared.width,
                height=prepared.height,
                storage_name=name,
                thumbnail_name=thumbnail_name,
                thumbnail_size=len(prepared.thumbnail) if prepared.thumbnail else None,
                thumbnail_content_type=prepared.thumbnail_type,
            )
    except BaseException:
        # Nothing refers to the bytes: they go at once.
        storage.files_delete([name, thumbnail_name])
        raise
    return attachment


def unattached_sweep() -> int:
    """Delete the uploads older than UNATTACHED_MAX_AGE that no message carries, with their
    files (after each batch's commit); returns how many. Safe to run twice, or alongside a
    message claiming one of them: the rows are locked and checked again before they go, and a
    message that finds its upload gone is refused."""
    cutoff = timezone.now() - UNATTACHED_MAX_AGE
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(
                selectors.waiting_uploads(older_than=cutoff)
                .select_for_update()
                .values_list("id", flat=True)[:SWEEP_BATCH]
            )
            if batch:
                Attachment.objects.filter(id__in=batch).delete()
        deleted += len(batch)
        if len(batch) < SWEEP_BATCH:
            return deleted


def _store(attachment_id: uuid.UUID, prepared: _Prepared) -> tuple[str, str]:
    # The file, and an image's thumbnail; UnavailableError when the store fails (S3 out of
    # reach, a full disk): the same upload may well work in a moment.
    saved: list[str] = []
    try:
        saved.append(storage.file_save(storage.stored_name(attachment_id), _content(prepared)))
        if prepared.thumbnail is not None:
            thumbnail = storage.stored_name(attachment_id, thumbnail=True)
            saved.append(storage.file_save(thumbnail, prepared.thumbnail))
    except Exception as exc:
        logger.exception("the attachments' storage failed to keep an upload")
        storage.files_delete(saved)
        raise UnavailableError(
            gettext_lazy("The file store cannot take files just now; try again in a moment.")
        ) from exc
    return saved[0], saved[1] if len(saved) > 1 else ""


def _prepare(upload: UploadedFile[bytes], found: filetypes.FileType, size: int) -> _Prepared:
    if not found.is_image:
        return _Prepared(upload, size)
    image = images.image_process(upload, found, max_pixels=settings.DESK_ATTACHMENT_MAX_PIXELS)
    return _Prepared(
        image.content,
        len(image.content),
        image.width,
        image.height,
        image.thumbnail,
        image.thumbnail_type,
    )


def _content(prepared: _Prepared) -> bytes | File[bytes]:
    if isinstance(prepared.content, bytes):
        return prepared.content
    prepared.content.seek(0)
    return prepared.content
