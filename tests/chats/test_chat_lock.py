"""What chats offers other apps about a chat: its lock, and which of its replies are unread."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from chats import services
from chats.errors import NotFoundError
from chats.models import SenderType, SupportChat, SupportMessage
from notifications.services import reply_email_claim

HOLD = 0.5  # seconds the first holder keeps the lock


def test_unread_replies_are_the_admin_replies_the_user_has_not_read(
    user: Any, say: Any, reply: Any
) -> None:
    say("question")
    read = reply("read already")
    unread = reply("not yet")
    SupportMessage.objects.filter(id=read.id).update(read_at=timezone.now())
    assert list(SupportMessage.objects.unread_replies()) == [unread]


def test_unread_replies_narrow_any_set_of_messages(
    user: Any, other_user: Any, admin: Any, chat: SupportChat
) -> None:
    mine = services.admin_reply_post(admin=admin, chat_id=chat.id, content="for ann")
    theirs = services.chat_get_or_create(user=other_user)
    services.admin_reply_post(admin=admin, chat_id=theirs.id, content="for ben")
    assert list(SupportMessage.objects.filter(chat=chat).unread_replies()) == [mine]


def test_chat_lock_reads_the_chat_with_its_user_in_one_query(
    chat: SupportChat, django_assert_num_queries: Any
) -> None:
    with transaction.atomic(), django_assert_num_queries(1):
        locked = services.chat_lock(chat.id)
        assert locked.user.email == "ann@example.com"
    assert locked == chat


def test_chat_lock_of_an_unknown_chat_is_not_found(db: None) -> None:
    with transaction.atomic(), pytest.raises(NotFoundError):
        services.chat_lock(uuid.uuid4())


# --- Serialising writers (PostgreSQL: row locks between connections) ------------------------------


def _hold_lock_then(chat_id: uuid.UUID, work: Any, locked: threading.Event) -> threading.Thread:
    """A thread that takes the chat's lock, signals `locked`, does `work`, waits, then commits."""

    def run() -> None:
        try:
            with transaction.atomic():
                services.chat_lock(chat_id)
                locked.set()
                work()
                time.sleep(HOLD)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_chat_lock_waits_until_the_first_holder_commits(chat: SupportChat) -> None:
    locked = threading.Event()
    holder = _hold_lock_then(chat.id, lambda: None, locked)
    assert locked.wait(5)
    started = time.monotonic()
    with transaction.atomic():
        services.chat_lock(chat.id)
        waited = time.monotonic() - started
    holder.join()
    assert waited >= HOLD * 0.8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reply_email_decision_waits_for_a_writer_holding_the_chat_lock(
    admin: Any, chat: SupportChat
) -> None:
    first = SupportMessage.objects.create(
        chat=chat,
        sender=admin,
        sender_type=SenderType.ADMIN,
        content="one",
        created_at=timezone.now(),
    )
    second_id = uuid.uuid4()

    def write_a_second_reply() -> None:
        SupportMessage.objects.create(
            id=second_id,
            chat=chat,
            sender=admin,
            sender_type=SenderType.ADMIN,
            content="two",
            created_at=timezone.now(),
        )

    locked = threading.Event()
    writer = _hold_lock_then(chat.id, write_a_second_reply, locked)
    assert locked.wait(5)
    email = reply_email_claim(message_id=first.id)
    writer.join()
    # The claim ran after the writer committed, so it listed the writer's reply too.
    assert email is not None
    listed = set(email.decisions.values_list("message_id", flat=True))
    assert listed == {first.id, second_id}
