"""The decision records stay consistent with the chats they describe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import RestrictedError
from django.utils import timezone

from chats.models import SupportMessage
from notifications.models import EmailPreference, ReplyDecision, ReplyEmail, SkipReason


@pytest.fixture
def emailed(
    reply: Callable[[str], SupportMessage], notify: Callable[[SupportMessage], None]
) -> ReplyEmail:
    notify(reply("Your refund is on its way."))
    return ReplyEmail.objects.get()


def test_deleting_a_user_deletes_their_email_records(emailed: ReplyEmail, user: Any) -> None:
    user.delete()

    assert not ReplyEmail.objects.exists()
    assert not ReplyDecision.objects.exists()
    assert not EmailPreference.objects.exists()


def test_an_email_record_that_lists_replies_cannot_be_deleted_on_its_own(
    emailed: ReplyEmail,
) -> None:
    # Its replies would look undecided, and the sweep would email them again.
    with pytest.raises(RestrictedError):
        emailed.delete()


def test_a_reply_cannot_be_decided_twice(emailed: ReplyEmail) -> None:
    message = emailed.decisions.get().message

    with pytest.raises(IntegrityError), transaction.atomic():
        ReplyDecision.objects.create(
            message=message, skip_reason=SkipReason.READ, decided_at=timezone.now()
        )


def test_a_decision_is_either_an_email_or_a_reason(
    reply: Callable[[str], SupportMessage],
) -> None:
    message = reply("Your refund is on its way.")

    with pytest.raises(IntegrityError), transaction.atomic():
        ReplyDecision.objects.create(message=message, decided_at=timezone.now())
