"""Staff alerts on a real Celery worker and the real Redis broker (tests/notifications/workers.py),
with the wait cut to 2 seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from chats import services as chat_services
from chats.models import SupportChat, SupportMessage
from notifications.models import EmailStatus, StaffAlertDecision, StaffAlertEmail, StaffAlertSkip
from tests.notifications.conftest import Broker
from tests.notifications.workers import (  # noqa: F401 (an autouse fixture)
    PATIENCE,
    SWEEP_INTERVAL,
    connections_closed_after_each_task,
    wait_until,
    worker,
)

pytestmark = pytest.mark.django_db(transaction=True)

DELAY = 2
Say = Callable[[str], SupportMessage]


@pytest.fixture(autouse=True)
def short_delay(settings: Any) -> None:
    settings.DESK_STAFF_ALERT_DELAY = DELAY
    settings.DESK_REPLY_SWEEP_INTERVAL = SWEEP_INTERVAL


def test_a_real_worker_alerts_staff_after_the_delay_and_not_before(
    broker: Broker, say: Say, admin: Any, mailoutbox: list[Any]
) -> None:
    with worker():
        said = time.monotonic()
        say("My order never arrived.")

        time.sleep(DELAY - 0.5)
        assert mailoutbox == [], "an alert went out before the delay"
        wait_until(lambda: StaffAlertEmail.objects.filter(status=EmailStatus.SENT).exists())
        alerted = time.monotonic()

    [email] = mailoutbox
    assert email.subject == "New message from ann@example.com"
    assert DELAY <= alerted - said < DELAY + PATIENCE


def test_a_real_worker_alerts_nobody_when_an_admin_answers_within_the_delay(
    broker: Broker, say: Say, admin: Any, chat: SupportChat, mailoutbox: list[Any]
) -> None:
    with worker():
        message = say("My order never arrived.")
        chat_services.admin_reply_post(admin=admin, chat_id=chat.id, content="On it.")
        wait_until(lambda: StaffAlertDecision.objects.filter(message=message).exists())

    assert StaffAlertDecision.objects.get(message=message).skip_reason == StaffAlertSkip.ANSWERED
    assert [m.subject for m in mailoutbox if m.subject.startswith("New message")] == []
