"""Support starts a conversation: a guest link from the chat list page (a form) or REST
(POST /api/admin/guest_links), emailed on request, opening desk's full-page chat."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from freezegun import freeze_time

from chats import signals
from chats.embed.tokens import desk_token_issue
from chats.models import AdminAction, ChatAuditEntry, Contact, ContactKind, SupportChat
from tests.chats.contacts import guest, identified
from tests.chats.test_dashboard import LIST, browser

pytestmark = pytest.mark.django_db

URL = "/admin/guest_links"
FORM = "/desk/guest_links"


@pytest.fixture
def invitations() -> Iterator[list[dict[str, Any]]]:
    """Every `guest_invited` sent (after the commit), with its arguments."""
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    signals.guest_invited.connect(receiver, dispatch_uid="tests.guest_invited")
    yield sent
    signals.guest_invited.disconnect(dispatch_uid="tests.guest_invited")


def link_path(url: str) -> str:
    return urlsplit(url).path


def bearer(contact: Contact) -> Client:
    """The browser of someone from the embedded widget: a desk token, no session."""
    token = desk_token_issue(contact.user).token
    return Client(headers={"Authorization": f"Bearer {token}"})


def post_json(client: Client, body: Any) -> Any:
    return client.post(f"/api{URL}", body, content_type="application/json")


# --- REST ----------------------------------------------------------------------------------------


def test_an_admin_gets_a_link_to_a_new_guest_chat(api: Any, admin: Any) -> None:
    with freeze_time("2026-03-02 09:00:00"):
        response = api(admin).post(URL, {"name": "Gina", "email": "gina@visitor.example"})
    assert response.status_code == 201
    body = response.json()
    assert body["url"].startswith(f"{settings.SITE_URL}/chat/")
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires == datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(
        seconds=settings.DESK_GUEST_LINK_MAX_AGE
    )
    chat = SupportChat.objects.select_related("user__contact").get(id=body["chat_id"])
    contact = chat.user.contact
    assert (contact.kind, contact.name, contact.invited_by) == (ContactKind.GUEST, "Gina", admin)
    # Support typed the address: reply emails may go there.
    assert contact.email_confirmed_at is not None
    assert chat.user.email == "gina@visitor.example"


def test_the_new_chat_records_who_invited(api: Any, admin: Any) -> None:
    chat_id = api(admin).post(URL, {"name": "Gina"}).json()["chat_id"]
    [entry] = ChatAuditEntry.objects.filter(chat_id=chat_id)
    assert (entry.action, entry.actor) == (AdminAction.INVITED, admin)


def test_the_new_chat_is_in_the_list_with_its_guest(api: Any, admin: Any) -> None:
    chat_id = api(admin).post(URL, {"name": "Gina"}).json()["chat_id"]
    [item] = api(admin).get("/admin/chats").json()["items"]
    assert item["id"] == chat_id
    assert item["contact"]["name"] == "Gina"


def test_the_link_opens_the_full_page_chat(api: Any, admin: Any) -> None:
    url = api(admin).post(URL, {"name": "Gina"}).json()["url"]
    response = Client().get(link_path(url))
    assert response.status_code == 200
    token = link_path(url).split("/")[2]
    assert f'data-desk-guest-link="{token}"' in response.text
    assert response["Cache-Control"] == "no-store"


def test_an_expired_link_is_404(api: Any, admin: Any) -> None:
    made = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with freeze_time(made):
        url = api(admin).post(URL, {"name": "Gina"}).json()["url"]
    with freeze_time(made + timedelta(seconds=settings.DESK_GUEST_LINK_MAX_AGE + 60)):
        response = Client().get(link_path(url))
    assert response.status_code == 404
    assert "expired" in response.text


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature
        # Another contact's id ({"c": 999999}) under this link's signature.
        lambda token: "eyJjIjo5OTk5OTl9" + token[token.index(":") :],
        lambda token: "not-a-link",
        lambda token: "x" * 600,
    ],
    ids=["signature", "payload", "garbage", "oversized"],
)
def test_a_forged_link_is_404(api: Any, admin: Any, forge: Any) -> None:
    url = api(admin).post(URL, {"name": "Gina"}).json()["url"]
    token = link_path(url).split("/")[2]
    assert Client().get(f"/chat/{forge(token)}/").status_code == 404


def test_a_link_whose_guest_was_forgotten_is_404(api: Any, admin: Any) -> None:
    body = api(admin).post(URL, {"name": "Gina"}).json()
    SupportChat.objects.get(id=body["chat_id"]).user.delete()
    assert Client().get(link_path(body["url"])).status_code == 404


def test_the_link_is_emailed_after_the_commit_when_asked(
    api: Any, admin: Any, invitations: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        body = (
            api(admin)
            .post(URL, {"name": "Gina", "email": "gina@visitor.example", "send_email": True})
            .json()
        )
        assert invitations == []
    for callback in callbacks:
        callback()
    [sent] = invitations
    assert sent["url"] == body["url"]
    assert sent["admin"] == admin
    assert str(sent["contact"].user.support_chat.id) == body["chat_id"]


def test_the_link_is_not_emailed_unless_asked(
    api: Any, admin: Any, invitations: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        api(admin).post(URL, {"name": "Gina", "email": "gina@visitor.example"})
    assert invitations == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 7}, "name"),
        ({"name": "Gina", "email": "not an address"}, "email"),
        ({"name": "Gina", "email": "x" * 250 + "@a.b"}, "email"),
        ({"name": "Gina", "send_email": True}, "email"),
        ({"name": "Gina", "email": "", "send_email": True}, "email"),
        ({"name": "Gina", "send_email": "often"}, "send_email"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    api: Any, admin: Any, body: dict[str, Any], field: str
) -> None:
    response = api(admin).post(URL, body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
    assert not Contact.objects.exists()


def test_a_body_that_is_not_json_is_refused(admin: Any) -> None:
    session = browser(admin)
    assert session.post(f"/api{URL}", "{not json", content_type="application/json").status_code == (
        400
    )
    assert session.post(f"/api{URL}", {"name": "Gina"}).status_code == 415
    assert not Contact.objects.exists()


def test_a_user_who_is_not_staff_is_refused(api: Any, user: Any) -> None:
    assert api(user).post(URL, {"name": "Gina"}).status_code == 403
    assert not Contact.objects.exists()


def test_anonymous_is_refused(api: Any, db: None) -> None:
    assert api().post(URL, {"name": "Gina"}).status_code == 401


@pytest.mark.parametrize("person", [guest, identified])
def test_someone_from_the_widget_is_refused_with_their_token(person: Any) -> None:
    # Admin endpoints take the session only: a desk token is no credential there.
    contact = person()
    assert post_json(bearer(contact), {"name": "Gina"}).status_code == 401
    assert Contact.objects.count() == 1


def test_a_contact_with_a_session_somehow_is_still_no_admin(api: Any, db: None) -> None:
    contact = guest()
    assert api(contact.user).post(URL, {"name": "Gina"}).status_code == 403


def test_a_demoted_admins_session_is_refused(api: Any, admin: Any) -> None:
    session = api(admin)
    admin.is_staff = False
    admin.save()
    assert session.post(URL, {"name": "Gina"}).status_code == 403


def test_without_the_csrf_token_the_admins_request_is_refused(api: Any, admin: Any) -> None:
    assert api(admin, csrf=True).post(URL, {"name": "Gina"}).status_code == 403
    assert not Contact.objects.exists()


# --- The form on the list page (no JavaScript) ---------------------------------------------------


def form_result(response: Any) -> str:
    match = re.search(r'id="guest-link-url" type="text" readonly value="([^"]*)"', response.text)
    assert match, response.text
    return unescape(match.group(1))


def test_the_list_page_has_the_guest_link_form(admin: Any) -> None:
    page = browser(admin).get(LIST).text
    assert 'action="/desk/guest_links"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="send_email" value="1"' in page


def test_the_form_shows_the_link_to_copy(admin: Any) -> None:
    response = browser(admin).post(FORM, {"name": "Gina", "email": "gina@visitor.example"})
    assert response.status_code == 200
    url = form_result(response)
    assert url.startswith(f"{settings.SITE_URL}/chat/")
    chat = SupportChat.objects.get(user__contact__name="Gina")
    assert f'href="/desk/chats/{chat.id}/" data-guest-link-chat' in response.text
    assert Client().get(link_path(url)).status_code == 200


def test_the_forms_checkbox_emails_the_link(
    admin: Any, invitations: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(admin).post(
            FORM, {"name": "Gina", "email": "gina@visitor.example", "send_email": "1"}
        )
    [sent] = invitations
    assert sent["url"] == form_result(response)


def test_the_form_refuses_a_missing_name_with_the_field_marked(admin: Any) -> None:
    response = browser(admin).post(FORM, {"name": " ", "email": "gina@visitor.example"})
    assert response.status_code == 422
    assert 'id="guest-name" name="name"' in response.text
    assert re.search(r'id="guest-name"[^>]*aria-invalid="true"', response.text)
    assert "Give the guest&#x27;s name." in response.text
    # What was typed is kept.
    assert 'value="gina@visitor.example"' in response.text
    assert not Contact.objects.exists()


def test_the_form_refuses_sending_without_an_address(admin: Any) -> None:
    response = browser(admin).post(FORM, {"name": "Gina", "send_email": "1"})
    assert response.status_code == 422
    assert re.search(r'id="guest-email"[^>]*aria-invalid="true"', response.text)
    assert not Contact.objects.exists()


def test_the_form_needs_the_csrf_token(admin: Any) -> None:
    session = Client(enforce_csrf_checks=True)
    session.force_login(admin)
    assert session.post(FORM, {"name": "Gina"}).status_code == 403
    assert not Contact.objects.exists()


def test_the_form_is_refused_to_a_user_who_is_not_staff(user: Any) -> None:
    assert browser(user).post(FORM, {"name": "Gina"}).status_code == 403
    assert not Contact.objects.exists()


def test_the_form_sends_anonymous_visitors_to_log_in(db: None) -> None:
    response = browser().post(FORM, {"name": "Gina"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_forms_address_answers_only_posts(admin: Any) -> None:
    assert browser(admin).get(FORM).status_code == 405
