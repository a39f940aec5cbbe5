"""Embedded people racing, each on its own database connection, as server processes would."""

from __future__ import annotations

from typing import Any

import pytest

from chats import services as chat_services
from chats.embed import services
from chats.embed.identity import Identity
from chats.errors import PermissionDeniedError
from chats.models import Contact, SupportChat, SupportMessage
from tests.chats.test_concurrency import WRITERS, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_one_person_first_seen_on_several_devices_at_once_is_one_contact() -> None:
    identity = Identity("shop-42", "ada@shop.example", "Ada")
    contacts = race(lambda i: services.identified_contact(identity))
    assert len({contact.pk for contact in contacts}) == 1
    assert Contact.objects.count() == 1


def test_a_guest_posting_while_their_browser_signs_in_loses_no_message() -> None:
    guest = services.guest_create(client="203.0.113.7").contact
    chat_services.user_message_post(user=guest.user, content="before")
    person = services.identified_contact(Identity("shop-42", "", ""))

    def act(i: int) -> Any:
        if i == 0:
            return services.guest_merge(guest=guest, into=person)
        try:
            return chat_services.user_message_post(user=guest.user, content=f"during {i}")
        except PermissionDeniedError as refused:  # the guest is gone once the merge commits
            return refused

    race(act)
    contents = set(SupportMessage.objects.values_list("content", flat=True))
    posted_before_merge = {f"during {i}" for i in range(1, WRITERS)} & contents
    assert "before" in contents
    # Every message either reached the person's chat with the merge, or was refused outright:
    # none was left in a deleted chat.
    assert SupportChat.objects.count() == 1
    chat = SupportChat.objects.get()
    assert chat.user_id == person.user_id
    assert SupportMessage.objects.filter(chat=chat).count() == len(posted_before_merge) + 1
    assert chat.message_count == len(posted_before_merge) + 1
