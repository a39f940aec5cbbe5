"""Files leave with their rows: uploads never attached are swept after a day, and deleting a chat
or a person deletes their files once the deletion commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from freezegun import freeze_time

from celery_app import app
from chats import services, tasks
from chats.attachments.storage import stored_name
from chats.embed import services as embed_services
from chats.embed.identity import Identity
from chats.models import Attachment, SupportChat
from tests.chats.attachments import files
from tests.chats.attachments.conftest import Make, attachment, bearer_of, stored, upload_id

pytestmark = pytest.mark.django_db


def test_an_upload_never_attached_is_deleted_with_its_files_after_a_day(
    uploader: Make, user: Any, storage_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with freeze_time("2026-03-01 09:00:00") as clock:
        kept = attachment(uploader(user).upload(files.png(), "forgotten.png"))
        assert len(stored(storage_dir)) == 2  # the image and its thumbnail
        clock.move_to("2026-03-02 09:00:01")
        with django_capture_on_commit_callbacks(execute=True):
            tasks.attachments_sweep()
    assert not Attachment.objects.filter(id=kept.id).exists()
    assert stored(storage_dir) == []


def test_the_sweep_leaves_an_upload_younger_than_a_day(
    uploader: Make, user: Any, storage_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with freeze_time("2026-03-01 09:00:00") as clock:
        kept = upload_id(uploader(user).upload(files.pdf(), "draft.pdf"))
        clock.move_to("2026-03-02 08:59:00")
        with django_capture_on_commit_callbacks(execute=True):
            tasks.attachments_sweep()
    assert Attachment.objects.filter(id=kept).exists()
    assert len(stored(storage_dir)) == 1


def test_the_sweep_never_touches_an_attached_file_however_old(
    uploader: Make, user: Any, storage_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with freeze_time("2026-03-01 09:00:00") as clock:
        kept = upload_id(uploader(user).upload(files.pdf(), "sent.pdf"))
        services.user_message_post(user=user, content="", attachment_ids=[kept])
        clock.move_to("2026-04-01 09:00:00")
        with django_capture_on_commit_callbacks(execute=True):
            tasks.attachments_sweep()
    assert Attachment.objects.filter(id=kept).exists()
    assert len(stored(storage_dir)) == 1


def test_sweeping_twice_is_harmless(
    uploader: Make, user: Any, storage_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with freeze_time("2026-03-01 09:00:00") as clock:
        upload_id(uploader(user).upload(files.pdf(), "old.pdf"))
        clock.move_to("2026-03-03 09:00:00")
        with django_capture_on_commit_callbacks(execute=True):
            tasks.attachments_sweep()
            tasks.attachments_sweep()
    assert not Attachment.objects.exists()
    assert stored(storage_dir) == []


def test_an_upload_swept_before_its_message_refuses_the_message(
    uploader: Make, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with freeze_time("2026-03-01 09:00:00") as clock:
        client = uploader(user)
        kept = upload_id(client.upload(files.pdf(), "late.pdf"))
        clock.move_to("2026-03-02 10:00:00")
        with django_capture_on_commit_callbacks(execute=True):
            tasks.attachments_sweep()
        response = client.post_message({"content": "here", "attachment_ids": [str(kept)]})
    assert response.status_code == 422


def test_beat_runs_the_attachments_sweep_hourly() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["attachments-sweep"]
    assert entry["task"] == tasks.attachments_sweep.name == "chats.attachments_sweep"
    assert entry["schedule"] == 3600.0
    assert "chats.attachments_sweep" in app.tasks


# --- Deletions -----------------------------------------------------------------------------------


def test_deleting_a_chat_deletes_its_files_after_the_commit(
    uploader: Make,
    user: Any,
    chat: SupportChat,
    storage_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = uploader(user)
    sent = upload_id(client.upload(files.png(), "a.png"))
    upload_id(client.upload(files.pdf(), "waiting.pdf"))
    services.user_message_post(user=user, content="", attachment_ids=[sent])
    assert len(stored(storage_dir)) == 3
    with django_capture_on_commit_callbacks(execute=False) as pending:
        SupportChat.objects.filter(id=chat.id).delete()
    assert len(stored(storage_dir)) == 3  # not before the commit
    for callback in pending:
        callback()
    assert stored(storage_dir) == []
    assert not Attachment.objects.exists()


def test_a_deletion_that_rolls_back_keeps_the_files(
    uploader: Make,
    user: Any,
    chat: SupportChat,
    storage_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    upload_id(uploader(user).upload(files.pdf(), "a.pdf"))
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                SupportChat.objects.filter(id=chat.id).delete()
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert Attachment.objects.count() == 1
    assert len(stored(storage_dir)) == 1


def test_deleting_a_user_deletes_their_chats_files(
    uploader: Make, user: Any, storage_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    upload_id(uploader(user).upload(files.pdf(), "a.pdf"))
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert stored(storage_dir) == []


def test_forgetting_a_contact_deletes_their_files(
    uploader: Make, admin: Any, storage_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    person = embed_services.identified_contact(
        Identity(sub="shop-77", email="p@shop.example", name="P")
    )
    widget = uploader(bearer=bearer_of(person.user))
    kept = upload_id(widget.upload(files.jpeg(gps=True), "me.jpg"))
    widget.post_message({"attachment_ids": [str(kept)]})
    chat = SupportChat.objects.get(user=person.user)
    upload_id(uploader(admin).upload(files.pdf(), "reply.pdf", chat_id=chat.id))
    assert len(stored(storage_dir)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        embed_services.contact_forget(person)
    assert stored(storage_dir) == []
    assert not Attachment.objects.exists()


def test_forgetting_one_person_leaves_anothers_files(
    uploader: Make, user: Any, storage_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    mine = attachment(uploader(user).upload(files.pdf(), "mine.pdf"))
    guest = embed_services.guest_create(client="192.0.2.3", name="G").contact
    upload_id(uploader(bearer=bearer_of(guest.user)).upload(files.pdf(), "theirs.pdf"))
    with django_capture_on_commit_callbacks(execute=True):
        embed_services.contact_forget(guest)
    assert stored(storage_dir) == [storage_dir / stored_name(mine.id)]


def test_a_guest_merged_into_a_person_keeps_their_files(
    uploader: Make, storage_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    guest = embed_services.guest_create(client="192.0.2.4", name="G").contact
    widget = uploader(bearer=bearer_of(guest.user))
    sent = upload_id(widget.upload(files.pdf(), "sent.pdf"))
    waiting = upload_id(widget.upload(files.pdf(), "waiting.pdf"))
    widget.post_message({"attachment_ids": [str(sent)]})
    person = embed_services.identified_contact(
        Identity(sub="shop-88", email="g@shop.example", name="G")
    )
    with django_capture_on_commit_callbacks(execute=True):
        embed_services.guest_merge(guest=guest, into=person)
    chat = SupportChat.objects.get(user=person.user)
    assert set(Attachment.objects.values_list("id", "chat_id")) == {
        (sent, chat.id),
        (waiting, chat.id),
    }
    assert Attachment.objects.get(id=waiting).uploader_id == person.user_id
    assert len(stored(storage_dir)) == 2


def test_the_retry_task_deletes_files_a_storage_failed_to(
    uploader: Make, user: Any, storage_dir: Path
) -> None:
    kept = attachment(uploader(user).upload(files.pdf(), "a.pdf"))
    Attachment.objects.filter(id=kept.id).update(storage_name="elsewhere")  # the row forgot it
    tasks.attachment_files_delete.run([kept.storage_name])
    tasks.attachment_files_delete.run([kept.storage_name])
    assert stored(storage_dir) == []
