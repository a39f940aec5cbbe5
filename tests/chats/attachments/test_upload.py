"""POST /api/support_chat/attachments and POST /api/admin/chats/{id}/attachments: who may upload,
what the answer is, and what is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chats.embed import services as embed_services
from chats.embed.identity import Identity
from chats.models import Attachment, SupportChat
from tests.chats.attachments import files
from tests.chats.attachments.conftest import Make, attachment, bearer_of, stored, upload_id

pytestmark = pytest.mark.django_db


def test_a_users_upload_answers_201_with_the_attachment(uploader: Make, user: Any) -> None:
    response = uploader(user).upload(files.pdf(), "Invoice March.pdf")
    assert response.status_code == 201
    answer = response.json()
    assert set(answer) >= {"id", "name", "size", "content_type"}
    assert answer["name"] == "Invoice March.pdf"
    assert answer["size"] == len(files.pdf())
    assert answer["content_type"] == "application/pdf"
    assert answer["url"].startswith("http")
    assert (answer["thumbnail_url"], answer["width"], answer["height"]) == (None, None, None)


def test_an_upload_is_kept_in_the_users_chat_waiting_for_a_message(
    uploader: Make, user: Any, chat: SupportChat
) -> None:
    kept = attachment(uploader(user).upload(files.pdf(), "a.pdf"))
    assert (kept.chat_id, kept.uploader_id, kept.message_id) == (chat.id, user.pk, None)


def test_an_upload_stores_the_bytes_under_a_name_of_desks_own(
    uploader: Make, user: Any, storage_dir: Path
) -> None:
    kept = attachment(uploader(user).upload(files.pdf(), "../../etc/passwd.pdf"))
    [path] = stored(storage_dir)
    assert path.read_bytes() == files.pdf()
    assert path.name == kept.id.hex
    assert kept.name == "passwd.pdf"


def test_a_first_upload_creates_the_users_chat(uploader: Make, user: Any) -> None:
    upload_id(uploader(user).upload(files.pdf(), "a.pdf"))
    assert SupportChat.objects.filter(user=user).exists()


def test_an_embedded_persons_bearer_token_uploads_without_a_cookie(
    uploader: Make, settings: Any
) -> None:
    person = embed_services.identified_contact(
        Identity(sub="shop-1", email="ann@shop.example", name="Ann")
    )
    response = uploader(bearer=bearer_of(person.user)).upload(files.png(), "cat.png")
    assert attachment(response).chat.user_id == person.user_id


def test_a_guest_uploads_with_their_desk_token(uploader: Make) -> None:
    guest = embed_services.guest_create(client="192.0.2.9", name="Gus").contact
    response = uploader(bearer=bearer_of(guest.user)).upload(b"hello\n", "note.txt")
    assert attachment(response).uploader_id == guest.user_id


def test_a_refused_bearer_token_is_401_even_with_a_session(uploader: Make, user: Any) -> None:
    client = uploader(user)
    client.headers["Authorization"] = "Bearer not-a-token"
    assert client.upload(files.pdf(), "a.pdf").status_code == 401


def test_an_anonymous_upload_is_401(uploader: Make, storage_dir: Path) -> None:
    response = uploader().upload(files.pdf(), "a.pdf")
    assert response.status_code == 401
    assert stored(storage_dir) == []


def test_the_session_upload_needs_the_csrf_token(user: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    upload = SimpleUploadedFile("a.pdf", files.pdf())
    response = browser.post("/api/support_chat/attachments", {"file": upload})
    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_an_upload_without_a_file_is_422(uploader: Make, user: Any) -> None:
    response = uploader(user).client.post("/api/support_chat/attachments", {"other": "x"})
    assert response.status_code == 422


def test_an_empty_file_is_422(uploader: Make, user: Any) -> None:
    response = uploader(user).upload(b"", "empty.txt")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "file"


def test_an_admin_uploads_into_a_users_chat(uploader: Make, admin: Any, chat: SupportChat) -> None:
    kept = attachment(uploader(admin).upload(files.png(), "screenshot.png", chat_id=chat.id))
    assert (kept.chat_id, kept.uploader_id) == (chat.id, admin.pk)


def test_a_non_admin_cannot_upload_into_a_chat_by_id(
    uploader: Make, other_user: Any, chat: SupportChat
) -> None:
    response = uploader(other_user).upload(files.png(), "x.png", chat_id=chat.id)
    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_an_admin_upload_into_an_unknown_chat_is_404(
    uploader: Make, admin: Any, storage_dir: Path
) -> None:
    response = uploader(admin).upload(
        files.png(), "x.png", chat_id="00000000-0000-4000-8000-000000000000"
    )
    assert response.status_code == 404
    assert stored(storage_dir) == []


def test_an_upload_is_listed_in_the_openapi_schema(admin: Any) -> None:
    from django.test import Client

    browser = Client()
    browser.force_login(admin)
    paths = browser.get("/api/openapi.json").json()["paths"]
    operation = paths["/api/support_chat/attachments"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert "/api/admin/chats/{chat_id}/attachments" in paths
    assert {"413", "415", "429"} <= set(operation["responses"])


def test_the_embedded_widgets_site_may_upload_cross_origin(settings: Any) -> None:
    from django.test import Client

    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example"]
    preflight = Client().options(
        "/api/support_chat/attachments",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "authorization" in preflight["Access-Control-Allow-Headers"]
