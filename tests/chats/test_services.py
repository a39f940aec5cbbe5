from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from freezegun import freeze_time

from chats import selectors, services, signals
from chats.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from chats.models import AdminAction, ChatAuditEntry, SupportChat, SupportMessage
from chats.realtime.protocol import ADMINS_GROUP, Delivery, chat_group


def kinds(announced: list[Delivery]) -> list[tuple[str, str]]:
    return [(group, event["type"]) for group, event in announced]


def unread_for_admin(chat: SupportChat) -> bool:
    return selectors.chat_summary_for_admin(admin=_any_admin(), chat_id=chat.id).unread


def _any_admin() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_staff=True).first()


# --- get-or-create --------------------------------------------------------------------------------


def test_each_user_has_exactly_one_chat(user: Any) -> None:
    first = services.chat_get_or_create(user=user)
    second = services.chat_get_or_create(user=user)
    assert first.id == second.id
    assert SupportChat.objects.filter(user=user).count() == 1


# --- posting --------------------------------------------------------------------------------------


def test_user_message_is_stored_trimmed(user: Any) -> None:
    message = services.user_message_post(user=user, content="  hello there \n")
    message.refresh_from_db()
    assert message.content == "hello there"
    assert message.sender_type == "user"
    assert message.sender == user
    assert message.read_at is None


def test_posting_touches_last_message_at(user: Any, admin: Any, chat: SupportChat) -> None:
    with freeze_time("2026-01-29 10:00:00"):
        services.user_message_post(user=user, content="first")
    with freeze_time("2026-01-29 10:05:00"):
        reply = services.admin_reply_post(admin=admin, chat_id=chat.id, content="second")
    chat.refresh_from_db()
    assert chat.last_message_at == reply.created_at
    assert chat.last_message_at.isoformat() == "2026-01-29T10:05:00+00:00"


def test_message_timestamps_strictly_increase_even_when_the_clock_stands_still(
    user: Any,
) -> None:
    with freeze_time("2026-01-29 10:00:00"):
        messages = [services.user_message_post(user=user, content=f"m{i}") for i in range(3)]
    stamps = [m.created_at for m in messages]
    assert stamps == sorted(set(stamps))


@pytest.mark.parametrize("content", ["", "   ", "\n\t "])
def test_empty_or_whitespace_content_is_refused(user: Any, content: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        services.user_message_post(user=user, content=content)
    assert error.value.field == "content"
    assert not SupportMessage.objects.exists()


def test_content_of_5000_characters_is_accepted(user: Any) -> None:
    message = services.user_message_post(user=user, content="x" * 5000)
    assert len(message.content) == 5000


def test_content_of_5001_characters_is_refused(user: Any) -> None:
    with pytest.raises(InvalidInputError, match="at most 5000"):
        services.user_message_post(user=user, content="x" * 5001)


def test_content_with_a_nul_character_is_refused(user: Any) -> None:
    with pytest.raises(InvalidInputError, match="NUL"):
        services.user_message_post(user=user, content="a\x00b")


def test_content_with_a_lone_surrogate_is_refused(user: Any) -> None:
    with pytest.raises(InvalidInputError, match="Unicode"):
        services.user_message_post(user=user, content="a\ud800b")


def test_user_message_to_an_archived_chat_makes_it_active(
    user: Any, admin: Any, chat: SupportChat
) -> None:
    services.chat_archive(admin=admin, chat_id=chat.id)
    services.user_message_post(user=user, content="one more question")
    chat.refresh_from_db()
    assert chat.archived_at is None


def test_admin_reply_to_an_archived_chat_keeps_it_archived(admin: Any, chat: SupportChat) -> None:
    services.chat_archive(admin=admin, chat_id=chat.id)
    services.admin_reply_post(admin=admin, chat_id=chat.id, content="closing note")
    chat.refresh_from_db()
    assert chat.archived_at is not None


def test_non_staff_user_cannot_reply(other_user: Any, chat: SupportChat) -> None:
    with pytest.raises(PermissionDeniedError):
        services.admin_reply_post(admin=other_user, chat_id=chat.id, content="hi")
    assert not SupportMessage.objects.exists()


def test_inactive_staff_user_cannot_reply(admin: Any, chat: SupportChat) -> None:
    admin.is_active = False
    admin.save()
    with pytest.raises(PermissionDeniedError):
        services.admin_reply_post(admin=admin, chat_id=chat.id, content="hi")


def test_reply_to_an_unknown_chat_is_not_found(admin: Any) -> None:
    import uuid

    with pytest.raises(NotFoundError):
        services.admin_reply_post(admin=admin, chat_id=uuid.uuid4(), content="hi")


# --- a stale identity (a socket holds the user it loaded when it opened) --------------------------


def _changed_behind_its_back(account: Any, **changes: Any) -> Any:
    """`account` as a socket loaded it; the database has `changes` since (no signal sent)."""
    type(account).objects.filter(pk=account.pk).update(**changes)
    return account


def test_a_deactivated_admins_stale_user_object_cannot_reply(admin: Any, chat: SupportChat) -> None:
    stale = _changed_behind_its_back(admin, is_active=False)
    with pytest.raises(PermissionDeniedError):
        services.admin_reply_post(admin=stale, chat_id=chat.id, content="one last reply")
    assert not SupportMessage.objects.exists()


@pytest.mark.parametrize(
    "action", [services.chat_archive, services.chat_unarchive, services.chat_mark_viewed]
)
def test_a_demoted_admins_stale_user_object_cannot_act_on_a_chat(
    action: Any, admin: Any, chat: SupportChat
) -> None:
    stale = _changed_behind_its_back(admin, is_staff=False)
    with pytest.raises(PermissionDeniedError):
        action(admin=stale, chat_id=chat.id)
    assert audit(chat) == []


def test_a_deactivated_users_stale_user_object_cannot_post(user: Any, chat: SupportChat) -> None:
    stale = _changed_behind_its_back(user, is_active=False)
    with pytest.raises(PermissionDeniedError):
        services.user_message_post(user=stale, content="after deactivation")
    assert not SupportMessage.objects.exists()


def test_a_deactivated_users_stale_user_object_cannot_mark_replies_read(
    user: Any, reply: Any
) -> None:
    reply("unread")
    stale = _changed_behind_its_back(user, is_active=False)
    with pytest.raises(PermissionDeniedError):
        services.messages_mark_read(user=stale)
    assert SupportMessage.objects.get().read_at is None


def test_checking_the_admin_against_the_database_costs_one_query(
    admin: Any, chat: SupportChat, django_assert_num_queries: Any
) -> None:
    from chats.permissions import require_current_admin

    with django_assert_num_queries(1):
        require_current_admin(admin)


# --- unread for admin -----------------------------------------------------------------------------


def test_chat_with_a_user_message_never_viewed_is_unread_for_admin(
    say: Any, admin: Any, chat: SupportChat
) -> None:
    say("hello")
    assert unread_for_admin(chat) is True


def test_chat_without_messages_is_not_unread_for_admin(admin: Any, chat: SupportChat) -> None:
    assert unread_for_admin(chat) is False


def test_viewing_clears_unread_for_admin(say: Any, admin: Any, chat: SupportChat) -> None:
    say("hello")
    services.chat_mark_viewed(admin=admin, chat_id=chat.id)
    assert unread_for_admin(chat) is False


def test_user_message_after_viewing_is_unread_again(
    say: Any, admin: Any, chat: SupportChat
) -> None:
    with freeze_time("2026-01-29 10:00:00"):
        say("hello")
        services.chat_mark_viewed(admin=admin, chat_id=chat.id)
    with freeze_time("2026-01-29 10:01:00"):
        say("anyone there?")
    assert unread_for_admin(chat) is True


def test_admin_reply_alone_does_not_make_the_chat_unread_for_admin(
    reply: Any, admin: Any, chat: SupportChat
) -> None:
    reply("we are looking into it")
    assert unread_for_admin(chat) is False


# --- mark read ------------------------------------------------------------------------------------


def test_mark_read_marks_every_unread_admin_reply(user: Any, say: Any, reply: Any) -> None:
    say("question")
    first, second = reply("answer 1"), reply("answer 2")
    assert services.messages_mark_read(user=user) == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at == first.read_at


def test_mark_read_leaves_user_messages_alone(user: Any, say: Any, reply: Any) -> None:
    own = say("question")
    reply("answer")
    services.messages_mark_read(user=user)
    own.refresh_from_db()
    assert own.read_at is None


def test_mark_read_twice_marks_nothing_the_second_time(user: Any, reply: Any) -> None:
    reply("answer")
    services.messages_mark_read(user=user)
    assert services.messages_mark_read(user=user) == 0


def test_mark_read_keeps_the_first_read_time(user: Any, reply: Any) -> None:
    message = reply("answer")
    with freeze_time("2026-01-29 10:00:00"):
        services.messages_mark_read(user=user)
    with freeze_time("2026-01-29 11:00:00"):
        services.messages_mark_read(user=user)
    message.refresh_from_db()
    assert message.read_at.isoformat() == "2026-01-29T10:00:00+00:00"


def test_mark_read_touches_only_the_callers_chat(
    user: Any, other_user: Any, admin: Any, reply: Any
) -> None:
    other_chat = services.chat_get_or_create(user=other_user)
    theirs = services.admin_reply_post(admin=admin, chat_id=other_chat.id, content="for ben")
    reply("for ann")
    services.messages_mark_read(user=user)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_of_given_replies_leaves_the_others_unread(user: Any, reply: Any) -> None:
    first, second = reply("one"), reply("two")
    assert services.messages_mark_read(user=user, message_ids=[first.id]) == 1
    second.refresh_from_db()
    assert second.read_at is None


def test_mark_read_of_given_ids_ignores_another_users_replies(
    user: Any, other_user: Any, admin: Any, reply: Any
) -> None:
    other_chat = services.chat_get_or_create(user=other_user)
    theirs = services.admin_reply_post(admin=admin, chat_id=other_chat.id, content="for ben")
    assert services.messages_mark_read(user=user, message_ids=[theirs.id]) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_without_a_chat_marks_nothing(user: Any) -> None:
    assert services.messages_mark_read(user=user) == 0
    assert not SupportChat.objects.exists()


# --- viewed, archive, unarchive -------------------------------------------------------------------


def test_mark_viewed_records_when(admin: Any, chat: SupportChat) -> None:
    with freeze_time("2026-01-29 10:00:00"):
        viewed_at = services.chat_mark_viewed(admin=admin, chat_id=chat.id)
    chat.refresh_from_db()
    assert chat.admin_viewed_at == viewed_at
    assert viewed_at.isoformat() == "2026-01-29T10:00:00+00:00"


def test_non_staff_user_cannot_mark_a_chat_viewed(other_user: Any, chat: SupportChat) -> None:
    with pytest.raises(PermissionDeniedError):
        services.chat_mark_viewed(admin=other_user, chat_id=chat.id)


def test_archive_sets_archived_at(admin: Any, chat: SupportChat) -> None:
    archived = services.chat_archive(admin=admin, chat_id=chat.id)
    assert archived.archived is True
    chat.refresh_from_db()
    assert chat.archived_at is not None


def test_archiving_an_archived_chat_keeps_the_first_time(admin: Any, chat: SupportChat) -> None:
    first = services.chat_archive(admin=admin, chat_id=chat.id).archived_at
    second = services.chat_archive(admin=admin, chat_id=chat.id).archived_at
    assert first == second


def test_unarchive_makes_the_chat_active(admin: Any, chat: SupportChat) -> None:
    services.chat_archive(admin=admin, chat_id=chat.id)
    assert services.chat_unarchive(admin=admin, chat_id=chat.id).archived is False


@pytest.mark.parametrize("action", [services.chat_archive, services.chat_unarchive])
def test_non_staff_user_cannot_archive_or_restore(
    action: Any, other_user: Any, chat: SupportChat
) -> None:
    with pytest.raises(PermissionDeniedError):
        action(admin=other_user, chat_id=chat.id)


# --- the audit trail ------------------------------------------------------------------------------


def audit(chat: SupportChat) -> list[tuple[str, str]]:
    return [
        (entry.action, entry.actor.email)
        for entry in ChatAuditEntry.objects.filter(chat=chat).order_by("created_at")
    ]


def test_every_admin_action_is_audited_with_who_and_what(
    admin: Any, other_admin: Any, chat: SupportChat
) -> None:
    with freeze_time("2026-01-29 10:00:00") as clock:
        services.chat_mark_viewed(admin=admin, chat_id=chat.id)
        clock.tick(timedelta(seconds=1))
        reply = services.admin_reply_post(admin=admin, chat_id=chat.id, content="hi")
        clock.tick(timedelta(seconds=1))
        services.chat_archive(admin=other_admin, chat_id=chat.id)
        clock.tick(timedelta(seconds=1))
        services.chat_unarchive(admin=admin, chat_id=chat.id)
    assert audit(chat) == [
        (AdminAction.VIEWED, admin.email),
        (AdminAction.REPLIED, admin.email),
        (AdminAction.ARCHIVED, other_admin.email),
        (AdminAction.UNARCHIVED, admin.email),
    ]
    replied = ChatAuditEntry.objects.get(action=AdminAction.REPLIED)
    assert replied.message_id == reply.id
    assert replied.created_at.isoformat() == "2026-01-29T10:00:01+00:00"


def test_archiving_an_archived_chat_is_not_audited_twice(admin: Any, chat: SupportChat) -> None:
    services.chat_archive(admin=admin, chat_id=chat.id)
    services.chat_archive(admin=admin, chat_id=chat.id)
    assert audit(chat) == [(AdminAction.ARCHIVED, admin.email)]


def test_user_actions_are_not_in_the_audit_trail(user: Any, say: Any, chat: SupportChat) -> None:
    say("hello")
    services.messages_mark_read(user=user)
    assert audit(chat) == []


def test_a_refused_action_leaves_no_audit_entry(other_user: Any, chat: SupportChat) -> None:
    with pytest.raises(PermissionDeniedError):
        services.chat_archive(admin=other_user, chat_id=chat.id)
    assert audit(chat) == []


# --- effects after commit -------------------------------------------------------------------------


def test_user_message_is_announced_after_commit(
    user: Any, announced: list[Delivery], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.user_message_post(user=user, content="hello")
        assert announced == []
    for callback in callbacks:
        callback()
    assert kinds(announced) == [
        (chat_group(message.chat_id), "new_message"),
        (ADMINS_GROUP, "new_user_message"),
    ]
    assert [event["message"]["id"] for _, event in announced] == [str(message.id)] * 2


def test_user_message_to_an_archived_chat_also_announces_the_unarchive(
    user: Any,
    admin: Any,
    chat: SupportChat,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    services.chat_archive(admin=admin, chat_id=chat.id)
    announced.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.user_message_post(user=user, content="back again")
    assert kinds(announced) == [
        (chat_group(chat.id), "new_message"),
        (ADMINS_GROUP, "new_user_message"),
        (ADMINS_GROUP, "chat_unarchived"),
    ]
    unarchived = announced[2][1]
    assert unarchived["chat_id"] == str(chat.id)
    assert unarchived["admin"] is None
    assert unarchived["chat"]["archived"] is False


def test_admin_reply_is_announced(
    admin: Any,
    chat: SupportChat,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = services.admin_reply_post(admin=admin, chat_id=chat.id, content="hi")
    assert kinds(announced) == [
        (chat_group(chat.id), "new_message"),
        (ADMINS_GROUP, "new_admin_message"),
    ]
    assert [event["message"]["id"] for _, event in announced] == [str(message.id)] * 2


def test_mark_read_announces_which_messages_were_read(
    user: Any,
    chat: SupportChat,
    reply: Any,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, second = reply("a"), reply("b")
    announced.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.messages_mark_read(user=user)
    assert kinds(announced) == [
        (chat_group(chat.id), "messages_read"),
        (ADMINS_GROUP, "messages_read"),
    ]
    event = announced[0][1]
    assert sorted(event["message_ids"]) == sorted([str(first.id), str(second.id)])
    assert event["read_at"] is not None


def test_mark_read_with_nothing_unread_announces_nothing(
    user: Any,
    chat: SupportChat,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.messages_mark_read(user=user)
    assert announced == []


@pytest.mark.parametrize(
    ("action", "event_type", "to_the_chat"),
    [
        (services.chat_mark_viewed, "chat_viewed", True),
        (services.chat_archive, "chat_archived", False),
    ],
)
def test_admin_actions_are_announced(
    action: Any,
    event_type: str,
    to_the_chat: bool,
    admin: Any,
    chat: SupportChat,
    announced: list[Delivery],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        action(admin=admin, chat_id=chat.id)
    groups = [ADMINS_GROUP, chat_group(chat.id)] if to_the_chat else [ADMINS_GROUP]
    assert kinds(announced) == [(group, event_type) for group in groups]
    for _, event in announced:
        assert event["chat_id"] == str(chat.id)
        assert event["admin"]["id"] == admin.pk


def test_nothing_is_announced_when_the_transaction_rolls_back(
    user: Any, announced: list[Delivery], django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.user_message_post(user=user, content="never committed")
        transaction.set_rollback(True)
    assert announced == []
    assert not SupportMessage.objects.exists()


def test_a_failing_receiver_does_not_undo_the_message_or_stop_the_others(
    user: Any, announced: list[Delivery], django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise ConnectionError("redis is down")

    signals.message_created.connect(broken, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            message = services.user_message_post(user=user, content="still saved")
    finally:
        signals.message_created.disconnect(broken)
    assert SupportMessage.objects.filter(id=message.id).exists()
    assert [kind for _, kind in kinds(announced)] == ["new_message", "new_user_message"]
    assert "redis is down" in caplog.text


def test_timestamps_are_timezone_aware(user: Any) -> None:
    message = services.user_message_post(user=user, content="hello")
    message.refresh_from_db()
    assert timezone.is_aware(message.created_at)
