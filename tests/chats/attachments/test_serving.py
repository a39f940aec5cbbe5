"""Fetching a file: only through a signed URL, only for the chat's user and staff, cheaply, and
always with headers that keep the bytes from running as a page on desk's origin."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from freezegun import freeze_time

from chats import services
from chats.attachments import links
from chats.attachments.links import Variant, link
from chats.embed import services as embed_services
from chats.models import Attachment, SupportChat
from tests.chats.attachments import files
from tests.chats.attachments.conftest import Make, attachment, body, fetch, upload_id

pytestmark = pytest.mark.django_db

SANDBOX = "default-src 'none'; sandbox"


@pytest.fixture
def sent_pdf(uploader: Make, user: Any, chat: SupportChat) -> Attachment:
    """A PDF the user sent in a message."""
    kept = attachment(uploader(user).upload(files.pdf(), "Invoice.pdf"))
    services.user_message_post(user=user, content="", attachment_ids=[kept.id])
    kept.refresh_from_db()
    return kept


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode({**query, **changes})}"


def test_a_signed_url_serves_the_file_without_any_cookie(sent_pdf: Attachment, user: Any) -> None:
    response = fetch(link(sent_pdf.id, Variant.FILE, user.pk))
    assert response.status_code == 200
    assert body(response) == files.pdf()


def test_a_download_is_an_attachment_with_nosniff_and_a_sandbox(
    sent_pdf: Attachment, user: Any
) -> None:
    response = fetch(link(sent_pdf.id, Variant.FILE, user.pk))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Invoice.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == SANDBOX
    assert response["Content-Length"] == str(len(files.pdf()))
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_text_file_downloads_as_utf8_text_never_inline(uploader: Make, user: Any) -> None:
    url = uploader(user).upload("Wrap it in <b> tags ✓\n".encode(), "notes.txt").json()["url"]
    response = fetch(url)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Security-Policy"] == SANDBOX


def test_a_non_ascii_name_is_sent_as_rfc_5987_utf8(uploader: Make, user: Any) -> None:
    url = uploader(user).upload(files.pdf(), "Счёт №5.pdf").json()["url"]
    assert fetch(url)["Content-Disposition"] == (
        "attachment; filename=\"No5.pdf\"; filename*=UTF-8''"
        "%D0%A1%D1%87%D1%91%D1%82%20%E2%84%965.pdf"
    )


def test_an_image_is_served_inline_with_the_same_protections(uploader: Make, user: Any) -> None:
    response = fetch(uploader(user).upload(files.png(), "chart.png").json()["url"])
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="chart.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == SANDBOX
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_a_thumbnail_is_served_from_its_own_url(uploader: Make, user: Any) -> None:
    answer = uploader(user).upload(files.png(900, 600), "chart.png").json()
    response = fetch(answer["thumbnail_url"])
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'inline; filename="chart-thumbnail.jpg"'
    assert body(response).startswith(b"\xff\xd8\xff")


def test_a_pdf_has_no_thumbnail(sent_pdf: Attachment, user: Any) -> None:
    assert fetch(link(sent_pdf.id, Variant.THUMBNAIL, user.pk)).status_code == 404


def test_head_answers_the_headers_without_the_bytes(sent_pdf: Attachment, user: Any) -> None:
    response = fetch(link(sent_pdf.id, Variant.FILE, user.pk), method="head")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(files.pdf()))
    assert body(response) == b""


def test_a_post_to_a_file_url_is_405(sent_pdf: Attachment, user: Any) -> None:
    assert fetch(link(sent_pdf.id, Variant.FILE, user.pk), method="post").status_code == 405


def test_staff_fetch_any_chats_file(sent_pdf: Attachment, admin: Any) -> None:
    assert fetch(link(sent_pdf.id, Variant.FILE, admin.pk)).status_code == 200


# --- Who may not ---------------------------------------------------------------------------------


def test_a_url_made_for_another_person_is_404(sent_pdf: Attachment, other_user: Any) -> None:
    response = fetch(link(sent_pdf.id, Variant.FILE, other_user.pk))
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == SANDBOX


def test_a_url_made_for_a_guest_is_404(sent_pdf: Attachment) -> None:
    guest = embed_services.guest_create(client="192.0.2.1", name="Gus").contact
    assert fetch(link(sent_pdf.id, Variant.FILE, guest.user_id)).status_code == 404


def test_an_anonymous_fetch_without_a_signature_is_404(sent_pdf: Attachment) -> None:
    assert fetch(f"http://testserver/files/{sent_pdf.id}/file").status_code == 404


def test_a_logged_in_session_is_no_substitute_for_the_signature(
    sent_pdf: Attachment, user: Any
) -> None:
    from tests.conftest import logged_in

    url = f"http://testserver/files/{sent_pdf.id}/file"
    assert fetch(url, client=logged_in(user)).status_code == 404


def test_an_unknown_id_and_a_forbidden_one_get_the_same_answer(
    sent_pdf: Attachment, other_user: Any
) -> None:
    forbidden = fetch(link(sent_pdf.id, Variant.FILE, other_user.pk))
    unknown = fetch(link(uuid.uuid4(), Variant.FILE, other_user.pk))
    assert (forbidden.status_code, forbidden.content) == (unknown.status_code, unknown.content)


@pytest.mark.parametrize(
    "change",
    [
        {"s": "A" * 43},
        {"u": "999"},
        {"e": "9999999999"},
        {"s": ""},
        {"u": "-1"},
    ],
)
def test_a_tampered_url_is_404(sent_pdf: Attachment, user: Any, change: dict[str, str]) -> None:
    url = with_query(link(sent_pdf.id, Variant.FILE, user.pk), **change)
    assert fetch(url).status_code == 404


def test_a_files_signature_does_not_open_its_thumbnail(uploader: Make, user: Any) -> None:
    url = uploader(user).upload(files.png(), "a.png").json()["url"]
    assert fetch(url.replace("/file?", "/thumb?")).status_code == 404


def test_a_signature_for_one_attachment_does_not_open_another(uploader: Make, user: Any) -> None:
    client = uploader(user)
    first = client.upload(files.pdf(), "a.pdf").json()["url"]
    second = upload_id(client.upload(files.pdf(), "b.pdf"))
    assert fetch(first.replace(first.split("/")[4], str(second))).status_code == 404


def test_an_expired_url_is_403(sent_pdf: Attachment, user: Any, settings: Any) -> None:
    settings.DESK_ATTACHMENT_URL_MAX_AGE = 3600
    with freeze_time("2026-03-01 12:00:00") as clock:
        url = link(sent_pdf.id, Variant.FILE, user.pk)
        clock.tick(1799)
        assert fetch(url).status_code == 200
        clock.tick(3600)
        response = fetch(url)
    assert response.status_code == 403
    assert b"expired" in response.content


def test_urls_last_between_half_and_all_of_their_lifetime_and_repeat_within_a_window(
    sent_pdf: Attachment, user: Any, settings: Any
) -> None:
    settings.DESK_ATTACHMENT_URL_MAX_AGE = 3600
    with freeze_time("2026-03-01 12:00:01"):
        first = link(sent_pdf.id, Variant.FILE, user.pk)
        expires = int(parse_qs(urlsplit(first).query)["e"][0])
        assert 1800 < expires - links.time.time() <= 3600
    with freeze_time("2026-03-01 12:29:59"):
        assert link(sent_pdf.id, Variant.FILE, user.pk) == first


def test_a_deactivated_users_url_stops_working(sent_pdf: Attachment, user: Any) -> None:
    url = link(sent_pdf.id, Variant.FILE, user.pk)
    user.is_active = False
    user.save()
    assert fetch(url).status_code == 404


def test_a_demoted_admins_url_stops_working(sent_pdf: Attachment, admin: Any) -> None:
    url = link(sent_pdf.id, Variant.FILE, admin.pk)
    admin.is_staff = False
    admin.save()
    assert fetch(url).status_code == 404


def test_a_url_signed_with_a_retired_key_works_while_it_is_a_fallback(
    sent_pdf: Attachment, user: Any, settings: Any
) -> None:
    url = link(sent_pdf.id, Variant.FILE, user.pk)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert fetch(url).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert fetch(url).status_code == 404


# --- Waiting uploads -----------------------------------------------------------------------------


def test_a_waiting_upload_is_served_to_its_uploader(uploader: Make, user: Any) -> None:
    url = uploader(user).upload(files.pdf(), "draft.pdf").json()["url"]
    assert fetch(url).status_code == 200


def test_an_admins_waiting_upload_is_not_served_to_the_chats_user(
    uploader: Make, admin: Any, user: Any, chat: SupportChat
) -> None:
    kept = upload_id(uploader(admin).upload(files.pdf(), "draft.pdf", chat_id=chat.id))
    assert fetch(link(kept, Variant.FILE, user.pk)).status_code == 404
    assert fetch(link(kept, Variant.FILE, admin.pk)).status_code == 200


def test_once_sent_an_admins_upload_is_served_to_the_chats_user(
    uploader: Make, admin: Any, user: Any, chat: SupportChat
) -> None:
    kept = upload_id(uploader(admin).upload(files.pdf(), "reply.pdf", chat_id=chat.id))
    services.admin_reply_post(admin=admin, chat_id=chat.id, content="", attachment_ids=[kept])
    assert fetch(link(kept, Variant.FILE, user.pk)).status_code == 200


# --- Cheap ---------------------------------------------------------------------------------------


def test_a_forged_url_costs_no_query(
    sent_pdf: Attachment, user: Any, django_assert_num_queries: Any
) -> None:
    url = with_query(link(sent_pdf.id, Variant.FILE, user.pk), s="forged")
    with django_assert_num_queries(0):
        assert fetch(url).status_code == 404


def test_serving_a_file_costs_one_query(
    sent_pdf: Attachment, user: Any, django_assert_num_queries: Any
) -> None:
    url = link(sent_pdf.id, Variant.FILE, user.pk)
    with django_assert_num_queries(1):
        response = fetch(url)
        assert body(response) == files.pdf()


# --- Fresh URLs from the API ---------------------------------------------------------------------


def test_the_user_gets_fresh_urls_for_an_attachment_of_their_chat(
    uploader: Make, sent_pdf: Attachment, user: Any
) -> None:
    answer = uploader(user).get(f"/support_chat/attachments/{sent_pdf.id}").json()
    assert answer["id"] == str(sent_pdf.id)
    assert fetch(answer["url"]).status_code == 200


def test_another_user_asking_for_an_attachment_gets_404(
    uploader: Make, sent_pdf: Attachment, other_user: Any
) -> None:
    response = uploader(other_user).get(f"/support_chat/attachments/{sent_pdf.id}")
    assert response.status_code == 404


def test_an_admin_gets_fresh_urls_within_the_chat_only(
    uploader: Make, sent_pdf: Attachment, admin: Any, other_user: Any
) -> None:
    client = uploader(admin)
    answer = client.get(f"/admin/chats/{sent_pdf.chat_id}/attachments/{sent_pdf.id}").json()
    assert fetch(answer["url"]).status_code == 200
    other_chat = services.chat_get_or_create(user=other_user)
    wrong = client.get(f"/admin/chats/{other_chat.id}/attachments/{sent_pdf.id}")
    assert wrong.status_code == 404
