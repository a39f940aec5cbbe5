"""Who may do what: every HTTP endpoint and socket route x every role, and the answer each gets.

The routes are read from the URL configuration and the socket routing, never listed by hand: a
route without a row here fails `test_every_http_route_has_a_row` (or its socket twin) with its
name, so a new endpoint cannot ship without someone deciding who may use it. Rows for routes that
no longer exist fail too.

Roles (tests/security/conftest.py): anonymous, the owner of the chat at stake, another user, an
inactive user (logged in, then deactivated) and an admin. Besides its status, every answer given
to anyone but the owner and support is checked not to contain the owner's private message.
Two more, on every HTTP endpoint and socket route: the people of the widget embedded on another
site (chats/embed/), a guest and someone the host site identified, each with a chat of their own,
who send their desk token and no session (`Authorization: Bearer` on HTTP; on sockets, from the
host's page, the bearer subprotocol; `Contacts`). On HTTP, unless a row says otherwise, they get
what anonymous gets: a desk token opens nothing but the widget's own endpoints.
"""

from __future__ import annotations

import json
import re
import sys
import types
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from anymail.exceptions import AnymailWarning
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.utils import timezone
from freezegun import freeze_time

from chats import services
from chats.attachments.services import attachment_upload
from chats.embed import services as embed_services
from chats.embed.identity import Identity
from chats.models import SupportChat
from chats.routing import websocket_urlpatterns
from desk.api import api
from notifications import links
from notifications.models import EmailPreference
from tests.chats.attachments.files import png
from tests.realtime.conftest import (
    EMBED_ORIGIN,
    ORIGIN,
    WebsocketCommunicator,
    bearer_subprotocols,
    desk_token,
)
from tests.security.conftest import FIGURES, ROLES, SECRET, World

# --- Expected answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A status code, and for a redirect where it must point (a prefix of Location)."""

    status: int
    location: str | None = None
    # Extra checks on the JSON body, e.g. that "another user" got their own chat, not the owner's.
    body: Callable[[World, Any], bool] | None = None

    def __str__(self) -> str:
        return f"{self.status} -> {self.location}" if self.location else str(self.status)


LOGIN = Answer(302, "/accounts/login/?next=")


def roles(
    anonymous: Answer | int,
    owner: Answer | int,
    other: Answer | int,
    inactive: Answer | int,
    admin: Answer | int,
    *,
    guest: Answer | int | None = None,
    identified: Answer | int | None = None,
) -> dict[str, Answer]:
    """The answer for each role; the embedded widget's people get anonymous's unless given."""
    given = dict(
        anonymous=anonymous,
        owner=owner,
        other=other,
        inactive=inactive,
        admin=admin,
        guest=anonymous if guest is None else guest,
        identified=anonymous if identified is None else identified,
    )
    return {role: a if isinstance(a, Answer) else Answer(a) for role, a in given.items()}


def everyone(answer: Answer | int) -> dict[str, Answer]:
    return roles(answer, answer, answer, answer, answer)


def own_chat(role: str) -> Callable[[World, Any], bool]:
    """The body is about `role`'s own chat (never the owner's, unless role is the owner)."""

    def check(world: World, body: Any) -> bool:
        chat_id = body.get("chat_id") or body.get("id")  # a message, or a chat
        if role == "owner":
            return bool(chat_id == str(world.chat.id))
        if role == "other":
            return bool(chat_id == str(world.other_chat.id))
        if role in CONTACT_ROLES:  # the one guest, or identified person, of `contacts`
            return bool(chat_id == str(SupportChat.objects.get(user__contact__kind=role).id))
        # An admin using the widget's endpoints has a chat of their own.
        return chat_id not in (str(world.chat.id), str(world.other_chat.id))

    return check


def marked(count: int) -> Callable[[World, Any], bool]:
    return lambda world, body: body == {"marked": count}


# Who reaches what, by kind of endpoint.
USER_API = roles(401, 200, 200, 401, 200, guest=200, identified=200)
ADMIN_API = roles(401, 403, 403, 401, 200)
ADMIN_PAGE = roles(LOGIN, 403, 403, LOGIN, 200)
UNKNOWN_CHAT_API = roles(401, 403, 403, 401, 404)
UNKNOWN_CHAT_PAGE = roles(LOGIN, 403, 403, LOGIN, 404)
LOGGED_IN_PAGE = roles(LOGIN, 200, 200, LOGIN, 200)
PUBLIC = everyone(200)

# --- The rows ------------------------------------------------------------------------------------

Url = Callable[[World], str]
UNKNOWN_CHAT = "7b1c2c4e-6c3f-4e0b-9d59-0d3f7b1f0a11"


@dataclass(frozen=True)
class Case:
    method: str
    url: Url
    expect: Mapping[str, Answer]
    variant: str = ""
    json: Any = None
    # A form (a multipart one when a value is a file), or a function of the world making one.
    form: Mapping[str, Any] | Callable[[World], Mapping[str, Any]] | None = None


def chat_url(template: str, chat: str = "owner") -> Url:
    """`template` with {chat} the owner's chat id, or an unknown one."""
    return lambda world: template.format(chat=world.chat.id if chat == "owner" else UNKNOWN_CHAT)


def get(url: str | Url, expect: Mapping[str, Answer], variant: str = "") -> Case:
    return Case("GET", _url(url), expect, variant)


def post(url: str | Url, expect: Mapping[str, Answer], variant: str = "", **data: Any) -> Case:
    return Case("POST", _url(url), expect, variant, json=data.pop("json", None), form=data or None)


def _url(url: str | Url) -> Url:
    return url if callable(url) else (lambda world: url)


def tampered(token: str) -> str:
    """`token` with its last character changed (to another one: a token that already ended in
    "x" stayed valid, one run in 64)."""
    return token[:-1] + ("y" if token.endswith("x") else "x")


def guest_link(world: World) -> str:
    """A guest link support made (a new guest each time: the link is the credential)."""
    contact = embed_services.guest_invite(admin=world.admin, name="Gina").contact
    return embed_services.guest_link_make(contact).url.removeprefix(settings.SITE_URL)


def expired_guest_link(world: World) -> str:
    made = timezone.now() - timedelta(seconds=settings.DESK_GUEST_LINK_MAX_AGE + 60)
    with freeze_time(made):
        return guest_link(world)


def forged_guest_link(world: World) -> str:
    path = guest_link(world)
    return path[:-3] + ("A" if path[-3] != "A" else "B") + "/"


def confirm_link(email: str, *, age: int = 0) -> Url:
    """A new guest's confirmation link for `email`, signed `age` seconds ago."""

    def make(world: World) -> str:
        # From a client of its own, so as not to use up a shared allowance of new guests.
        contact = embed_services.guest_create(
            client=f"client-{uuid.uuid4()}", email="cleo@visitor.example"
        ).contact
        with freeze_time(timezone.now() - timedelta(seconds=age)):
            token = links.confirm_token_make(contact_id=contact.pk, email=email)
        return f"/email/confirm/{token}/"

    return make


def new_guest_secret(world: World) -> dict[str, str]:
    return {"guest_secret": embed_services.guest_create(client="192.0.2.8").secret}


def person(kind: str) -> Callable[[World, Any], bool]:
    """The body is a token exchange (or /me) for a person of this kind."""
    return lambda world, body: bool(body["person"]["kind"] == kind and body["token"])


def open_link(token: Callable[[World], str]) -> Url:
    return lambda world: f"/email/open/{token(world)}/"


def unsubscribe_link(token: Callable[[World], str]) -> Url:
    return lambda world: f"/email/u/{token(world)}"


def image_form(world: World) -> dict[str, Any]:
    """A fresh upload (a file is read once) of a small PNG."""
    return {"file": SimpleUploadedFile("photo.png", png(), content_type="image/png")}


def owner_upload(world: World) -> str:
    """The id of an upload of the owner's, into their chat."""
    upload = SimpleUploadedFile("photo.png", png(), content_type="image/png")
    return str(attachment_upload(user=world.owner, upload=upload).id)


def message_answer(role: str) -> Answer:
    return Answer(201, body=own_chat(role))


USER_CHAT_BODIES = roles(
    401,
    Answer(200, body=own_chat("owner")),
    Answer(200, body=own_chat("other")),
    401,
    Answer(200, body=own_chat("admin")),
    guest=Answer(200, body=own_chat("guest")),
    identified=Answer(200, body=own_chat("identified")),
)

# Keyed by the route as the URL configuration spells it; API operations by "METHOD route".
ROWS: dict[str, list[Case]] = {
    "/": [get("/", PUBLIC)],
    # --- REST: the user's own chat (no id in the URL: each caller reaches only their own) ---
    "GET /api/support_chat": [get("/api/support_chat", USER_CHAT_BODIES)],
    "GET /api/support_chat/messages": [
        get("/api/support_chat/messages", USER_API),
        # The owner's message id as a cursor: another user cannot probe someone else's chat.
        get(
            lambda world: f"/api/support_chat/messages?after={world.owner_message.id}",
            roles(401, 200, 422, 401, 422, guest=422, identified=422),
            "after the owner's message",
        ),
    ],
    "POST /api/support_chat/messages": [
        post(
            "/api/support_chat/messages",
            roles(
                401,
                message_answer("owner"),
                message_answer("other"),
                401,
                message_answer("admin"),
                guest=message_answer("guest"),
                identified=message_answer("identified"),
            ),
            json={"content": "hello"},
        ),
    ],
    # An upload goes into the caller's own chat; fetching one, only its uploader's.
    "POST /api/support_chat/attachments": [
        Case(
            "POST",
            _url("/api/support_chat/attachments"),
            roles(401, 201, 201, 401, 201, guest=201, identified=201),
            form=image_form,
        ),
    ],
    "GET /api/support_chat/attachments/<attachment_id>": [
        get(
            lambda world: f"/api/support_chat/attachments/{owner_upload(world)}",
            roles(401, 200, 404, 401, 404, guest=404, identified=404),
        ),
    ],
    "PATCH /api/support_chat/mark_read": [
        Case(
            "PATCH",
            _url("/api/support_chat/mark_read"),
            roles(
                401,
                Answer(200, body=marked(1)),
                Answer(200, body=marked(0)),
                401,
                Answer(200, body=marked(0)),
                guest=Answer(200, body=marked(0)),
                identified=Answer(200, body=marked(0)),
            ),
        ),
    ],
    # --- REST: the embedded widget's credentials (the credential is in the body: anyone may
    # trade one; what comes back is that credential's person, never the caller's) ---
    "POST /api/embed/token": [
        post(
            "/api/embed/token", everyone(Answer(200, body=person("guest"))), json=new_guest_secret
        ),
        post(
            "/api/embed/token",
            everyone(Answer(200, body=person("guest"))),
            "a guest link",
            json=lambda world: {"guest_link": guest_link(world).split("/")[2]},
        ),
        post(
            "/api/embed/token",
            everyone(401),
            "a forged guest secret",
            json={"guest_secret": "not-anyones-secret"},
        ),
        post(
            "/api/embed/token",
            everyone(401),
            "a forged identity",
            json={"identity": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
        ),
        post("/api/embed/token", everyone(422), "no credential", json={}),
    ],
    # The scripts' texts, public: a widget reads them before anything else.
    "GET /api/i18n/<language>": [
        get("/api/i18n/ru", everyone(200)),
        get("/api/i18n/xx", everyone(404), "a language desk does not speak"),
    ],
    # Business hours and texts, public: a widget asks before its visitor has a chat.
    "GET /api/embed/availability": [get("/api/embed/availability", everyone(200))],
    "POST /api/embed/guests": [
        post("/api/embed/guests", everyone(Answer(201, body=person("guest"))), json={})
    ],
    # Only a desk token: a session (even an admin's) is no one here.
    "GET /api/embed/me": [
        get(
            "/api/embed/me",
            roles(
                401,
                401,
                401,
                401,
                401,
                guest=Answer(200, body=person("guest")),
                identified=Answer(200, body=person("identified")),
            ),
        )
    ],
    # A guest names themselves; an identified person's details come from their site.
    "PATCH /api/embed/me": [
        Case(
            "PATCH",
            _url("/api/embed/me"),
            roles(401, 401, 401, 401, 401, guest=200, identified=403),
            json={"name": "New name"},
        )
    ],
    # --- REST: admins ---
    "GET /api/admin/chats": [get("/api/admin/chats", ADMIN_API)],
    "POST /api/admin/guest_links": [
        post("/api/admin/guest_links", roles(401, 403, 403, 401, 201), json={"name": "Gina"}),
        post(
            "/api/admin/guest_links",
            roles(401, 403, 403, 401, 422),
            "no name",
            json={"name": " "},
        ),
    ],
    # The dashboard's title count: staff only, and reading it marks nothing.
    "GET /api/admin/unread": [get("/api/admin/unread", ADMIN_API)],
    # A staff member's own choice of alert emails.
    "GET /api/admin/staff_alerts": [get("/api/admin/staff_alerts", ADMIN_API)],
    "PUT /api/admin/staff_alerts": [
        Case("PUT", _url("/api/admin/staff_alerts"), ADMIN_API, json={"scope": "answered"}),
        Case(
            "PUT",
            _url("/api/admin/staff_alerts"),
            roles(401, 403, 403, 401, 422),
            "unknown scope",
            json={"scope": "sometimes"},
        ),
    ],
    "POST /api/admin/chats/<chat_id>/attachments": [
        Case(
            "POST",
            chat_url("/api/admin/chats/{chat}/attachments"),
            roles(401, 403, 403, 401, 201),
            form=image_form,
        ),
    ],
    "GET /api/admin/chats/<chat_id>/attachments/<attachment_id>": [
        get(
            lambda world: f"/api/admin/chats/{world.chat.id}/attachments/{owner_upload(world)}",
            ADMIN_API,
        ),
    ],
    # Files only through signed URLs: without a signature, nobody.
    "/files/<uuid:attachment_id>/<str:variant>": [
        get(lambda world: f"/files/{owner_upload(world)}/file", everyone(404)),
        get(lambda world: f"/files/{owner_upload(world)}/thumb", everyone(404), "thumbnail"),
    ],
    "GET /api/admin/chats/<chat_id>": [
        get(chat_url("/api/admin/chats/{chat}"), ADMIN_API),
        get(chat_url("/api/admin/chats/{chat}", "unknown"), UNKNOWN_CHAT_API, "unknown chat"),
    ],
    "GET /api/admin/chats/<chat_id>/messages": [
        get(chat_url("/api/admin/chats/{chat}/messages"), ADMIN_API),
        get(
            chat_url("/api/admin/chats/{chat}/messages", "unknown"),
            UNKNOWN_CHAT_API,
            "unknown chat",
        ),
    ],
    "POST /api/admin/chats/<chat_id>/messages": [
        post(
            chat_url("/api/admin/chats/{chat}/messages"),
            roles(401, 403, 403, 401, 201),
            json={"content": "Hi"},
        ),
        post(
            chat_url("/api/admin/chats/{chat}/messages", "unknown"),
            UNKNOWN_CHAT_API,
            "unknown chat",
            json={"content": "Hi"},
        ),
    ],
    "POST /api/admin/chats/<chat_id>/archive": [
        post(chat_url("/api/admin/chats/{chat}/archive"), ADMIN_API),
        post(
            chat_url("/api/admin/chats/{chat}/archive", "unknown"), UNKNOWN_CHAT_API, "unknown chat"
        ),
    ],
    "POST /api/admin/chats/<chat_id>/unarchive": [
        post(chat_url("/api/admin/chats/{chat}/unarchive"), ADMIN_API),
        post(
            chat_url("/api/admin/chats/{chat}/unarchive", "unknown"),
            UNKNOWN_CHAT_API,
            "unknown chat",
        ),
    ],
    # The schema and its docs describe the API, never data; still, outside DEBUG they are for
    # support staff unless DESK_API_DOCS says otherwise (every mode: tests/desk/test_api_docs.py).
    "/api/openapi.json": [get("/api/openapi.json", ADMIN_PAGE)],
    "/api/docs": [get("/api/docs", ADMIN_PAGE)],
    "/api/": [get("/api/", everyone(404))],
    # --- The admins' dashboard ---
    "/desk/": [get("/desk/", ADMIN_PAGE)],
    "/desk/guest_links": [
        post("/desk/guest_links", roles(LOGIN, 403, 403, LOGIN, 200), name="Gina"),
        get("/desk/guest_links", roles(LOGIN, 405, 405, LOGIN, 405), "a GET"),
    ],
    "/desk/chats/<uuid:chat_id>/": [
        get(chat_url("/desk/chats/{chat}/"), ADMIN_PAGE),
        get(chat_url("/desk/chats/{chat}/", "unknown"), UNKNOWN_CHAT_PAGE, "unknown chat"),
    ],
    "/desk/chats/<uuid:chat_id>/reply": [
        post(
            chat_url("/desk/chats/{chat}/reply"),
            roles(LOGIN, 403, 403, LOGIN, Answer(302, "/desk/chats/")),
            content="Hi",
        ),
        post(
            chat_url("/desk/chats/{chat}/reply", "unknown"),
            UNKNOWN_CHAT_PAGE,
            "unknown chat",
            content="Hi",
        ),
    ],
    "/desk/chats/<uuid:chat_id>/archive": [
        post(
            chat_url("/desk/chats/{chat}/archive"),
            roles(LOGIN, 403, 403, LOGIN, Answer(302, "/desk/chats/")),
        ),
        post(chat_url("/desk/chats/{chat}/archive", "unknown"), UNKNOWN_CHAT_PAGE, "unknown chat"),
    ],
    "/desk/chats/<uuid:chat_id>/unarchive": [
        post(
            chat_url("/desk/chats/{chat}/unarchive"),
            roles(LOGIN, 403, 403, LOGIN, Answer(302, "/desk/chats/")),
        ),
        post(
            chat_url("/desk/chats/{chat}/unarchive", "unknown"), UNKNOWN_CHAT_PAGE, "unknown chat"
        ),
    ],
    # --- Links in reply emails ---
    # The owner's link: its own user gets in (after logging in), anyone else is refused.
    "/email/open/<str:token>/": [
        get(
            open_link(lambda world: world.open_token),
            roles(LOGIN, Answer(302, "http://localhost"), 403, LOGIN, 403),
            "the owner's link",
        ),
        get(open_link(World.tampered_open_token), everyone(400), "tampered"),
        get(open_link(World.expired_open_token), everyone(410), "expired"),
    ],
    # The token is the credential (mailbox providers post here with no session, RFC 8058): it
    # acts on its own user, whoever follows it; see test_unsubscribing_with_someone_elses_link_*.
    "/email/u/<str:token>": [
        get(unsubscribe_link(lambda world: world.unsubscribe_token), PUBLIC, "the owner's link"),
        post(unsubscribe_link(lambda world: world.unsubscribe_token), PUBLIC, "the owner's link"),
        get(
            unsubscribe_link(lambda world: tampered(world.unsubscribe_token)),
            everyone(404),
            "tampered",
        ),
        post(unsubscribe_link(lambda world: "not-a-token"), everyone(404), "unknown"),
    ],
    # --- Links for the embedded widget's guests: the token is the credential, whoever uses it ---
    "/chat/<str:token>/": [
        get(guest_link, PUBLIC, "a guest link"),
        get(expired_guest_link, everyone(404), "expired"),
        get(forged_guest_link, everyone(404), "forged"),
        get("/chat/not-a-link/", everyone(404), "garbage"),
    ],
    "/email/confirm/<str:token>/": [
        get(confirm_link("cleo@visitor.example"), PUBLIC, "the guest's link"),
        # A link for an address the guest no longer gives confirms nothing.
        get(confirm_link("other@visitor.example"), everyone(409), "another address"),
        get(
            lambda world: confirm_link("cleo@visitor.example")(world)[:-3] + "x/",
            everyone(400),
            "tampered",
        ),
        get(
            confirm_link("cleo@visitor.example", age=settings.DESK_EMAIL_LINK_MAX_AGE + 60),
            everyone(410),
            "expired",
        ),
    ],
    # --- Django's login pages ---
    "/accounts/login/": [get("/accounts/login/", PUBLIC)],
    # The dashboard's language switcher: anyone may choose the language of their own pages (a
    # cookie); it changes nothing else and redirects back.
    "/i18n/setlang/": [
        post("/i18n/setlang/", everyone(302), language="ar", next="/desk/"),
        post("/i18n/setlang/", everyone(302), "a foreign next", next="https://evil.example/"),
    ],
    "/accounts/logout/": [get("/accounts/logout/", everyone(405))],
    "/accounts/password_change/": [get("/accounts/password_change/", LOGGED_IN_PAGE)],
    "/accounts/password_change/done/": [get("/accounts/password_change/done/", LOGGED_IN_PAGE)],
    "/accounts/password_reset/": [get("/accounts/password_reset/", PUBLIC)],
    "/accounts/password_reset/done/": [get("/accounts/password_reset/done/", PUBLIC)],
    "/accounts/reset/<uidb64>/<token>/": [
        get("/accounts/reset/MQ/bogus-token/", PUBLIC, "an invalid link")
    ],
    "/accounts/reset/done/": [get("/accounts/reset/done/", PUBLIC)],
}


# --- Families: routes a library generates by the dozen, all behind one gate ----------------------


@dataclass(frozen=True)
class Family:
    """Every route matching `prefix`, checked with the same rule (see the tests below)."""

    prefix: str
    why: str
    # Example URLs for routes given as regular expressions (no example can be derived).
    examples: dict[str, str] = field(default_factory=dict)


# Every view of Django's admin is wrapped by AdminSite.admin_view: non-staff are sent to its login.
DJANGO_ADMIN = Family(
    "/admin/",
    "Django's admin: non-staff end at its login page; staff get in (or a permission 403)",
    examples={
        "/admin/^(?P<app_label>auth|chats|notifications)/$": "/admin/chats/",
        "/admin/(?P<url>.*)$": "/admin/no-such-page/",
    },
)
# Provider webhooks: off (404) until ANYMAIL_WEBHOOK_SECRET is set, then basic-auth protected.
WEBHOOKS = Family(
    "/email/anymail/",
    "email provider webhooks: 404 for everyone while ANYMAIL_WEBHOOK_SECRET is unset",
    examples={"/email/anymail/^mailgun/inbound(_mime)?/$": "/email/anymail/mailgun/inbound/"},
)
FAMILIES = (DJANGO_ADMIN, WEBHOOKS)


# --- Reading the URL configuration ---------------------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "/") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _api_methods() -> dict[str, list[str]]:
    """URL name -> HTTP methods of each django-ninja operation (named after its function)."""
    found: dict[str, list[str]] = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                found[operation.view_func.__name__] = list(operation.methods)
    return found


def http_routes() -> list[str]:
    """Every HTTP endpoint: a route, or "METHOD route" for each REST operation."""
    api_methods = _api_methods()
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        methods = api_methods.get(pattern.name or "") if route.startswith("/api/") else None
        if methods:
            routes.extend(f"{method} {route}" for method in methods)
        else:
            routes.append(route)
    return sorted(set(routes))


def family_of(route: str) -> Family | None:
    return next((family for family in FAMILIES if route.startswith(family.prefix)), None)


def example_url(family: Family, route: str) -> str:
    if route in family.examples:
        return family.examples[route]
    if "^" in route or "(?P" in route:
        raise AssertionError(f"{route}: a regular-expression route; add an example URL for it")
    # Converters become "0": no such object, which must not matter to who is let in.
    return re.sub(r"<[^>]+>", "0", route)


FAMILY_ROUTES = [route for route in http_routes() if family_of(route)]


# --- Checking ------------------------------------------------------------------------------------


def request(browser: Client, case: Case, world: World) -> Any:
    url = case.url(world)
    if case.json is not None:
        body = case.json(world) if callable(case.json) else case.json
        return browser.generic(case.method, url, json.dumps(body), "application/json")
    if case.method == "POST":
        form = case.form(world) if callable(case.form) else case.form
        return browser.post(url, form or {})
    return browser.generic(case.method, url)


def mismatch(response: Any, expected: Answer, world: World, role: str) -> str | None:
    if response.status_code != expected.status:
        return f"expected {expected}, got {response.status_code}"
    if expected.location is not None and not response["Location"].startswith(expected.location):
        return f"expected a redirect to {expected.location}..., got {response['Location']}"
    if expected.body is not None and not expected.body(world, response.json()):
        return f"unexpected body {response.content[:300]!r}"
    if role not in ("owner", "admin") and SECRET.encode() in response.content:
        return "the answer contains the owner's private message"
    return None


@pytest.fixture
def people(browsers: dict[str, Client], contacts: Contacts) -> dict[str, Client]:
    """Every role's browser: the session roles', and the embedded widget's people's, who send
    their desk token and have no session."""
    bearers = {
        role: Client(headers={"Authorization": f"Bearer {contacts.tokens[role]}"})
        for role in CONTACT_ROLES
    }
    return {**browsers, **bearers}


@pytest.mark.parametrize("route", sorted(ROWS))
def test_each_role_gets_the_expected_answer(
    route: str, world: World, people: dict[str, Client]
) -> None:
    failures = []
    for case in ROWS[route]:
        for role, browser in people.items():
            response = request(browser, case, world)
            problem = mismatch(response, case.expect[role], world, role)
            FIGURES["authorization matrix: HTTP cells checked"] += 1
            if problem:
                failures.append(
                    f"{case.method} {route} [{case.variant or 'as is'}] as {role}: {problem}"
                )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("route", FAMILY_ROUTES)
def test_each_role_gets_the_familys_answer(
    route: str, world: World, people: dict[str, Client]
) -> None:
    family = family_of(route)
    assert family is not None
    url = example_url(family, route)
    failures = []
    for role, browser in people.items():
        for method in ("GET", "POST"):
            send = browser.get if method == "GET" else browser.post
            response = send(url, follow=family is DJANGO_ADMIN)
            FIGURES["authorization matrix: HTTP cells checked"] += 1
            problem = _family_mismatch(family, role, response)
            if role != "admin" and SECRET.encode() in response.content:
                problem = "the answer contains the owner's private message"
            if problem:
                failures.append(f"{method} {url} as {role}: {problem} ({family.why})")
    assert not failures, "\n".join(failures)


def _family_mismatch(family: Family, role: str, response: Any) -> str | None:
    if family is WEBHOOKS:
        return None if response.status_code == 404 else f"expected 404, got {response.status_code}"
    final = urlsplit(response.request["PATH_INFO"]).path
    if role != "admin":
        if final != "/admin/login/" or response.status_code != 200:
            return f"expected to end at /admin/login/, ended at {final} ({response.status_code})"
        return None
    # (Posting the login form itself without credentials shows it again, to staff too.)
    if final == "/admin/login/" and response.request["REQUEST_METHOD"] == "GET":
        return "staff were sent to the login page"
    if response.status_code not in (200, 403, 404, 405):
        return f"unexpected {response.status_code} at {final}"
    return None


# --- Coverage: the rows follow the URL configuration ---------------------------------------------


def routes_without_rows() -> list[str]:
    return [route for route in http_routes() if route not in ROWS and not family_of(route)]


def test_every_http_route_has_a_row() -> None:
    missing = routes_without_rows()
    FIGURES["authorization matrix: HTTP endpoints (from the URL configuration)"] = len(
        http_routes()
    )
    assert not missing, (
        "routes without a row in tests/security/test_authorization_matrix.py ROWS (decide who "
        "may use them): " + ", ".join(missing)
    )


def test_a_new_route_without_a_row_is_named(settings: Any) -> None:
    urlconf = types.ModuleType("desk_urls_with_a_new_page")
    urlconf.urlpatterns = [  # type: ignore[attr-defined]
        *get_resolver(settings.ROOT_URLCONF).url_patterns,
        path("desk/export/<int:year>/", lambda request, year: HttpResponse()),
    ]
    sys.modules[urlconf.__name__] = urlconf
    settings.ROOT_URLCONF = urlconf.__name__
    try:
        assert routes_without_rows() == ["/desk/export/<int:year>/"]
    finally:
        del sys.modules[urlconf.__name__]


def test_every_row_names_a_route_that_exists() -> None:
    stale = sorted(set(ROWS) - set(http_routes()))
    assert not stale, "rows for routes the URL configuration does not have: " + ", ".join(stale)


def test_the_dashboard_pages_are_routed() -> None:
    # The dashboard's rows (admin-only pages) are part of the matrix; without the views it fails.
    routes = http_routes()
    assert "/desk/" in routes, "the dashboard's /desk/ page is not in the URL configuration"
    assert "/desk/chats/<uuid:chat_id>/" in routes, "/desk/chats/<id>/ is not routed"


def test_unsubscribing_with_someone_elses_link_changes_only_that_links_user(
    world: World, browsers: dict[str, Client]
) -> None:
    browsers["other"].post(f"/email/u/{world.unsubscribe_token}")
    preferences = {p.user_id: p.unsubscribed_at for p in EmailPreference.objects.all()}
    assert preferences[world.owner.pk] is not None
    assert preferences[world.other.pk] is None


# --- Sockets -------------------------------------------------------------------------------------

SOCKET_ROUTES = [str(pattern.pattern) for pattern in websocket_urlpatterns]
OPEN = 1000  # accepted and kept open (the code a client would see at a normal close)
REFUSED = 403  # refused during the handshake: the client sees an HTTP 403 and no socket
# The session roles, and the embedded widget's people, who open sockets with a desk token.
CONTACT_ROLES = ("guest", "identified")
SOCKET_ROLES = (*ROLES, *CONTACT_ROLES)


@dataclass(frozen=True)
class Contacts:
    """The embedded widget's people (chats/embed/), each with a chat and a desk token."""

    guest_chat: SupportChat
    identified_chat: SupportChat
    tokens: Mapping[str, str]


@pytest.fixture
def contacts(world: World) -> Contacts:
    guest = embed_services.guest_create(client="192.0.2.7", name="Gus").contact
    identified = embed_services.identified_contact(
        Identity(sub="shop-user-1017", email="dan@shop.example", name="Dan")
    )
    for contact in (guest, identified):
        services.user_message_post(user=contact.user, content=f"{contact.name}'s question")
    chats = {chat.user_id: chat for chat in SupportChat.objects.filter(user__contact__isnull=False)}
    return Contacts(
        guest_chat=chats[guest.user_id],
        identified_chat=chats[identified.user_id],
        tokens={"guest": desk_token(guest.user), "identified": desk_token(identified.user)},
    )


SocketPath = Callable[[World, Contacts], str]


@dataclass(frozen=True)
class SocketCase:
    path: SocketPath
    expect: Mapping[str, int]
    variant: str = ""


def socket_roles(
    anonymous: int,
    owner: int,
    other: int,
    inactive: int,
    admin: int,
    *,
    guest: int,
    identified: int,
) -> dict[str, int]:
    return dict(
        anonymous=anonymous,
        owner=owner,
        other=other,
        inactive=inactive,
        admin=admin,
        guest=guest,
        identified=identified,
    )


def chat_socket(chat: Callable[[World, Contacts], Any]) -> SocketPath:
    return lambda world, contacts: f"/ws/support_chat/{chat(world, contacts).id}/"


SOCKET_ROWS: dict[str, list[SocketCase]] = {
    "ws/support_chat/<str:chat_id>/": [
        # Another user gets 4404, as for a chat that does not exist: no probing of chat ids.
        SocketCase(
            chat_socket(lambda world, contacts: world.chat),
            socket_roles(4401, OPEN, 4404, 4401, OPEN, guest=4404, identified=4404),
        ),
        SocketCase(
            chat_socket(lambda world, contacts: contacts.guest_chat),
            socket_roles(4401, 4404, 4404, 4401, OPEN, guest=OPEN, identified=4404),
            "a guest's chat",
        ),
        SocketCase(
            chat_socket(lambda world, contacts: contacts.identified_chat),
            socket_roles(4401, 4404, 4404, 4401, OPEN, guest=4404, identified=OPEN),
            "an identified person's chat",
        ),
        SocketCase(
            lambda world, contacts: f"/ws/support_chat/{UNKNOWN_CHAT}/",
            socket_roles(4401, 4404, 4404, 4401, 4404, guest=4404, identified=4404),
            "unknown chat",
        ),
        SocketCase(
            lambda world, contacts: "/ws/support_chat/not-a-uuid/",
            socket_roles(4401, 4404, 4404, 4401, 4404, guest=4404, identified=4404),
            "malformed chat id",
        ),
    ],
    "ws/admin/notifications/": [
        SocketCase(
            lambda world, contacts: "/ws/admin/notifications/",
            socket_roles(4401, 4403, 4403, 4401, OPEN, guest=4403, identified=4403),
        ),
    ],
    # Any other path.
    "": [
        SocketCase(
            lambda world, contacts: "/ws/nothing-here/",
            socket_roles(*[REFUSED] * 5, guest=REFUSED, identified=REFUSED),
        )
    ],
}


def test_every_socket_route_has_a_row() -> None:
    FIGURES["authorization matrix: socket routes (from chats/routing.py)"] = len(SOCKET_ROUTES)
    missing = [route for route in SOCKET_ROUTES if route not in SOCKET_ROWS]
    assert not missing, "socket routes without a row in SOCKET_ROWS: " + ", ".join(missing)
    stale = sorted(set(SOCKET_ROWS) - set(SOCKET_ROUTES))
    assert not stale, "socket rows for routes chats/routing.py does not have: " + ", ".join(stale)


async def socket_outcome(
    path: str, cookie: str | None, origin: str | None = ORIGIN, bearer: str | None = None
) -> int:
    """How desk answers a socket opened on `path` with this session (or desk token) and Origin."""
    from desk.asgi import application

    headers = [] if origin is None else [(b"origin", origin.encode())]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    subprotocols = None if bearer is None else bearer_subprotocols(bearer)
    communicator = WebsocketCommunicator(application, path, headers, subprotocols)
    accepted, _ = await communicator.connect(within=5)
    if not accepted:
        await communicator.wait(1)
        return REFUSED
    if await communicator.receive_nothing(0.2):
        await communicator.disconnect(within=5)
        return OPEN
    closed = await communicator.receive_output(5)
    assert closed["type"] == "websocket.close", closed
    await communicator.send_input({"type": "websocket.disconnect", "code": closed["code"]})
    await communicator.wait(5)
    return int(closed["code"])


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", sorted(SOCKET_ROWS))
async def test_each_role_gets_the_expected_socket_answer(
    route: str, world: World, browsers: dict[str, Client], contacts: Contacts, settings: Any
) -> None:
    from chats import access, ratelimit

    settings.DESK_EMBED_ORIGINS = [EMBED_ORIGIN]
    cookies = {
        role: browser.cookies["sessionid"].value if "sessionid" in browser.cookies else None
        for role, browser in browsers.items()
    }
    failures = []
    try:
        for case in SOCKET_ROWS[route]:
            path = case.path(world, contacts)
            for role in SOCKET_ROLES:
                if role in CONTACT_ROLES:
                    # As the widget on the host's page opens it: no cookie, the desk token.
                    got = await socket_outcome(path, None, EMBED_ORIGIN, contacts.tokens[role])
                else:
                    got = await socket_outcome(path, cookies[role])
                FIGURES["authorization matrix: socket cells checked"] += 1
                if got != case.expect[role]:
                    failures.append(
                        f"{path} [{case.variant or 'as is'}] as {role}: "
                        f"expected {case.expect[role]}, got {got}"
                    )
    finally:
        await ratelimit.close()
        await access.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "route", [route for route in FAMILY_ROUTES if family_of(route) is WEBHOOKS]
)
def test_with_the_webhook_secret_set_a_post_without_its_credentials_is_refused(
    route: str, world: World, browsers: dict[str, Client], settings: Any
) -> None:
    # desk's provider (postmark here) checks the secret; any other provider's webhook is a 404.
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook-user:hook-password"}
    url = example_url(WEBHOOKS, route)
    for role in ROLES:
        with warnings.catch_warnings():
            # Anymail warns about the providers it is phasing out (SendGrid, SendinBlue).
            warnings.simplefilter("ignore", AnymailWarning)
            response = browsers[role].post(url, "{}", content_type="application/json")
        FIGURES["authorization matrix: HTTP cells checked"] += 1
        assert response.status_code in (400, 401, 403, 404), (role, response.status_code)
