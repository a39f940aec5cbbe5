"""The people and data every security test is played against, and the figures the tests report.

Five roles: `anonymous`, `owner` (the user whose chat, messages and email links are at stake),
`other` (another ordinary user), `inactive` (logged in, then deactivated: the session outlives the
account) and `admin` (an active `is_staff` user, desk's definition of support staff).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from chats import services
from chats.models import SupportChat, SupportMessage
from notifications import links
from notifications.models import EmailPreference, ReplyEmail
from tests.conftest import make_user

ROLES = ("anonymous", "owner", "other", "inactive", "admin")
# Only the owner and support may ever see this text.
SECRET = "ann-private-7f3a: my order number is 4417"

# Figures quoted in docs/reliability.md; printed at the end of the run (pytest_terminal_summary).
FIGURES: collections.Counter[str] = collections.Counter()


@dataclass
class World:
    owner: Any
    other: Any
    inactive: Any
    admin: Any
    chat: SupportChat
    other_chat: SupportChat
    owner_message: SupportMessage
    reply: SupportMessage
    email: ReplyEmail
    open_token: str
    unsubscribe_token: str

    def expired_open_token(self) -> str:
        """The owner's open link, signed longer ago than DESK_EMAIL_LINK_MAX_AGE."""
        from django.conf import settings

        signed_at = timezone.now() - timedelta(seconds=settings.DESK_EMAIL_LINK_MAX_AGE + 60)
        with freeze_time(signed_at):
            return links.open_token_make(user_pk=self.owner.pk, email_id=self.email.id)

    def tampered_open_token(self) -> str:
        """The owner's open token with its payload changed to name the other user."""
        _, _, stamp_and_signature = self.open_token.partition(".")
        return f"{self.other.pk}.{stamp_and_signature}"


@pytest.fixture
def world(db: None) -> World:
    owner = make_user("ann@example.com", first_name="Ann")
    other = make_user("ben@example.com")
    inactive = make_user("cid@example.com")
    admin = make_user("support@example.com", is_staff=True)
    chat = services.chat_get_or_create(user=owner)
    owner_message = services.user_message_post(user=owner, content=SECRET)
    reply = services.admin_reply_post(admin=admin, chat_id=chat.id, content="About 4417: shipped.")
    other_chat = services.chat_get_or_create(user=other)
    services.user_message_post(user=other, content="Ben's question")
    email = ReplyEmail.objects.create(
        chat=chat, user=owner, to_address=owner.email, next_attempt_at=timezone.now()
    )
    EmailPreference.objects.create(user=other)
    return World(
        owner=owner,
        other=other,
        inactive=inactive,
        admin=admin,
        chat=chat,
        other_chat=other_chat,
        owner_message=owner_message,
        reply=reply,
        email=email,
        open_token=links.open_token_make(user_pk=owner.pk, email_id=email.id),
        unsubscribe_token=EmailPreference.objects.create(user=owner).unsubscribe_token,
    )


@pytest.fixture
def browsers(world: World) -> dict[str, Client]:
    """One browser per role; the inactive user logged in while active, then was deactivated."""
    found = {role: Client() for role in ROLES}
    for role in ("owner", "other", "inactive", "admin"):
        found[role].force_login(getattr(world, role))
    world.inactive.is_active = False
    world.inactive.save(update_fields=["is_active"])
    return found


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("security figures (docs/reliability.md)")
    for name, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {value}")
