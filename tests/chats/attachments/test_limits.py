"""The size limit (413, as the bytes arrive) and the uploaders' allowance (429)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory

from chats.attachments.errors import FileTooLargeError
from chats.attachments.uploads import MULTIPART_OVERHEAD, SizeLimitedUpload, request_body_limit
from chats.models import Attachment
from desk import settings as desk_settings
from tests.chats.attachments.conftest import SMALL_LIMIT, Make, stored, upload_id

pytestmark = pytest.mark.django_db


def test_a_file_of_exactly_the_limit_is_accepted(uploader: Make, user: Any) -> None:
    upload_id(uploader(user).upload(b"a" * SMALL_LIMIT, "exact.txt"))


def test_a_file_one_byte_over_the_limit_is_413(
    uploader: Make, user: Any, storage_dir: Path
) -> None:
    response = uploader(user).upload(b"a" * (SMALL_LIMIT + 1), "over.txt")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The file is too large: at most 65,536 bytes (0.0625 MB) are accepted."
    }
    assert stored(storage_dir) == []
    assert not Attachment.objects.exists()


def test_the_default_limit_is_10_mib_exactly_accepted_and_one_byte_more_refused(
    uploader: Make, user: Any, settings: Any
) -> None:
    # desk's own default, not this folder's small test limit.
    assert desk_settings.DESK_ATTACHMENT_MAX_BYTES == 10 * 1024 * 1024
    settings.DESK_ATTACHMENT_MAX_BYTES = desk_settings.DESK_ATTACHMENT_MAX_BYTES
    client = uploader(user)
    limit = 10 * 1024 * 1024
    assert client.upload(b"a" * (limit + 1), "over.txt").status_code == 413
    accepted = client.upload(b"a" * limit, "exact.txt")
    assert accepted.status_code == 201
    assert accepted.json()["size"] == limit


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_parsed(
    uploader: Make, user: Any
) -> None:
    upload = SimpleUploadedFile("small.txt", b"tiny")
    client = uploader(user).client
    response = client.post(
        "/api/support_chat/attachments",
        {"file": upload},
        CONTENT_LENGTH=str(SMALL_LIMIT + MULTIPART_OVERHEAD + 1),
    )
    assert response.status_code == 413
    assert not Attachment.objects.exists()


def test_the_limit_stops_the_upload_at_the_chunk_that_goes_over_it() -> None:
    # Django's parser feeding the handlers chunk by chunk: the handler that keeps the file never
    # receives more than the limit.
    limit = 100_000
    request = RequestFactory().post("/")
    kept = MemoryFileUploadHandler(request)
    limiter = SizeLimitedUpload(request, limit)
    boundary = "desk-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    payload = head + b"a" * (limit * 3) + f"\r\n--{boundary}--\r\n".encode()
    received: list[int] = []
    original = kept.receive_data_chunk

    def counted(raw_data: bytes, start: int) -> bytes | None:
        received.append(len(raw_data))
        return original(raw_data, start)

    kept.receive_data_chunk = counted  # type: ignore[method-assign]
    meta = {
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(payload) - limit * 2),  # a client that lied about its size
    }
    parser = MultiPartParser(meta, io.BytesIO(payload), [limiter, kept], "utf-8")
    with pytest.raises(FileTooLargeError):
        parser.parse()
    assert sum(received) <= limit


# --- The allowance -------------------------------------------------------------------------------


def test_uploads_beyond_the_hourly_allowance_are_429_with_retry_after(
    uploader: Make, user: Any, settings: Any, storage_dir: Path
) -> None:
    settings.DESK_UPLOADS_PER_HOUR = 2
    client = uploader(user)
    upload_id(client.upload(b"one\n", "1.txt"))
    upload_id(client.upload(b"two\n", "2.txt"))
    refused = client.upload(b"three\n", "3.txt")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Too many uploads: at most 2 per 3600 s.")
    assert int(refused["Retry-After"]) > 0
    assert len(stored(storage_dir)) == 2


def test_uploaded_megabytes_beyond_the_hourly_allowance_are_429(
    uploader: Make, user: Any, settings: Any
) -> None:
    settings.DESK_UPLOAD_MB_PER_HOUR = 1
    settings.DESK_ATTACHMENT_MAX_BYTES = 700 * 1024
    client = uploader(user)
    upload_id(client.upload(b"a" * 600 * 1024, "first.txt"))
    refused = client.upload(b"a" * 600 * 1024, "second.txt")
    assert refused.status_code == 429
    assert "uploaded data" in refused.json()["detail"]


def test_each_person_has_an_allowance_of_their_own(
    uploader: Make, user: Any, other_user: Any, settings: Any
) -> None:
    settings.DESK_UPLOADS_PER_HOUR = 1
    upload_id(uploader(user).upload(b"mine\n", "1.txt"))
    upload_id(uploader(other_user).upload(b"theirs\n", "1.txt"))


def test_a_file_refused_for_its_type_costs_nothing_of_the_allowance(
    uploader: Make, user: Any, settings: Any
) -> None:
    settings.DESK_UPLOADS_PER_HOUR = 1
    client = uploader(user)
    assert client.upload(b"MZ\x00\x00binary", "setup.exe").status_code == 415
    upload_id(client.upload(b"fine\n", "ok.txt"))


def test_the_request_thread_pool_may_read_an_upload_body_of_the_file_limit_and_its_framing(
    settings: Any,
) -> None:
    # What desk/runtime/threadpool.py reads of a body before Django: 2.5 MB, but for uploads.
    settings.DESK_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    upload_body = 10 * 1024 * 1024 + MULTIPART_OVERHEAD
    assert request_body_limit("/api/support_chat/attachments") == upload_body
    chat_id = "0d4f1c7a-5a8e-4a8b-9a51-1b2f4c3d2e10"
    assert request_body_limit(f"/api/admin/chats/{chat_id}/attachments") == upload_body
    for path in (
        "/api/support_chat/messages",
        f"/api/admin/chats/{chat_id}/messages",
        f"/api/admin/chats/{chat_id}/x/attachments",
        "/api/support_chat/attachments/extra",
    ):
        assert request_body_limit(path) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# --- Refused before Django: the request thread pool (desk/runtime/threadpool.py) ---------------

SHOP = "https://shop.example"


async def refused_upload(path: str, *headers: tuple[bytes, bytes]) -> tuple[int, dict, dict]:
    """A body declared far past the upload limit, sent to the pool as desk configures it: the
    answer's status, headers and JSON body (Django, behind the pool, never runs)."""
    from desk.runtime.threadpool import RequestThreadPool

    async def django(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the request reached Django")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": True}

    scope = {
        "type": "http",
        "path": path,
        "headers": [(b"content-length", b"999999999"), *headers],
    }
    await RequestThreadPool.from_settings(django)(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), json.loads(sent[1]["body"])


@pytest.mark.asyncio
async def test_an_upload_far_over_the_limit_is_refused_before_django_naming_the_file_limit(
    settings: Any,
) -> None:
    settings.DESK_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    status, _, body = await refused_upload("/api/support_chat/attachments")
    assert status == 413
    assert body == {
        "detail": "The file is too large: at most 10,485,760 bytes (10 MB) are accepted."
    }


@pytest.mark.asyncio
async def test_an_embedding_page_can_read_the_refusal_of_its_upload(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [SHOP]
    status, headers, _ = await refused_upload(
        "/api/support_chat/attachments", (b"origin", SHOP.encode())
    )
    assert status == 413
    assert headers[b"access-control-allow-origin"] == SHOP.encode()
    assert headers[b"vary"] == b"origin"


@pytest.mark.asyncio
async def test_another_site_gets_no_cors_grant_on_a_refusal(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [SHOP]
    _, headers, _ = await refused_upload(
        "/api/support_chat/attachments", (b"origin", b"https://evil.example")
    )
    assert b"access-control-allow-origin" not in headers


@pytest.mark.asyncio
async def test_the_admin_api_gets_no_cors_grant_on_a_refusal_even_from_an_embedding_site(
    settings: Any,
) -> None:
    settings.CORS_ALLOWED_ORIGINS = [SHOP]
    chat_id = "0d4f1c7a-5a8e-4a8b-9a51-1b2f4c3d2e10"
    _, headers, _ = await refused_upload(
        f"/api/admin/chats/{chat_id}/attachments", (b"origin", SHOP.encode())
    )
    assert b"access-control-allow-origin" not in headers
