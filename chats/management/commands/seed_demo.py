"""Demo data for trying desk: a support admin and customers whose chats are in several states."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from chats import services

ADMIN_EMAIL = "admin@example.com"
DEMO_PASSWORD = "desk-demo"
# customer -> (their question, support's answer); each ends in a different state.
CONVERSATIONS: dict[str, tuple[str | None, str | None]] = {
    # unread for admins
    "alice@example.com": ("Hi! My invoice for March shows the wrong VAT number.", None),
    # answered, the answer not yet read by the customer
    "bob@example.com": (
        "Can I change the email address on my account?",
        "Yes: Settings, then Account, then Email. You will get a confirmation link.",
    ),
    # answered, read, then archived
    "carol@example.com": ("Thanks, that fixed it!", "Glad to hear it. Have a good day!"),
    # opened the widget, said nothing yet
    "dave@example.com": (None, None),
}


class Command(BaseCommand):
    help = "Create demo users and chats (DEBUG only). Running it again changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password of every demo user")

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates users with a known password: DEBUG only.")
        user_model = get_user_model()
        if not user_model.objects.filter(email=ADMIN_EMAIL).exists():
            with transaction.atomic():
                self._seed(user_model, password)
        self.stdout.write(
            f"Demo logins, password {password!r}: {ADMIN_EMAIL} (support admin); "
            f"customers {', '.join(CONVERSATIONS)}"
        )

    def _seed(self, user_model: Any, password: str) -> None:
        admin = user_model.objects.create_user(
            username=ADMIN_EMAIL,
            email=ADMIN_EMAIL,
            password=password,
            is_staff=True,
            is_superuser=True,
        )
        for email, (question, answer) in CONVERSATIONS.items():
            user = user_model.objects.create_user(username=email, email=email, password=password)
            chat = services.chat_get_or_create(user=user)
            if question:
                services.user_message_post(user=user, content=question)
            if answer:
                services.admin_reply_post(admin=admin, chat_id=chat.id, content=answer)
        carol = user_model.objects.get(email="carol@example.com")
        services.messages_mark_read(user=carol)
        services.chat_mark_viewed(admin=admin, chat_id=carol.support_chat.id)
        services.chat_archive(admin=admin, chat_id=carol.support_chat.id)
