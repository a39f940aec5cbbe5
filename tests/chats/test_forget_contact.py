"""Erasing someone from the embedded widget (GDPR): `manage.py forget_contact` and the Django
admin's delete remove their user, chat, messages and email records, and nothing of anyone else."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from chats import services
from chats.management.commands.forget_contact import Command
from chats.models import Contact, SupportChat, SupportMessage
from notifications.models import ReplyEmail
from tests.chats.contacts import chat_of, guest, identified
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

User = get_user_model()


def with_history(contact: Contact, admin: Any) -> SupportChat:
    """The contact's chat with a reply and the reply's email record."""
    chat = chat_of(contact)
    services.admin_reply_post(admin=admin, chat_id=chat.id, content="Here to help.")
    ReplyEmail.objects.create(
        chat=chat, user=contact.user, to_address="x@visitor.example", next_attempt_at=timezone.now()
    )
    return chat


def forget(*args: str) -> str:
    out = io.StringIO()
    call_command("forget_contact", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def gone(contact: Contact, chat: SupportChat) -> bool:
    return not (
        User.objects.filter(pk=contact.user_id).exists()
        or Contact.objects.filter(pk=contact.pk).exists()
        or SupportChat.objects.filter(pk=chat.pk).exists()
        or SupportMessage.objects.filter(chat_id=chat.pk).exists()
        or ReplyEmail.objects.filter(chat_id=chat.pk).exists()
    )


@pytest.fixture
def desk_user_chat(user: Any, admin: Any) -> SupportChat:
    """A desk user's chat with history: it must survive every erasure."""
    services.user_message_post(user=user, content="I am a desk user")
    chat = SupportChat.objects.get(user=user)
    services.admin_reply_post(admin=admin, chat_id=chat.id, content="Hello Ann")
    ReplyEmail.objects.create(
        chat=chat, user=user, to_address=user.email, next_attempt_at=timezone.now()
    )
    return chat


def desk_user_intact(chat: SupportChat) -> bool:
    return (
        SupportMessage.objects.filter(chat=chat).count() == 2
        and ReplyEmail.objects.filter(chat=chat).count() == 1
    )


# --- The command ---------------------------------------------------------------------------------


def test_forgetting_by_host_id_removes_the_person_and_all_they_left(
    admin: Any, desk_user_chat: SupportChat
) -> None:
    ida = identified(sub="shop-4417")
    chat = with_history(ida, admin)
    out = forget("--external-id", "shop-4417")
    assert gone(ida, chat)
    assert desk_user_intact(desk_user_chat)
    assert f"Contact {ida.pk} (identified, name 'Ida Shopper'" in out
    assert f"removed chat {chat.id}, 2 messages, " in out
    assert "1 notifications.ReplyEmail" in out
    assert "Removed 1 contact." in out


def test_forgetting_by_email_removes_every_guest_who_gave_it(admin: Any) -> None:
    first = guest(email="Gina@Visitor.example")
    second = guest(email="gina@visitor.example")
    other = guest(email="someone@else.example")
    chats = [with_history(contact, admin) for contact in (first, second)]
    out = forget("--email", "gina@visitor.example")
    assert gone(first, chats[0])
    assert gone(second, chats[1])
    assert Contact.objects.filter(pk=other.pk).exists()
    assert "Removed 2 contacts." in out


def test_forgetting_by_contact_id(admin: Any) -> None:
    gina = guest()
    chat = with_history(gina, admin)
    forget("--contact-id", str(gina.pk))
    assert gone(gina, chat)


def test_a_dry_run_says_what_would_go_and_removes_nothing(admin: Any) -> None:
    ida = identified()
    chat = with_history(ida, admin)
    out = forget("--external-id", "shop-4417", "--dry-run")
    assert f"would remove chat {chat.id}, 2 messages, " in out
    assert "Would remove 1 contact." in out
    assert SupportMessage.objects.filter(chat=chat).count() == 2
    assert ReplyEmail.objects.filter(chat=chat).exists()


def test_a_contact_without_a_chat_is_removed_too(db: None) -> None:
    from chats.embed.services import guest_create

    contact = guest_create(client="203.0.113.7", name="Quiet").contact
    out = forget("--contact-id", str(contact.pk))
    assert "no chat, 0 messages" in out
    assert not User.objects.filter(pk=contact.user_id).exists()


def test_nothing_matching_is_an_error(db: None) -> None:
    guest()
    with pytest.raises(CommandError, match="No contact matches"):
        forget("--external-id", "nobody")
    assert Contact.objects.count() == 1


def test_nothing_matching_exits_non_zero(db: None) -> None:
    with pytest.raises(SystemExit) as exit:
        Command().run_from_argv(["manage.py", "forget_contact", "--contact-id", "999999"])
    assert exit.value.code != 0


def test_a_desk_users_address_is_never_forgotten(
    user: Any, desk_user_chat: SupportChat, capsys: Any
) -> None:
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("forget_contact", "--email", user.email, stdout=io.StringIO(), stderr=err)
    assert User.objects.filter(pk=user.pk).exists()
    assert desk_user_intact(desk_user_chat)
    assert "one of desk's own users, not a contact: left untouched" in err.getvalue()


def test_an_admins_address_is_never_forgotten(admin: Any) -> None:
    with pytest.raises(CommandError):
        forget("--email", admin.email)
    assert User.objects.filter(pk=admin.pk, is_staff=True).exists()


def test_a_contact_who_shares_a_desk_users_address_goes_alone(
    user: Any, admin: Any, desk_user_chat: SupportChat
) -> None:
    gina = guest(email=user.email)
    chat = with_history(gina, admin)
    forget("--email", user.email)
    assert gone(gina, chat)
    assert desk_user_intact(desk_user_chat)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--email", "a@b.example", "--external-id", "x"],
        ["--contact-id", "seven"],
    ],
)
def test_the_command_wants_exactly_one_way_to_find_the_person(args: list[str]) -> None:
    with pytest.raises(CommandError):
        forget(*args)


# --- The Django admin ----------------------------------------------------------------------------


@pytest.fixture
def superuser(db: None) -> Any:
    return make_user("root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def django_admin(superuser: Any) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def test_the_admin_lists_contacts_with_their_details(django_admin: Client) -> None:
    identified(sub="shop-4417", name="Ida Shopper")
    guest(name="Gina Guest")
    page = django_admin.get("/admin/chats/contact/").text
    for text in ("Ida Shopper", "shop-4417", "Gina Guest", "ida@shop.example"):
        assert text in page


def test_the_admin_searches_contacts(django_admin: Client) -> None:
    identified(sub="shop-4417", name="Ida Shopper")
    guest(name="Gina Guest")
    page = django_admin.get("/admin/chats/contact/", {"q": "4417"}).text
    assert "Ida Shopper" in page
    assert "Gina Guest" not in page


def test_the_admins_delete_page_lists_everything_that_goes(
    django_admin: Client, admin: Any
) -> None:
    gina = guest()
    chat = with_history(gina, admin)
    page = django_admin.get(f"/admin/chats/contact/{gina.pk}/delete/").text
    assert "Are you sure" in page
    assert str(chat) in page
    assert "Reply email" in page or "reply email" in page


def test_deleting_in_the_admin_removes_the_person_and_all_they_left(
    django_admin: Client, admin: Any, desk_user_chat: SupportChat
) -> None:
    gina = guest()
    chat = with_history(gina, admin)
    response = django_admin.post(f"/admin/chats/contact/{gina.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert gone(gina, chat)
    assert desk_user_intact(desk_user_chat)


def test_the_admins_bulk_delete_removes_each_person_and_all_they_left(
    django_admin: Client, admin: Any, desk_user_chat: SupportChat
) -> None:
    people = [guest(), identified()]
    chats = [with_history(contact, admin) for contact in people]
    response = django_admin.post(
        "/admin/chats/contact/",
        {
            "action": "delete_selected",
            "_selected_action": [str(contact.pk) for contact in people],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert all(gone(contact, chat) for contact, chat in zip(people, chats, strict=True))
    assert desk_user_intact(desk_user_chat)


def test_contacts_cannot_be_added_or_edited_in_the_admin(django_admin: Client) -> None:
    gina = guest()
    assert django_admin.get("/admin/chats/contact/add/").status_code == 403
    django_admin.post(f"/admin/chats/contact/{gina.pk}/change/", {"name": "Changed"})
    gina.refresh_from_db()
    assert gina.name == "Gina Guest"
