from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from chats import availability, services
from chats.models import SupportChat, SupportMessage
from chats.realtime import transport
from chats.realtime.protocol import Delivery
from tests.settings_env import FreshDesk

User = get_user_model()


def make_user(email: str, **extra: Any) -> Any:
    return User.objects.create_user(username=email, email=email, password="pw-for-tests", **extra)


@pytest.fixture
def user(db: None) -> Any:
    return make_user("ann@example.com")


@pytest.fixture
def other_user(db: None) -> Any:
    return make_user("ben@example.com")


@pytest.fixture
def admin(db: None) -> Any:
    return make_user("support@example.com", is_staff=True)


@pytest.fixture
def other_admin(db: None) -> Any:
    return make_user("support2@example.com", is_staff=True)


class ApiClient:
    """A logged-in (or anonymous) browser session against /api/, speaking JSON."""

    def __init__(self, user: Any = None, *, csrf: bool = False) -> None:
        self.client = Client(enforce_csrf_checks=csrf)
        if user is not None:
            self.client.force_login(user)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api{path}", params)

    def post(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self.client.post(
            f"/api{path}", json.dumps(body or {}), content_type="application/json", headers=headers
        )

    def patch(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self.client.patch(
            f"/api{path}", json.dumps(body or {}), content_type="application/json", headers=headers
        )


def logged_in(user: Any) -> Client:
    """A browser with a session of its own for `user` (call from a thread in async tests)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def widget(user: Any) -> Client:
    """The user's browser, logged in."""
    return logged_in(user)


@pytest.fixture
def console(admin: Any) -> Client:
    """The admin's browser, logged in."""
    return logged_in(admin)


@pytest.fixture
def api() -> Callable[..., ApiClient]:
    """`api(user)` is that user's session; `api()` is anonymous; `csrf=True` enforces CSRF."""
    return ApiClient


@pytest.fixture
def chat(user: Any) -> SupportChat:
    return services.chat_get_or_create(user=user)


@pytest.fixture
def say(user: Any) -> Callable[[str], SupportMessage]:
    """The user posts a message."""
    return lambda content: services.user_message_post(user=user, content=content)


@pytest.fixture
def reply(admin: Any, chat: SupportChat) -> Callable[[str], SupportMessage]:
    """An admin replies in the user's chat."""
    return lambda content: services.admin_reply_post(admin=admin, chat_id=chat.id, content=content)


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[Delivery]:
    """Every event the services send after their commits, as (group, event), in order. The events
    still go out through the channel layer."""
    sent: list[Delivery] = []
    send = transport.broadcast

    def recorded(deliveries: list[Delivery]) -> None:
        sent.extend(deliveries)
        send(deliveries)

    monkeypatch.setattr(transport, "broadcast", recorded)
    return sent


@pytest.fixture
def fresh_desk(tmp_path: Path) -> FreshDesk:
    """desk's settings loaded in a new process from a clean environment (tests/settings_env.py):
    `.settings(**env)`, `.start_up(**env)`, `.manage(*args, **env)`; data in tmp_path."""
    return FreshDesk(tmp_path)


@pytest.fixture(autouse=True)
def fresh_support_settings() -> None:
    """The support settings a process caches (chats.availability) are re-read in each test: a
    test's database rollback sends no signal to forget them."""
    availability.settings_changed()


def channel_layers_forget() -> None:
    """Drop the process's channel layers: the next use makes new ones.

    A channels-redis layer keeps per-channel asyncio locks that bind to the event loop they were
    contended in, and a receive cancelled while waiting for one leaves it behind. One event loop
    serves a server process for its whole life; a test suite opens one per test (or per example),
    and a layer carried into the next loop failed its sockets with "bound to a different event
    loop". Each loop gets a layer of its own instead.
    """
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def english_between_tests() -> Iterator[None]:
    """A request through the test client leaves its language active in this thread (Django's
    LocaleMiddleware activates and never deactivates): the next test starts in English."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def one_channel_layer_per_test() -> Iterator[None]:
    yield
    channel_layers_forget()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The default hasher's deliberate slowness would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def full_message_allowance(settings: Any) -> None:
    # Rate-limit allowances live in Redis for up to a minute, keyed by user id, and user ids repeat
    # from test to test: each test starts with the whole allowance (chats/ratelimit.py's keys).
    settings.DESK_CHANNEL_PREFIX = f"{settings.DESK_CHANNEL_PREFIX}-{uuid.uuid4().hex[:8]}"
