"""Sockets accept exactly the page origins REST accepts (scheme, host and port), and the sites that
embed desk (DESK_EMBED_ORIGINS), whose sockets are never authenticated by the session cookie
(tests/security/test_embed_socket_auth.py).

The check is desk/runtime/origins.py's. Each case opens the admins' feed as an admin, the most
valuable socket to hijack, through desk's real ASGI application, with the Host and Origin a browser
would send. REST's answer to the same origin is Django's CSRF check on a real form post.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.test import Client

from chats import ratelimit
from tests.realtime.conftest import HOST, ORIGIN, WebsocketCommunicator, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

FEED = "/ws/admin/notifications/"

Opens = Callable[..., Awaitable[bool]]


class SecureCommunicator(WebsocketCommunicator):
    """A socket that arrived over TLS (uvicorn's scope says wss, directly or from the proxy)."""

    def __init__(self, application: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(application, path, headers)
        # The application has not started yet: it reads the scope on its first step.
        self.scope["scheme"] = "wss"


@pytest_asyncio.fixture
async def opens(admin: Any) -> AsyncIterator[Opens]:
    """`await opens(origin, host=..., tls=...)`: whether the admin's socket is let in."""
    from desk.asgi import application

    cookie = await database_sync_to_async(session_cookie)(admin)

    async def open_feed(origin: str | None, *, host: str = HOST, tls: bool = False) -> bool:
        headers = [(b"host", host.encode()), (b"cookie", f"sessionid={cookie}".encode())]
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        kind = SecureCommunicator if tls else WebsocketCommunicator
        communicator = kind(application, FEED, headers)
        accepted, _ = await communicator.connect(within=5)
        if accepted:
            await communicator.disconnect(within=5)
        else:
            await communicator.wait(1)
        return bool(accepted)

    yield open_feed
    await ratelimit.close()


def rest_accepts(origin: str) -> bool:
    """Whether Django's CSRF check lets a form post with the token in from a page of `origin`."""
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        "/accounts/login/",
        {"username": "nobody", "password": "wrong", "csrfmiddlewaretoken": token},
        headers={"Origin": origin},
    )
    assert response.status_code in {200, 403}, response.status_code
    return response.status_code == 200


async def test_a_socket_from_desks_own_origin_is_accepted(opens: Opens) -> None:
    assert await opens(ORIGIN)


async def test_a_socket_from_another_port_on_the_same_host_is_refused(opens: Opens) -> None:
    assert not await opens("http://testserver:9999")


async def test_a_socket_from_the_same_host_and_port_over_another_scheme_is_refused(
    opens: Opens,
) -> None:
    assert not await opens("https://testserver")


async def test_a_plain_socket_from_an_https_page_of_the_same_host_is_refused(opens: Opens) -> None:
    # The mirror case: desk reached over TLS, the page on plain http.
    assert not await opens("http://testserver", tls=True)


async def test_a_tls_socket_from_desks_own_https_origin_is_accepted(opens: Opens) -> None:
    assert await opens("https://testserver", tls=True)


async def test_a_socket_without_an_origin_is_refused(opens: Opens) -> None:
    assert not await opens(None)


async def test_a_socket_from_a_null_origin_is_refused(opens: Opens) -> None:
    assert not await opens("null")


async def test_a_socket_whose_host_is_not_an_allowed_host_is_refused_even_from_that_host(
    opens: Opens,
) -> None:
    # DNS rebinding: evil.example resolving to desk, its page's Origin matching its Host.
    assert not await opens("http://evil.example", host="evil.example")


async def test_a_socket_from_an_origin_in_csrf_trusted_origins_is_accepted(
    opens: Opens, settings: Any
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://support.example.com"]
    assert await opens("https://support.example.com")


async def test_a_socket_from_a_subdomain_of_a_trusted_wildcard_origin_is_accepted(
    opens: Opens, settings: Any
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    assert await opens("https://app.example.com")


async def test_a_trusted_origin_on_another_port_is_refused(opens: Opens, settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://support.example.com"]
    assert not await opens("https://support.example.com:8443")


ORIGINS = [
    ORIGIN,
    "https://testserver",
    "http://testserver:80",
    "http://testserver:9999",
    "http://TESTSERVER",
    "http://testserver/",
    "http://localhost:8000",
    "https://support.example.com",
    "https://support.example.com:8443",
    "http://support.example.com",
    "https://app.example.com",
    "https://example.com",
    "https://evil.example",
    "null",
    "",
    "http://[",
]


@pytest.mark.parametrize("origin", ORIGINS)
async def test_a_socket_is_accepted_exactly_when_rest_accepts_the_same_origin(
    origin: str, opens: Opens, settings: Any
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = [
        "http://localhost:8000",
        "https://support.example.com",
        "https://*.example.com",
    ]
    rest = await database_sync_to_async(rest_accepts)(origin)
    assert await opens(origin) is rest


EMBED_ORIGINS = ["https://shop.example", "http://testserver:9999"]


@pytest.mark.parametrize("origin", [*ORIGINS, "https://www.shop.example", "https://shop.example"])
async def test_a_socket_handshake_is_accepted_exactly_for_rests_origins_and_embed_origins(
    origin: str, opens: Opens, settings: Any
) -> None:
    # Accepted here means let in at the handshake: an embed origin's socket is then closed with
    # 4401, having no desk token (the admin's cookie is not used).
    settings.CSRF_TRUSTED_ORIGINS = ["https://support.example.com"]
    settings.DESK_EMBED_ORIGINS = EMBED_ORIGINS
    rest = await database_sync_to_async(rest_accepts)(origin)
    assert await opens(origin) is (rest or origin in EMBED_ORIGINS)
