"""Claiming an upload races with other claims and with the clean-up, each on its own database
connection: an upload ends up on one message, or swept, never both and never half."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from chats import services
from chats.attachments.services import attachment_upload, unattached_sweep
from chats.errors import InvalidInputError
from chats.models import Attachment, SupportMessage
from tests.chats.attachments import files
from tests.chats.attachments.conftest import stored

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*tasks: Callable[[], Any]) -> list[Any]:
    """Run the tasks on threads released at the same instant; each returns or its exception."""
    start = threading.Barrier(len(tasks))

    def run(task: Callable[[], Any]) -> Any:
        try:
            start.wait()
            return task()
        except Exception as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        return list(pool.map(run, tasks))


def upload(user: Any) -> Attachment:
    return attachment_upload(user=user, upload=SimpleUploadedFile("a.pdf", files.pdf()))


def send(user: Any, kept: Attachment) -> Callable[[], SupportMessage]:
    return lambda: services.user_message_post(user=user, content="", attachment_ids=[kept.id])


def test_two_messages_claiming_one_upload_attach_it_once(user: Any, settings: Any) -> None:
    settings.DESK_MESSAGES_PER_MINUTE = 1000
    for _ in range(5):
        kept = upload(user)
        outcomes = race(*[send(user, kept) for _ in range(4)])
        posted = [outcome for outcome in outcomes if isinstance(outcome, SupportMessage)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, InvalidInputError)]
        assert (len(posted), len(refused)) == (1, 3)
        assert Attachment.objects.get(id=kept.id).message_id == posted[0].id


def test_a_message_racing_the_sweep_for_an_old_upload_gets_it_whole_or_not_at_all(
    user: Any, settings: Any, storage_dir: Path
) -> None:
    settings.DESK_MESSAGES_PER_MINUTE = 1000
    for _ in range(6):
        kept = upload(user)
        Attachment.objects.filter(id=kept.id).update(created_at=timezone.now() - timedelta(days=2))
        message, swept = race(
            send(user, kept),
            unattached_sweep,
        )
        row = Attachment.objects.filter(id=kept.id).first()
        if isinstance(message, SupportMessage):
            assert swept == 0
            assert row is not None
            assert row.message_id == message.id
            assert (storage_dir / row.storage_name).exists()
        else:
            assert isinstance(message, InvalidInputError)
            assert swept == 1
            assert row is None
    # Every file left belongs to an upload that was attached.
    assert len(stored(storage_dir)) == Attachment.objects.filter(message__isnull=False).count()
