"""An admin reply that commits schedules its email task on the real broker, delayed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from chats.models import SupportMessage
from tests.notifications.conftest import Broker

Reply = Callable[[str], SupportMessage]


def test_an_admin_reply_schedules_its_task_delayed_by_the_configured_delay(
    reply: Reply, broker: Broker, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DESK_REPLY_NOTIFICATION_DELAY = 420
    with django_capture_on_commit_callbacks(execute=True):
        message = reply("Your refund is on its way.")
    committed = timezone.now()

    [task] = broker.take()
    assert task.name == "notifications.reply_notify"
    assert task.args == [str(message.id)]
    assert task.eta is not None
    assert abs(task.eta - (committed + timedelta(seconds=420))) < timedelta(seconds=2)


def test_each_reply_of_a_burst_schedules_its_own_task(
    reply: Reply, broker: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        messages = [reply("Hi Ann!"), reply("It ships tomorrow.")]

    assert [task.args for task in broker.take()] == [[str(m.id)] for m in messages]


def test_a_user_message_schedules_no_reply_email_only_its_staff_alert(
    say: Callable[[str], SupportMessage], broker: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        say("Hello?")

    assert [task.name for task in broker.take()] == ["notifications.staff_alert_notify"]


def test_a_reply_rolled_back_schedules_nothing(
    reply: Reply, broker: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True),
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        reply("Your refund is on its way.")
        raise RuntimeError("the surrounding request failed")

    assert broker.take() == []
    assert not SupportMessage.objects.exists()
