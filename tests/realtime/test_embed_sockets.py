"""The embedded widget's socket: a desk token as a subprotocol, and access that follows the person.

docs/events.md, "Sockets of the embedded widget". Hostile cases (forged, expired, someone else's,
cookies from a host page) are in tests/security/test_embed_socket_auth.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client
from freezegun import freeze_time

from chats import access, services
from chats.embed import services as embed_services
from chats.models import Contact, SupportChat
from chats.realtime import sockets
from tests.realtime.conftest import (
    EMBED_ORIGIN,
    ORIGIN,
    OpenSocket,
    chat_of,
    chat_path,
    desk_token,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

in_thread = database_sync_to_async
User = get_user_model()

REVOKED_WITHIN = 2.0


def widget_rest(method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    """A call of the widget on the host page: no cookie, the desk token as a bearer."""
    headers = {"Origin": EMBED_ORIGIN}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Client().generic(
        method, f"/api{path}", json.dumps(body or {}), "application/json", headers=headers
    )


# --- End to end ----------------------------------------------------------------------------------


async def test_a_guests_socket_from_a_host_page_hears_its_rest_posts_and_supports_replies(
    ws: OpenSocket, layer: str, embedding: str, admin: Any
) -> None:
    created = await in_thread(widget_rest)("POST", "/embed/guests", body={"name": "Gus"})
    assert created.status_code == 201, created.content
    token = created.json()["token"]
    first = await in_thread(widget_rest)(
        "POST", "/support_chat/messages", token, {"content": "Is anyone there?"}
    )
    assert first.status_code == 201, first.content
    chat_id = first.json()["chat_id"]

    # The path is the chat's, as for a logged-in user: the token is in no URL.
    widget = await ws(chat_path(chat_id), origin=embedding, bearer=token)
    assert widget.subprotocol == "desk"
    await in_thread(widget_rest)(
        "POST", "/support_chat/messages", token, {"content": "My parcel is late"}
    )
    own = await widget.event()
    assert (own["type"], own["message"]["content"]) == ("new_message", "My parcel is late")
    await in_thread(services.admin_reply_post)(admin=admin, chat_id=chat_id, content="On its way")
    reply = await widget.event()
    assert (reply["message"]["sender_type"], reply["message"]["content"]) == (
        "admin",
        "On its way",
    )


async def test_an_identified_persons_socket_takes_the_actions_of_the_chats_user(
    ws: OpenSocket, layer: str, embedding: str, person: Contact, admin: Any
) -> None:
    chat = await in_thread(chat_of)(person)
    await in_thread(services.admin_reply_post)(admin=admin, chat_id=chat.id, content="Hello Ann")
    widget = await ws(chat_path(chat.id), origin=embedding, bearer=desk_token(person.user))
    await widget.send(action="send_message", content="Thanks")
    assert (await widget.event())["message"]["content"] == "Thanks"
    await widget.send(action="mark_read")
    assert (await widget.event())["type"] == "messages_read"
    await widget.send(action="viewed")
    assert (await widget.event())["code"] == "forbidden"


async def test_desks_own_full_page_chat_opens_its_socket_with_a_token_too(
    ws: OpenSocket, layer: str, guest: Contact
) -> None:
    # /chat/<token>/ (a guest link) runs the widget on desk's own origin, with a desk token.
    chat = await in_thread(chat_of)(guest)
    page = await ws(chat_path(chat.id), origin=ORIGIN, bearer=desk_token(guest.user))
    await page.send(action="send_message", content="From the link")
    assert (await page.event())["message"]["content"] == "From the link"


# --- The subprotocol -----------------------------------------------------------------------------


async def test_a_session_socket_that_offers_desk_is_accepted_with_desk(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user, subprotocols=["desk"])
    assert widget.subprotocol == "desk"
    assert await widget.receives_nothing()


async def test_a_socket_that_offers_no_subprotocol_is_accepted_without_one(
    ws: OpenSocket, layer: str, user: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    assert widget.subprotocol is None


async def test_a_socket_accepted_only_to_be_closed_is_accepted_with_desk(
    ws: OpenSocket, layer: str, embedding: str, person: Contact
) -> None:
    # A browser fails a handshake that offered subprotocols and got none: the 4401 would be lost.
    chat = await in_thread(chat_of)(person)
    refused = await ws(chat_path(chat.id), origin=embedding, bearer="not-a-token")
    assert refused.subprotocol == "desk"
    assert await refused.close_code() == 4401


async def test_the_bearer_is_never_sent_back(
    ws: OpenSocket, layer: str, embedding: str, person: Contact
) -> None:
    chat = await in_thread(chat_of)(person)
    token = desk_token(person.user)
    widget = await ws(chat_path(chat.id), origin=embedding, subprotocols=[f"desk.bearer.{token}"])
    assert widget.subprotocol is None
    assert await widget.receives_nothing()


# --- Access follows the person -------------------------------------------------------------------


async def test_deleting_a_contacts_user_closes_their_open_socket_with_4401(
    ws: OpenSocket, redis_layer: str, embedding: str, person: Contact
) -> None:
    chat = await in_thread(chat_of)(person)
    widget = await ws(chat_path(chat.id), origin=embedding, bearer=desk_token(person.user))
    await in_thread(person.user.delete)()
    assert await widget.close_code(within=REVOKED_WITHIN) == 4401


async def test_forgetting_a_contact_closes_their_open_socket_with_4401(
    ws: OpenSocket, redis_layer: str, embedding: str, guest: Contact
) -> None:
    chat = await in_thread(chat_of)(guest)
    widget = await ws(chat_path(chat.id), origin=embedding, bearer=desk_token(guest.user))
    await in_thread(embed_services.contact_forget)(guest)
    assert await widget.close_code(within=REVOKED_WITHIN) == 4401


async def test_deactivating_a_contact_closes_their_open_socket_with_4401(
    ws: OpenSocket, redis_layer: str, embedding: str, person: Contact
) -> None:
    chat = await in_thread(chat_of)(person)
    widget = await ws(chat_path(chat.id), origin=embedding, bearer=desk_token(person.user))
    person.user.is_active = False
    await in_thread(person.user.save)()
    assert await widget.close_code(within=REVOKED_WITHIN) == 4401


async def test_merging_a_guest_into_a_person_closes_the_guests_socket_with_4401(
    ws: OpenSocket, redis_layer: str, embedding: str, guest: Contact, person: Contact
) -> None:
    chat = await in_thread(chat_of)(guest)
    guest_widget = await ws(chat_path(chat.id), origin=embedding, bearer=desk_token(guest.user))
    await in_thread(embed_services.guest_merge)(guest=guest, into=person)
    assert await guest_widget.close_code(within=REVOKED_WITHIN) == 4401


async def test_the_persons_socket_hears_chat_merged_when_a_guest_joins_their_chat(
    ws: OpenSocket, layer: str, embedding: str, guest: Contact, person: Contact
) -> None:
    guest_chat, chat = await in_thread(chat_of)(guest), await in_thread(chat_of)(person)
    widget = await ws(chat_path(chat.id), origin=embedding, bearer=desk_token(person.user))
    await in_thread(embed_services.guest_merge)(guest=guest, into=person)
    merged = await widget.event()
    assert (merged["type"], merged["chat_id"], merged["merged_chat_id"]) == (
        "chat_merged",
        str(chat.id),
        str(guest_chat.id),
    )


async def test_a_token_socket_rechecks_its_person_by_id_when_signals_were_bypassed(
    ws: OpenSocket, layer: str, embedding: str, person: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sockets, "ACCESS_RECHECK_AFTER", 0.0)
    chat = await in_thread(chat_of)(person)
    widget = await ws(chat_path(chat.id), origin=embedding, bearer=desk_token(person.user))
    # A queryset update sends no signal: the socket's own re-check finds the person gone.
    await in_thread(User.objects.filter(pk=person.user_id).update)(is_active=False)
    await widget.send(action="send_message", content="after deactivation")
    assert await widget.close_code() == 4401
    assert not await in_thread(chat.messages.filter(content="after deactivation").exists)()


async def test_an_open_token_socket_outlives_its_token(
    ws: OpenSocket, redis_layer: str, embedding: str, person: Contact, settings: Any
) -> None:
    # The token is checked as the socket opens; re-checks read the person, not the token, so a
    # widget need not reconnect each time it renews its token.
    soon = (
        datetime.now(UTC) + timedelta(seconds=2) - timedelta(seconds=settings.DESK_EMBED_TOKEN_TTL)
    )
    with freeze_time(soon):
        token = desk_token(person.user)
    chat = await in_thread(chat_of)(person)
    widget = await ws(chat_path(chat.id), origin=embedding, bearer=token)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.1)
    # Every socket of the person re-checks (what a change to the account sends).
    await in_thread(access.access_changed)(person.user_id)
    await widget.send(action="send_message", content="still here")
    assert (await widget.event())["message"]["content"] == "still here"


async def test_a_logout_of_any_session_never_closes_a_token_socket(
    ws: OpenSocket, redis_layer: str, embedding: str, person: Contact
) -> None:
    chat = await in_thread(chat_of)(person)
    widget = await ws(chat_path(chat.id), origin=embedding, bearer=desk_token(person.user))
    for session_key in ("", "k" * 32):
        await in_thread(access.access_changed)(person.user_id, ended_session=session_key)
    await widget.send(action="send_message", content="still here")
    assert (await widget.event())["message"]["content"] == "still here"


@pytest.mark.parametrize("session_key", [None, "", "-", "*", "abc"])
async def test_no_session_has_the_mark_of_a_token_socket(session_key: str | None) -> None:
    assert access.session_mark(session_key) not in {access.NO_SESSION, access.ANY_SESSION}
