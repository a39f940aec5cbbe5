"""People from the embedded widget (chats/embed/), made as desk makes them, for the dashboard's
tests: a guest, an identified person, and many of both at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model

from chats import services
from chats.embed.identity import Identity
from chats.embed.services import guest_create, identified_contact
from chats.models import Contact, ContactKind, SenderType, SupportChat, SupportMessage
from tests.chats.test_admin_list import START


def guest(name: str = "Gina Guest", email: str = "gina@visitor.example", **extra: Any) -> Contact:
    """A guest who gave a name and an (unconfirmed) address, and wrote once."""
    contact = guest_create(client="203.0.113.7", name=name, email=email, **extra).contact
    services.user_message_post(user=contact.user, content="Hello from the shop page")
    return contact


def identified(
    sub: str = "shop-4417", email: str = "ida@shop.example", name: str = "Ida Shopper"
) -> Contact:
    """A person the host site identified (its `sub`, email and name), who wrote once."""
    contact = identified_contact(Identity(sub=sub, email=email, name=name))
    services.user_message_post(user=contact.user, content="Where is order 4417?")
    return contact


def chat_of(contact: Contact) -> SupportChat:
    return SupportChat.objects.get(user_id=contact.user_id)


def make_contact_chats(count: int, *, messages_each: int = 2) -> list[SupportChat]:
    """`count` chats of contacts, guests and identified in turn, chat i last active at START + i
    minutes (as tests.chats.test_admin_list.make_chats, with contacts)."""
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(username=f"contact-{i}", email="" if i % 2 == 0 else f"p{i}@shop.example")
        for i in range(count)
    )
    Contact.objects.bulk_create(
        Contact(user=user, kind=ContactKind.GUEST, name=f"Guest {i}", email=f"g{i}@visitor.example")
        if i % 2 == 0
        else Contact(
            user=user,
            kind=ContactKind.IDENTIFIED,
            external_id=f"shop-{i}",
            name=f"Person {i}",
            email=user.email,
            email_confirmed_at=START,
        )
        for i, user in enumerate(users)
    )
    chats = SupportChat.objects.bulk_create(
        SupportChat(
            user=user,
            last_message_at=START + timedelta(minutes=i),
            # The newest of the user's messages below.
            last_user_message_at=START + timedelta(minutes=i, seconds=-1)
            if messages_each
            else None,
            message_count=messages_each,
        )
        for i, user in enumerate(users)
    )
    SupportMessage.objects.bulk_create(
        SupportMessage(
            chat=chat,
            sender=chat.user,
            sender_type=SenderType.USER,
            content=f"message {n}",
            created_at=chat.last_message_at - timedelta(seconds=messages_each - n),
        )
        for chat in chats
        if chat.last_message_at is not None
        for n in range(messages_each)
    )
    return chats
