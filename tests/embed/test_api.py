"""/api/embed/: trading a credential for a desk token, new guests, and the user endpoints with
`Authorization: Bearer`, as an embedded widget on another site calls them (no cookies)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from chats.embed import services
from chats.models import AdminAction, ChatAuditEntry, Contact, SupportChat, SupportMessage
from tests.embed.conftest import Mint

pytestmark = pytest.mark.django_db

HOST = "https://shop.example"


@pytest.fixture
def site(settings: Any) -> Client:
    """A browser on the host site's page: cross-origin, with no desk cookie."""
    settings.DESK_EMBED_ORIGINS = [HOST]
    settings.CORS_ALLOWED_ORIGINS = [HOST]
    return Client(headers={"Origin": HOST}, enforce_csrf_checks=True)


def post(client: Client, path: str, body: Any, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(path, body, content_type="application/json", headers=headers)


def get(client: Client, path: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers)


def exchange(client: Client, **body: Any) -> Any:
    response = post(client, "/api/embed/token", body)
    assert response.status_code == 200, response.content
    return response.json()


def new_guest(client: Client, **body: Any) -> Any:
    response = post(client, "/api/embed/guests", body)
    assert response.status_code == 201, response.content
    return response.json()


# --- identified people ---------------------------------------------------------------------------


def test_an_identity_token_gets_a_desk_token_for_that_person(site: Client, mint: Mint) -> None:
    answer = exchange(site, identity=mint("shop-42", email="ada@shop.example", name="Ada"))
    assert answer["person"] == {
        "kind": "identified",
        "name": "Ada",
        "email": "ada@shop.example",
        "email_confirmed": True,
        "external_id": "shop-42",
    }
    assert answer["chat_id"] is None
    assert answer["expires_in"] == 900


def test_the_same_sub_is_the_same_person_and_chat_on_every_device(site: Client, mint: Mint) -> None:
    phone = exchange(site, identity=mint("shop-42"))["token"]
    post(site, "/api/support_chat/messages", {"content": "from my phone"}, phone)
    laptop = exchange(site, identity=mint("shop-42"))
    page = get(site, "/api/support_chat", laptop["token"]).json()
    assert [m["content"] for m in page["messages"]] == ["from my phone"]
    assert laptop["chat_id"] == page["id"]
    assert Contact.objects.filter(external_id="shop-42").count() == 1


def test_the_latest_token_updates_the_persons_email_and_name(site: Client, mint: Mint) -> None:
    exchange(site, identity=mint("shop-42", email="old@shop.example", name="Ada"))
    exchange(site, identity=mint("shop-42", email="new@shop.example", name="Ada L."))
    contact = Contact.objects.select_related("user").get(external_id="shop-42")
    assert (contact.name, contact.email, contact.user.email) == (
        "Ada L.",
        "new@shop.example",
        "new@shop.example",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"secret": "wrong-secret-" + "x" * 40}, "identity_invalid"),
        ({"lifetime": -120}, "identity_expired"),
        ({"algorithm": "HS512"}, "identity_invalid"),
        ({"lifetime": 2 * 86400}, "identity_invalid"),
    ],
)
def test_a_refused_identity_is_a_401_with_its_reason_and_creates_nobody(
    site: Client, mint: Mint, change: dict[str, Any], reason: str
) -> None:
    response = post(site, "/api/embed/token", {"identity": mint("shop-42", **change)})
    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert response.json()["detail"]
    assert not Contact.objects.exists()


def test_identified_mode_is_off_without_the_secret(site: Client, settings: Any) -> None:
    settings.DESK_IDENTITY_SECRET = ""
    response = post(site, "/api/embed/token", {"identity": "a.b.c"})
    assert (response.status_code, response.json()["reason"]) == (401, "identity_disabled")


def test_nothing_to_exchange_is_a_422_naming_the_field(site: Client) -> None:
    response = post(site, "/api/embed/token", {})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "identity"]


def test_an_oversized_identity_is_a_422(site: Client) -> None:
    response = post(site, "/api/embed/token", {"identity": "x" * 5000})
    assert response.status_code == 422


# --- guests --------------------------------------------------------------------------------------


def test_a_guest_gets_a_secret_and_a_token_but_no_chat_until_the_first_message(
    site: Client,
) -> None:
    guest = new_guest(site, name="Grace")
    assert guest["person"]["kind"] == "guest"
    assert guest["person"]["name"] == "Grace"
    assert guest["chat_id"] is None
    assert guest["guest_secret"]
    assert not SupportChat.objects.exists()
    assert get(site, "/api/support_chat", guest["token"]).status_code == 404

    sent = post(site, "/api/support_chat/messages", {"content": "hello?"}, guest["token"])
    assert sent.status_code == 201
    assert SupportChat.objects.count() == 1


def test_a_returning_guest_trades_the_secret_for_a_token_to_the_same_chat(site: Client) -> None:
    guest = new_guest(site)
    post(site, "/api/support_chat/messages", {"content": "first visit"}, guest["token"])
    again = exchange(site, guest_secret=guest["guest_secret"])
    messages = get(site, "/api/support_chat/messages", again["token"]).json()["messages"]
    assert [m["content"] for m in messages] == ["first visit"]


def test_a_guest_secret_opens_only_its_own_chat(site: Client) -> None:
    first, second = new_guest(site), new_guest(site)
    post(site, "/api/support_chat/messages", {"content": "mine"}, first["token"])
    page = get(site, "/api/support_chat/messages", second["token"]).json()
    assert page["messages"] == []


def test_an_unknown_guest_secret_is_a_401(site: Client) -> None:
    response = post(site, "/api/embed/token", {"guest_secret": "guessed"})
    assert (response.status_code, response.json()["reason"]) == (401, "guest_unknown")


def test_guests_can_be_turned_off(site: Client, settings: Any) -> None:
    settings.DESK_GUESTS = False
    assert post(site, "/api/embed/guests", {}).status_code == 403


def test_new_guests_are_limited_per_client_address(site: Client, settings: Any) -> None:
    settings.DESK_GUESTS_PER_HOUR = 2
    statuses = [post(site, "/api/embed/guests", {}).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert Contact.objects.count() == 2


def test_the_message_allowance_applies_to_guests(site: Client, settings: Any) -> None:
    settings.DESK_MESSAGES_PER_MINUTE = 2
    token = new_guest(site)["token"]
    statuses = [
        post(site, "/api/support_chat/messages", {"content": f"m{n}"}, token).status_code
        for n in range(3)
    ]
    assert statuses == [201, 201, 429]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "x" * 201}, "name"), ({"email": "not an address"}, "email"), ({"name": 7}, "name")],
)
def test_a_bad_guest_name_or_email_is_a_422_naming_the_field(
    site: Client, body: dict[str, Any], field: str
) -> None:
    response = post(site, "/api/embed/guests", body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


def test_a_guest_names_themselves_and_gives_an_unconfirmed_address(site: Client) -> None:
    token = new_guest(site)["token"]
    response = site.patch(
        "/api/embed/me",
        {"name": "Grace", "email": "grace@example.org"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json()["email_confirmed"] is False
    contact = Contact.objects.select_related("user").get()
    # Reply emails go to the user's address, which stays empty until the guest confirms.
    assert (contact.email, contact.user.email) == ("grace@example.org", "")


def test_an_identified_person_cannot_change_what_their_site_says(site: Client, mint: Mint) -> None:
    token = exchange(site, identity=mint("shop-42", email="ada@shop.example"))["token"]
    response = site.patch(
        "/api/embed/me",
        {"email": "attacker@example.org"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert Contact.objects.get().email == "ada@shop.example"


def test_me_renews_the_token(site: Client) -> None:
    guest = new_guest(site)
    renewed = get(site, "/api/embed/me", guest["token"]).json()
    assert renewed["token"]
    assert renewed["person"]["kind"] == "guest"
    assert get(site, "/api/support_chat/messages", renewed["token"]).status_code == 200


# --- the merge -----------------------------------------------------------------------------------


def test_a_guest_who_signs_in_brings_their_chat_along(site: Client, mint: Mint) -> None:
    person = exchange(site, identity=mint("shop-42"))["token"]
    post(site, "/api/support_chat/messages", {"content": "as a person, earlier"}, person)
    guest = new_guest(site)
    post(site, "/api/support_chat/messages", {"content": "as a guest"}, guest["token"])

    merged = exchange(site, identity=mint("shop-42"), guest_secret=guest["guest_secret"])

    assert merged["merged_messages"] == 1
    messages = get(site, "/api/support_chat/messages", merged["token"]).json()["messages"]
    assert [m["content"] for m in messages] == ["as a person, earlier", "as a guest"]
    assert SupportChat.objects.count() == 1
    assert ChatAuditEntry.objects.filter(action=AdminAction.MERGED).count() == 1
    # The guest is gone: its secret and its token no longer work.
    assert (
        post(site, "/api/embed/token", {"guest_secret": guest["guest_secret"]}).status_code == 401
    )
    assert get(site, "/api/support_chat/messages", guest["token"]).status_code == 401


def test_a_merged_guests_secret_sent_again_is_ignored(site: Client, mint: Mint) -> None:
    guest = new_guest(site)
    post(site, "/api/support_chat/messages", {"content": "hi"}, guest["token"])
    exchange(site, identity=mint("shop-42"), guest_secret=guest["guest_secret"])
    again = exchange(site, identity=mint("shop-42"), guest_secret=guest["guest_secret"])
    assert again["merged_messages"] == 0
    assert SupportMessage.objects.count() == 1


def test_another_persons_guest_secret_cannot_be_merged_without_it(site: Client, mint: Mint) -> None:
    # A forged secret merges nothing (and does not stop the person signing in).
    answer = exchange(site, identity=mint("shop-42"), guest_secret="not-a-real-secret")
    assert answer["merged_messages"] == 0


# --- bearer tokens on the user endpoints ---------------------------------------------------------


def test_a_forged_bearer_token_is_a_401_with_its_reason(site: Client) -> None:
    response = get(site, "/api/support_chat/messages", "forged.token.value")
    assert (response.status_code, response.json()["reason"]) == (401, "token_invalid")


def test_a_bearer_token_needs_no_csrf_token(site: Client) -> None:
    token = new_guest(site)["token"]
    assert post(site, "/api/support_chat/messages", {"content": "hi"}, token).status_code == 201


def test_a_bearer_token_does_not_open_the_admin_api(site: Client, mint: Mint) -> None:
    token = exchange(site, identity=mint("shop-42"))["token"]
    assert get(site, "/api/admin/chats", token).status_code == 401


def test_a_contact_cannot_sign_in_with_a_password(site: Client, mint: Mint) -> None:
    exchange(site, identity=mint("shop-42"))
    contact = Contact.objects.select_related("user").get()
    assert not contact.user.has_usable_password()
    assert not Client().login(username=contact.user.username, password="")


# --- CORS ----------------------------------------------------------------------------------------


def test_cors_grants_exactly_the_embed_origins(site: Client) -> None:
    allowed = site.options(
        "/api/embed/token",
        headers={"Origin": HOST, "Access-Control-Request-Method": "POST"},
    )
    assert allowed["Access-Control-Allow-Origin"] == HOST
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed
    other = site.options(
        "/api/embed/token",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in other


def test_cors_is_not_granted_on_the_admin_api(site: Client) -> None:
    response = site.options(
        "/api/admin/chats", headers={"Origin": HOST, "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in response


# --- guest links (support starts the conversation) -----------------------------------------------


@pytest.fixture
def invited(admin: Any) -> Any:
    return services.guest_invite(admin=admin, name="Grace", email="grace@example.org").contact


def link_token(contact: Any) -> str:
    return services.guest_link_make(contact).url.rstrip("/").rsplit("/", 1)[-1]


def test_a_guest_link_gets_a_token_for_its_guest_and_the_chat_support_started(
    site: Client, invited: Any
) -> None:
    answer = exchange(site, guest_link=link_token(invited))
    assert answer["person"]["name"] == "Grace"
    assert answer["person"]["email_confirmed"] is True
    assert answer["chat_id"] == str(SupportChat.objects.get(user=invited.user).id)


def test_a_forged_guest_link_is_a_401(site: Client, invited: Any) -> None:
    token = link_token(invited)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = post(site, "/api/embed/token", {"guest_link": forged})
    assert (response.status_code, response.json()["reason"]) == (401, "guest_link_invalid")


def test_an_expired_guest_link_is_a_401(site: Client, invited: Any, settings: Any) -> None:
    token = link_token(invited)
    settings.DESK_GUEST_LINK_MAX_AGE = -1
    response = post(site, "/api/embed/token", {"guest_link": token})
    assert (response.status_code, response.json()["reason"]) == (401, "guest_link_invalid")
    assert "expired" in response.json()["detail"]


def test_a_guest_link_of_a_forgotten_guest_is_a_401(site: Client, invited: Any) -> None:
    token = link_token(invited)
    services.contact_forget(invited)
    assert post(site, "/api/embed/token", {"guest_link": token}).status_code == 401


def test_only_an_admin_may_invite(user: Any) -> None:
    from chats.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        services.guest_invite(admin=user, name="Grace")


@pytest.mark.parametrize("body", [[None, None], 5, "x", None])
@pytest.mark.parametrize("path", ["/api/embed/token", "/api/embed/guests"])
def test_a_body_that_is_not_a_json_object_is_a_422(site: Client, path: str, body: Any) -> None:
    response = site.post(path, json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    assert not Contact.objects.exists()
