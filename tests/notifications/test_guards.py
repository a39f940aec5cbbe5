"""The guards and the one-email-per-burst rule, run as the worker runs the task when a reply's
window ends (the window is 5 minutes here; the clock is frozen and moved by hand)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from freezegun import freeze_time

from chats import services as chat_services
from chats.models import SupportChat, SupportMessage
from notifications import services
from notifications.models import (
    EmailPreference,
    EmailStatus,
    ReplyDecision,
    ReplyEmail,
    SkipReason,
    SuppressedAddress,
    SuppressionReason,
)
from tests.notifications.conftest import START

Reply = Callable[[str], SupportMessage]
Notify = Callable[[SupportMessage], None]


def listed(email: Any) -> list[str]:
    """The reply previews in a sent email's text, in order."""
    return [line[2:] for line in email.body.splitlines() if line.startswith("> ")]


def decision(message: SupportMessage) -> ReplyDecision:
    return ReplyDecision.objects.get(message=message)


def test_an_unread_reply_gets_one_email_when_its_window_ends(
    reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:00")
        notify(message)

    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["ann@example.com"]
    assert sent.subject == "New reply from Support"
    assert listed(sent) == ["Your refund is on its way."]
    email = ReplyEmail.objects.get()
    assert email.status == EmailStatus.SENT
    assert email.sent_at.isoformat() == "2026-01-29T10:05:00+00:00"
    assert decision(message).email == email


@dataclass(frozen=True)
class Scene:
    """The people and chat of a guard case, and the user's own mark-read."""

    user: Any
    admin: Any
    chat: SupportChat
    mark_read: Callable[[], int]


def read(scene: Scene) -> None:
    scene.mark_read()


def archived(scene: Scene) -> None:
    chat_services.chat_archive(admin=scene.admin, chat_id=scene.chat.id)


def unsubscribed(scene: Scene) -> None:
    EmailPreference.objects.create(user=scene.user, unsubscribed_at=timezone.now())


# Suppressions are kept lower-cased; the user's address matches whatever its letter case.
SUPPRESSED_AS = "Ann@Example.com"


def suppressed(reason: SuppressionReason) -> Callable[[Scene], None]:
    return lambda scene: services.address_suppress(address=SUPPRESSED_AS, reason=reason)


def deactivated(scene: Scene) -> None:
    scene.user.is_active = False
    scene.user.save()


def without_an_address(scene: Scene) -> None:
    scene.user.email = ""
    scene.user.save()


def nothing(scene: Scene) -> None:
    pass


# (what happens before the reply, what happens at 4:59 into its window, the skip reason recorded)
GUARDS = [
    pytest.param(nothing, read, SkipReason.READ, id="read-at-4m59s"),
    pytest.param(nothing, archived, SkipReason.ARCHIVED, id="archived-at-4m59s"),
    pytest.param(unsubscribed, nothing, SkipReason.UNSUBSCRIBED, id="unsubscribed"),
    pytest.param(
        suppressed(SuppressionReason.BOUNCED), nothing, SkipReason.SUPPRESSED, id="bounced"
    ),
    pytest.param(
        suppressed(SuppressionReason.COMPLAINED), nothing, SkipReason.SUPPRESSED, id="complained"
    ),
    pytest.param(nothing, deactivated, SkipReason.INACTIVE, id="deactivated"),
    pytest.param(without_an_address, nothing, SkipReason.NO_EMAIL, id="no-email-address"),
]


@pytest.mark.parametrize(("before_reply", "in_window", "skip_reason"), GUARDS)
def test_a_reply_gets_no_email_when_a_guard_holds_as_its_window_ends(
    before_reply: Callable[[Scene], None],
    in_window: Callable[[Scene], None],
    skip_reason: SkipReason,
    user: Any,
    admin: Any,
    chat: SupportChat,
    mark_read: Callable[[], int],
    reply: Reply,
    notify: Notify,
    mailoutbox: list[Any],
) -> None:
    scene = Scene(user=user, admin=admin, chat=chat, mark_read=mark_read)
    before_reply(scene)
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:04:59")
        in_window(scene)
        clock.move_to("2026-01-29 10:05:00")
        notify(message)

    assert mailoutbox == []
    assert decision(message).skip_reason == skip_reason
    assert not ReplyEmail.objects.exists()


@pytest.mark.parametrize("reason", [SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED])
def test_a_suppressed_address_is_kept_lower_cased(db: None, reason: SuppressionReason) -> None:
    services.address_suppress(address=SUPPRESSED_AS, reason=reason)

    assert SuppressedAddress.objects.get().address == "ann@example.com"


def test_three_replies_in_a_burst_get_one_email_listing_all_three_oldest_first(
    reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        first = reply("Hi Ann!")
        clock.move_to("2026-01-29 10:00:20")
        second = reply("I've checked your order.")
        clock.move_to("2026-01-29 10:01:00")
        third = reply("It ships tomorrow.")
        # Each reply's own task runs when its own window ends; the first one emails all three.
        for message, window_end in [
            (first, "10:05:00"),
            (second, "10:05:20"),
            (third, "10:06:00"),
        ]:
            clock.move_to(f"2026-01-29 {window_end}")
            notify(message)

    assert len(mailoutbox) == 1
    assert listed(mailoutbox[0]) == ["Hi Ann!", "I've checked your order.", "It ships tomorrow."]
    email = ReplyEmail.objects.get()
    assert {decision(m).email for m in (first, second, third)} == {email}


def test_a_reply_after_the_email_gets_a_second_email_listing_only_it(
    reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        first = reply("Hi Ann!")
        clock.move_to("2026-01-29 10:05:00")
        notify(first)
        clock.move_to("2026-01-29 10:07:00")
        later = reply("One more thing: keep the receipt.")
        clock.move_to("2026-01-29 10:12:00")
        notify(later)

    assert [listed(sent) for sent in mailoutbox] == [
        ["Hi Ann!"],
        ["One more thing: keep the receipt."],
    ]


def test_a_reply_after_the_user_read_the_chat_opens_its_own_window(
    reply: Reply, notify: Notify, mark_read: Callable[[], int], mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        first = reply("Hi Ann!")
        clock.move_to("2026-01-29 10:01:00")
        mark_read()
        clock.move_to("2026-01-29 10:02:00")
        second = reply("Are you still there?")
        clock.move_to("2026-01-29 10:05:00")
        notify(first)
        assert mailoutbox == []
        clock.move_to("2026-01-29 10:07:00")
        notify(second)

    assert [listed(sent) for sent in mailoutbox] == [["Are you still there?"]]
    assert decision(first).skip_reason == SkipReason.READ


def test_the_task_run_twice_sends_one_email(
    reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        clock.move_to("2026-01-29 10:05:00")
        notify(message)
        notify(message)

    assert len(mailoutbox) == 1
    assert ReplyEmail.objects.count() == 1


def test_a_deleted_reply_is_ignored(reply: Reply, notify: Notify, mailoutbox: list[Any]) -> None:
    message = reply("Sent to the wrong chat, sorry.")
    SupportMessage.objects.filter(id=message.id).delete()

    notify(message)

    assert mailoutbox == []
    assert not ReplyDecision.objects.exists()


def test_a_user_message_never_gets_an_email(
    say: Callable[[str], SupportMessage], notify: Notify, mailoutbox: list[Any]
) -> None:
    message = say("Hello?")

    notify(message)

    assert mailoutbox == []
    assert not ReplyDecision.objects.exists()


def test_the_email_goes_to_the_address_the_user_has_when_it_is_sent(
    user: Any, reply: Reply, notify: Notify, mailoutbox: list[Any]
) -> None:
    with freeze_time(START) as clock:
        message = reply("Your refund is on its way.")
        user.email = "ann.new@example.com"
        user.save()
        clock.move_to("2026-01-29 10:05:00")
        notify(message)

    assert mailoutbox[0].to == ["ann.new@example.com"]
    assert ReplyEmail.objects.get().to_address == "ann.new@example.com"


@pytest.mark.parametrize("burst", [1, 10])
def test_the_task_runs_a_fixed_number_of_queries_whatever_the_burst(
    burst: int, reply: Reply, notify: Notify, django_assert_num_queries: Any, user: Any
) -> None:
    EmailPreference.objects.create(user=user)  # as after the user's first email
    messages = [reply(f"Reply number {n}") for n in range(burst)]

    # Deciding: the reply, the savepoint, the chat locked with its user, the reply's state, the
    # preference, the suppression list, the unread replies, the email, the decisions (one insert),
    # the release. Sending: the claim, the email with chat and user, the preference, the replies,
    # the suppression list, the outcome.
    with django_assert_num_queries(16):
        notify(messages[0])
