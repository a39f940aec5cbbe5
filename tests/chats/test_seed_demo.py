from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from chats.models import SupportChat, SupportMessage

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_an_admin_and_chats_in_several_states(settings: Any) -> None:
    settings.DEBUG = True
    output = seed()
    assert "admin@example.com" in output
    assert "desk-demo" in output
    assert get_user_model().objects.get(email="admin@example.com").is_staff
    chats = SupportChat.objects.all()
    assert chats.count() == 4
    assert chats.filter(archived_at__isnull=False).count() == 1
    assert chats.filter(last_message_at__isnull=True).count() == 1
    assert SupportMessage.objects.filter(sender_type="admin", read_at__isnull=True).exists()


def test_seed_demo_twice_changes_nothing(settings: Any) -> None:
    settings.DEBUG = True
    seed()
    counts = (get_user_model().objects.count(), SupportMessage.objects.count())
    seed()
    assert (get_user_model().objects.count(), SupportMessage.objects.count()) == counts


def test_seed_demo_refuses_to_run_outside_debug(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG only"):
        seed()
    assert not get_user_model().objects.exists()
