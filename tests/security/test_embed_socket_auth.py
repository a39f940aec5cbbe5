"""Hostile cases for the embedded widget's socket: a desk token is the only way in from a host page.

Every socket goes through desk's real ASGI application (origin check, chats/embed/sockets.py, the
consumer), with the Host, Origin, cookies and subprotocols a browser would send. A refused token
is accepted and closed with 4401 (docs/events.md), so the widget can tell it from a network error.
"""

from __future__ import annotations

import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from freezegun import freeze_time
from jwt.warnings import InsecureKeyLengthWarning

from chats.embed import tokens
from chats.models import Contact, SupportChat
from tests.realtime import conftest as realtime
from tests.realtime.conftest import (
    ADMIN_PATH,
    EMBED_ORIGIN,
    EVENT_TIMEOUT,
    ORIGIN,
    OpenSocket,
    WebsocketCommunicator,
    chat_of,
    chat_path,
    desk_token,
    logged_in,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# The real-time suite's fixtures: sockets on desk's ASGI application, the host site, its people.
ws, embedding, guest, person = realtime.ws, realtime.embedding, realtime.guest, realtime.person

in_thread = database_sync_to_async


def signed(
    claims: dict[str, Any], *, key: bytes | str | None = None, algorithm: str = "HS256"
) -> str:
    """A token with these claims, signed with desk's token key unless another is given."""
    key = tokens._key(settings.SECRET_KEY) if key is None else key
    with warnings.catch_warnings():
        # PyJWT warns that desk's 32-byte key is short for HS512: the forgery needs that key.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm)


def claims_for(user: Any, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": str(user.pk), "typ": tokens.TOKEN_TYPE, "iat": now, "exp": now + 600, **changes}


def resigned_for_another(user: Any) -> str:
    """A real token of `user`'s with its payload swapped for one naming another user."""
    header, _, signature = signed(claims_for(user)).split(".")
    payload = signed(claims_for(user, sub=str(user.pk + 1))).split(".")[1]
    return f"{header}.{payload}.{signature}"


async def refused_with(ws: OpenSocket, path: str, user: Any = None, **kwargs: Any) -> int:
    socket = await ws(path, user, **kwargs)
    return await socket.close_code()


# --- Tokens that are not a person's --------------------------------------------------------------


FORGERIES = {
    "signed with another key": lambda user: signed(claims_for(user), key=b"x" * 32),
    "signed with the host's identity secret": lambda user: signed(
        claims_for(user), key="host-identity-secret-0123456789abcdef"
    ),
    "another algorithm (HS512)": lambda user: signed(claims_for(user), algorithm="HS512"),
    "no signature (alg none)": lambda user: jwt.encode(claims_for(user), None, algorithm="none"),
    "another type of token": lambda user: signed(claims_for(user, typ="desk-other")),
    "no expiry": lambda user: signed({k: v for k, v in claims_for(user).items() if k != "exp"}),
    "a subject that is no id": lambda user: signed(claims_for(user, sub=f"{user.pk} ")),
    "a numeric subject": lambda user: signed(claims_for(user, sub=user.pk)),
    "another subject under a real signature": lambda user: resigned_for_another(user),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_a_forged_token_is_closed_with_4401(
    forgery: str, ws: OpenSocket, embedding: str, person: Contact
) -> None:
    chat = await in_thread(chat_of)(person)
    token = FORGERIES[forgery](person.user)
    assert await refused_with(ws, chat_path(chat.id), origin=embedding, bearer=token) == 4401


async def test_an_expired_token_is_closed_with_4401(
    ws: OpenSocket, embedding: str, person: Contact
) -> None:
    ttl = settings.DESK_EMBED_TOKEN_TTL
    with freeze_time(datetime.now(UTC) - timedelta(seconds=ttl + 5)):
        token = desk_token(person.user)
    chat = await in_thread(chat_of)(person)
    assert await refused_with(ws, chat_path(chat.id), origin=embedding, bearer=token) == 4401


async def test_a_token_for_a_deleted_person_is_closed_with_4401(
    ws: OpenSocket, embedding: str, person: Contact, guest: Contact
) -> None:
    token = desk_token(person.user)
    chat = await in_thread(chat_of)(person)
    await in_thread(person.user.delete)()
    # On a chat that exists: the token is refused before any chat is looked at.
    other = await in_thread(chat_of)(guest)
    for path in (chat_path(chat.id), chat_path(other.id)):
        assert await refused_with(ws, path, origin=embedding, bearer=token) == 4401


async def test_a_token_for_a_deactivated_person_is_closed_with_4401(
    ws: OpenSocket, embedding: str, person: Contact
) -> None:
    token = desk_token(person.user)
    person.user.is_active = False
    await in_thread(person.user.save)()
    chat = await in_thread(chat_of)(person)
    assert await refused_with(ws, chat_path(chat.id), origin=embedding, bearer=token) == 4401


# --- Someone else's ------------------------------------------------------------------------------


async def test_a_persons_token_on_a_guests_chat_is_closed_with_4404(
    ws: OpenSocket, embedding: str, person: Contact, guest: Contact
) -> None:
    chat = await in_thread(chat_of)(guest)
    token = desk_token(person.user)
    assert await refused_with(ws, chat_path(chat.id), origin=embedding, bearer=token) == 4404


async def test_a_guests_token_on_a_desk_users_chat_is_closed_with_4404_like_an_unknown_chat(
    ws: OpenSocket, embedding: str, guest: Contact, chat: SupportChat
) -> None:
    token = desk_token(guest.user)
    for path in (chat_path(chat.id), chat_path(uuid.uuid4()), chat_path("not-a-uuid")):
        assert await refused_with(ws, path, origin=embedding, bearer=token) == 4404


async def test_a_persons_token_on_the_dashboards_socket_is_closed_with_4403(
    ws: OpenSocket, embedding: str, person: Contact
) -> None:
    token = desk_token(person.user)
    assert await refused_with(ws, ADMIN_PATH, origin=embedding, bearer=token) == 4403


async def test_a_bearer_is_all_that_counts_even_with_an_admins_session_cookie(
    ws: OpenSocket, embedding: str, admin: Any, person: Contact, guest: Contact
) -> None:
    # The admin's cookie would open any chat; the guest's token opens only the guest's.
    chat = await in_thread(chat_of)(person)
    admins_browser = await in_thread(logged_in)(admin)
    for origin in (embedding, ORIGIN):
        socket = await ws(
            chat_path(chat.id), origin=origin, session=admins_browser, bearer=desk_token(guest.user)
        )
        assert await socket.close_code() == 4404


# --- Desk's own users ----------------------------------------------------------------------------


async def test_a_desk_user_cannot_get_a_desk_token(user: Any) -> None:
    # The session authenticates nothing under /api/embed/, and no credential names a desk user.
    browser = await in_thread(logged_in)(user)
    renewed = await in_thread(browser.get)("/api/embed/me")
    exchanged = await in_thread(browser.post)(
        "/api/embed/token", "{}", content_type="application/json"
    )
    assert (renewed.status_code, exchanged.status_code) == (401, 422)
    assert "token" not in exchanged.json()


async def test_a_desk_token_minted_for_a_desk_user_is_closed_with_4401(
    ws: OpenSocket, embedding: str, user: Any, chat: SupportChat, admin: Any
) -> None:
    # Were one ever signed for a desk user (the key leaked with SECRET_KEY), it opens nothing.
    for who, path in ((user, chat_path(chat.id)), (admin, ADMIN_PATH)):
        for origin in (embedding, ORIGIN):
            token = desk_token(who)
            assert await refused_with(ws, path, origin=origin, bearer=token) == 4401


# --- Garbage in the subprotocols -----------------------------------------------------------------

GARBAGE = {
    "an empty bearer": ["desk", "desk.bearer."],
    "not a JWT": ["desk", "desk.bearer.not-a-token"],
    "dots only": ["desk", "desk.bearer..."],
    "base64 noise": ["desk", "desk.bearer.eyJ.eyJ.eyJ"],
    "non-ASCII": ["desk", "desk.bearer.\u00e9\u4f60\u597d"],
    "control characters": ["desk", "desk.bearer.\x00\r\n"],
    "oversized": ["desk", "desk.bearer." + "a" * 100_000],
    "many subprotocols": ["desk", *[f"desk.bearer.{n}" for n in range(500)]],
    "the bearer prefix in another case": ["desk", "DESK.BEARER.{token}"],
    "the bearer without its prefix": ["desk", "{token}"],
    "two bearers, both valid": ["desk", "desk.bearer.{token}", "desk.bearer.{token}"],
    "a valid bearer with a bad one": ["desk", "desk.bearer.{token}", "desk.bearer.x"],
}


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
async def test_garbage_subprotocols_are_closed_with_4401(
    garbage: str, ws: OpenSocket, embedding: str, person: Contact
) -> None:
    chat = await in_thread(chat_of)(person)
    token = desk_token(person.user)
    offered = [protocol.replace("{token}", token) for protocol in GARBAGE[garbage]]
    socket = await ws(chat_path(chat.id), origin=embedding, subprotocols=offered)
    assert socket.subprotocol == "desk"
    assert await socket.close_code() == 4401


async def test_a_token_in_the_query_string_authenticates_nothing(
    embedding: str, person: Contact
) -> None:
    from desk.asgi import application

    chat = await in_thread(chat_of)(person)
    headers = [(b"origin", embedding.encode())]
    communicator = WebsocketCommunicator(application, chat_path(chat.id), headers, ["desk"])
    communicator.scope["query_string"] = f"token={desk_token(person.user)}".encode()
    accepted, _ = await communicator.connect(within=EVENT_TIMEOUT)
    assert accepted
    closed = await communicator.receive_output(EVENT_TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4401)
    await communicator.send_input({"type": "websocket.disconnect", "code": 4401})
    await communicator.wait(EVENT_TIMEOUT)


# --- Cookies from a host page, and origins -------------------------------------------------------


async def test_a_host_pages_socket_with_a_desk_session_but_no_bearer_is_closed_with_4401(
    ws: OpenSocket, embedding: str, user: Any, chat: SupportChat, admin: Any
) -> None:
    # A host on a subdomain of desk's site gets desk's Lax session cookie along: never used.
    assert await refused_with(ws, chat_path(chat.id), user, origin=embedding) == 4401
    assert await refused_with(ws, ADMIN_PATH, admin, origin=embedding) == 4401
    assert await refused_with(ws, chat_path(chat.id), admin, origin=embedding) == 4401


async def test_a_host_page_listed_in_csrf_trusted_origins_too_never_uses_the_session(
    ws: OpenSocket, embedding: str, admin: Any, settings: Any
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = [*settings.CSRF_TRUSTED_ORIGINS, embedding]
    assert await refused_with(ws, ADMIN_PATH, admin, origin=embedding) == 4401


async def test_a_foreign_origin_is_refused_during_the_handshake_even_with_a_valid_token(
    ws: OpenSocket, embedding: str, person: Contact
) -> None:
    chat = await in_thread(chat_of)(person)
    token = desk_token(person.user)
    for origin in ("https://evil.example", "https://shop.example", "http://shop.example:8443"):
        await ws(chat_path(chat.id), origin=origin, bearer=token, accepted=False)
    await ws(chat_path(chat.id), origin=None, bearer=token, accepted=False)


async def test_embed_origins_are_matched_exactly_never_as_patterns(
    ws: OpenSocket, settings: Any, person: Contact
) -> None:
    settings.DESK_EMBED_ORIGINS = ["https://*.shop.example"]
    chat = await in_thread(chat_of)(person)
    token = desk_token(person.user)
    await ws(chat_path(chat.id), origin="https://www.shop.example", bearer=token, accepted=False)


async def test_desks_own_origin_keeps_its_session_sockets(
    ws: OpenSocket, embedding: str, user: Any, chat: SupportChat, admin: Any
) -> None:
    widget = await ws(chat_path(chat.id), user, subprotocols=["desk"])
    dashboard = await ws(ADMIN_PATH, admin)
    await widget.send(action="send_message", content="from desk's own page")
    assert (await widget.event())["message"]["content"] == "from desk's own page"
    assert (await dashboard.event())["type"] == "new_user_message"


async def test_desks_own_origin_listed_as_an_embed_origin_keeps_its_session_sockets(
    ws: OpenSocket, settings: Any, admin: Any
) -> None:
    settings.DESK_EMBED_ORIGINS = [ORIGIN, EMBED_ORIGIN]
    dashboard = await ws(ADMIN_PATH, admin)
    assert await dashboard.receives_nothing()


async def test_a_session_from_an_embed_origin_opens_nothing_even_for_a_guests_own_chat(
    ws: OpenSocket, embedding: str, guest: Contact
) -> None:
    # A contact has no usable password, so no session; were one forced, a host page gets nothing.
    chat = await in_thread(chat_of)(guest)
    assert await refused_with(ws, chat_path(chat.id), guest.user, origin=embedding) == 4401
