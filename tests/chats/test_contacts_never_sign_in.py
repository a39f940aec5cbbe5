"""People from the embedded widget (contacts) can never sign in to desk: no staff flag, no
superuser flag, no password, ever.

The choice: a model-level guard (chats.receivers.contact_user_guard, a pre_save on User) refuses
to save a contact's user with any of the three, whatever the path (the Django admin, the shell, a
data fix); the Django admin does not even offer them for a contact. With its unusable password a
contact cannot log in at /accounts/login/ and gets no password-reset email; and were a session
made for one regardless (tests below force one), /desk/ and /admin/ still refuse it, since
neither a staff flag nor a superuser flag can be saved. A raw SQL UPDATE is outside any guard.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from chats.errors import PermissionDeniedError
from chats.models import Contact
from tests.chats.contacts import guest, identified
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

User = get_user_model()

PEOPLE = [guest, identified]


def stored(contact: Contact) -> Any:
    return User.objects.get(pk=contact.user_id)


# --- The guard -----------------------------------------------------------------------------------


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_a_contact_is_never_saved_with_a_staff_flag(person: Any, flag: str) -> None:
    user = person().user
    setattr(user, flag, True)
    with pytest.raises(PermissionDeniedError):
        user.save()
    assert not getattr(User.objects.get(pk=user.pk), flag)


@pytest.mark.parametrize("person", PEOPLE)
def test_a_contact_is_never_saved_with_a_password(person: Any) -> None:
    user = person().user
    user.set_password("let-me-in-123")
    with pytest.raises(PermissionDeniedError):
        user.save()
    assert not User.objects.get(pk=user.pk).has_usable_password()


def test_naming_the_field_in_update_fields_is_refused_too() -> None:
    user = guest().user
    user.is_staff = True
    with pytest.raises(PermissionDeniedError):
        user.save(update_fields=["is_staff"])
    assert not User.objects.get(pk=user.pk).is_staff


def test_other_changes_to_a_contacts_user_are_saved() -> None:
    user = identified().user
    user.is_active = False
    user.save()
    assert not User.objects.get(pk=user.pk).is_active


def test_desk_users_are_made_staff_as_ever(user: Any) -> None:
    user.is_staff = True
    user.save()
    assert User.objects.get(pk=user.pk).is_staff


# --- Signing in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("password", ["", "!", "let-me-in-123"])
def test_a_contact_cannot_log_in(person: Any, password: str) -> None:
    user = person().user
    browser = Client()
    response = browser.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 200  # the form again, with its error
    assert "sessionid" not in browser.cookies
    assert browser.get("/desk/").status_code == 302


def test_a_contact_gets_no_password_reset_email(db: None) -> None:
    user = identified(email="ida@shop.example").user
    assert user.email == "ida@shop.example"
    Client().post("/accounts/password_reset/", {"email": "ida@shop.example"})
    assert mail.outbox == []


@pytest.mark.parametrize("person", PEOPLE)
def test_a_session_made_for_a_contact_reaches_no_desk_page(person: Any) -> None:
    browser = Client()
    browser.force_login(person().user)
    assert browser.get("/desk/").status_code == 403
    assert browser.post("/desk/guest_links", {"name": "x"}).status_code == 403
    admin_page = browser.get("/admin/", follow=True)
    assert admin_page.request["PATH_INFO"] == "/admin/login/"


# --- The Django admin's user pages ---------------------------------------------------------------


@pytest.fixture
def django_admin(db: None) -> Client:
    client = Client()
    client.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    return client


def test_the_admin_offers_no_staff_flags_for_a_contacts_user(django_admin: Client) -> None:
    user = guest().user
    page = django_admin.get(f"/admin/auth/user/{user.pk}/change/").text
    for field in ("is_staff", "is_superuser", "groups", "user_permissions"):
        assert f'name="{field}"' not in page


def test_the_admin_still_offers_them_for_a_desk_user(django_admin: Client, user: Any) -> None:
    page = django_admin.get(f"/admin/auth/user/{user.pk}/change/").text
    assert 'name="is_staff"' in page


def test_the_admin_refuses_to_set_a_contacts_password(django_admin: Client) -> None:
    user = identified().user
    url = f"/admin/auth/user/{user.pk}/password/"
    assert django_admin.get(url).status_code == 403
    response = django_admin.post(url, {"password1": "let-me-in-123", "password2": "let-me-in-123"})
    assert response.status_code == 403
    assert not User.objects.get(pk=user.pk).has_usable_password()


def test_the_admins_password_page_of_an_unknown_user_is_not_an_error(django_admin: Client) -> None:
    assert django_admin.get("/admin/auth/user/not-a-number/password/").status_code == 404
