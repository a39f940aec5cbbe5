"""desk's own token: issued to a contact, short-lived, typed, and re-checked against the database
on every use."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from django.contrib.auth.models import User
from freezegun import freeze_time

from chats.embed import services, tokens
from chats.errors import UnauthenticatedError

pytestmark = pytest.mark.django_db


@pytest.fixture
def guest() -> Any:
    return services.guest_create(client="203.0.113.7", name="Grace").contact


def refused(token: object) -> UnauthenticatedError:
    with pytest.raises(UnauthenticatedError) as refusal:
        tokens.desk_token_user(token)
    return refusal.value


def test_a_token_names_the_contact_it_was_issued_to(guest: Any) -> None:
    issued = tokens.desk_token_issue(guest.user)
    assert tokens.desk_token_user(issued.token) == guest.user
    assert issued.expires_in == 900


def test_a_token_expires_after_its_lifetime(guest: Any, settings: Any) -> None:
    settings.DESK_EMBED_TOKEN_TTL = 60
    with freeze_time("2026-11-30 10:00:00"):
        token = tokens.desk_token_issue(guest.user).token
    with freeze_time("2026-11-30 10:01:01"):
        assert refused(token).reason == "token_expired"


def test_a_token_signed_with_an_old_secret_key_still_works_during_a_rotation(
    guest: Any, settings: Any
) -> None:
    token = tokens.desk_token_issue(guest.user).token
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "x" * 40
    assert tokens.desk_token_user(token) == guest.user


def test_a_token_signed_with_an_unknown_key_is_refused(guest: Any) -> None:
    claims = {"sub": str(guest.user.pk), "typ": "desk-embed", "exp": int(time.time()) + 60}
    forged = jwt.encode(claims, "guessed-" + "k" * 40, algorithm="HS256")
    assert refused(forged).reason == "token_invalid"


def test_a_host_identity_token_cannot_pass_for_a_desk_token(guest: Any, settings: Any) -> None:
    # Even signed with desk's own derived key, a token of another type is refused.
    claims = {"sub": str(guest.user.pk), "typ": "identity", "exp": int(time.time()) + 60}
    other = jwt.encode(claims, tokens._key(settings.SECRET_KEY), algorithm="HS256")
    assert refused(other).reason == "token_invalid"


def test_a_deleted_persons_token_stops_working_at_once(guest: Any) -> None:
    token = tokens.desk_token_issue(guest.user).token
    services.contact_forget(guest)
    assert refused(token).reason == "token_invalid"


def test_a_deactivated_persons_token_stops_working(guest: Any) -> None:
    token = tokens.desk_token_issue(guest.user).token
    User.objects.filter(pk=guest.user_id).update(is_active=False)
    assert refused(token).reason == "token_invalid"


def test_a_token_for_a_desk_login_is_refused(user: Any) -> None:
    # Bearer tokens are for contacts only: a desk user (let alone an admin) never gets in by one.
    token = tokens.desk_token_issue(user).token
    assert refused(token).reason == "token_invalid"


@pytest.mark.parametrize("token", [None, "", "x" * 3000, "a.b.c", 12, "Bearer x"])
def test_garbage_is_refused(token: object) -> None:
    assert refused(token).reason == "token_invalid"
