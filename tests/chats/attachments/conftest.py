"""Fixtures for the attachments' tests: a storage folder of each test's own, a small size limit
(most tests; one test runs at the real default), and clients that upload as each kind of person:
a desk user's session, an admin's session, an embedded widget's bearer token."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponseBase
from django.test import Client

from chats.embed import tokens
from chats.models import Attachment

# The socket fixtures, for the tests of send_message with attachments.
from tests.realtime.conftest import layer as layer
from tests.realtime.conftest import own_redis_namespace as own_redis_namespace
from tests.realtime.conftest import rest as rest
from tests.realtime.conftest import ws as ws

SMALL_LIMIT = 64 * 1024


@pytest.fixture(autouse=True)
def storage_dir(settings: Any, tmp_path: Path) -> Path:
    """The attachments' files in this test's own folder; the size limit small."""
    folder = tmp_path / "attachments"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    settings.DESK_ATTACHMENT_MAX_BYTES = SMALL_LIMIT
    return folder


def stored(folder: Path) -> list[Path]:
    """Every file in the storage folder."""
    return sorted(path for path in folder.rglob("*") if path.is_file())


class Uploader:
    """A browser (or an embedded widget) that uploads and fetches as one person."""

    def __init__(self, user: Any = None, *, bearer: str | None = None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if bearer is not None:
            self.headers["Authorization"] = f"Bearer {bearer}"
        elif user is not None:
            self.client.force_login(user)

    def upload(
        self,
        data: bytes,
        name: str = "file.bin",
        *,
        chat_id: Any = None,
        content_type: str = "application/octet-stream",
    ) -> Any:
        path = (
            "/api/support_chat/attachments"
            if chat_id is None
            else f"/api/admin/chats/{chat_id}/attachments"
        )
        upload = SimpleUploadedFile(name, data, content_type=content_type)
        return self.client.post(path, {"file": upload}, headers=self.headers)

    def post_message(self, body: dict[str, Any], *, chat_id: Any = None) -> Any:
        path = (
            "/api/support_chat/messages"
            if chat_id is None
            else f"/api/admin/chats/{chat_id}/messages"
        )
        return self.client.post(path, body, content_type="application/json", headers=self.headers)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api{path}", params, headers=self.headers)


Make = Callable[..., Uploader]


@pytest.fixture
def uploader() -> Make:
    """`uploader(user)`: that user's browser; `uploader(bearer=token)`: an embedded widget;
    `uploader()`: anonymous."""
    return Uploader


def bearer_of(user: Any) -> str:
    return tokens.desk_token_issue(user).token


def fetch(url: str, *, method: str = "get", client: Client | None = None) -> HttpResponseBase:
    """A signed URL fetched as an `<img src>` on another site would: no cookie, no credential
    (unless a logged-in `client` is given)."""
    parts = urlsplit(url)
    response: HttpResponseBase = getattr(client or Client(), method)(f"{parts.path}?{parts.query}")
    return response


def body(response: Any) -> bytes:
    """A response's bytes, the streamed ones included (desk streams files asynchronously)."""
    if not response.streaming:
        return bytes(response.content)

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)()


def upload_id(response: Any) -> uuid.UUID:
    assert response.status_code == 201, response.content
    return uuid.UUID(response.json()["id"])


def attachment(response: Any) -> Attachment:
    return Attachment.objects.get(id=upload_id(response))
