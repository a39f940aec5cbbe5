"""desk's own token for an embedded widget: short-lived, sent as `Authorization: Bearer`.

The widget exchanges an identity token or a guest's secret for one (`POST /api/embed/token`) and
renews it before it runs out (DESK_EMBED_TOKEN_TTL). Third-party cookies are blocked in most
browsers, so this, not a session, is what an embedded widget authenticates with, on REST and on
its socket (where it travels as a subprotocol, never in the URL).

A JWT (HS256) with a key derived from SECRET_KEY (any of SECRET_KEY_FALLBACKS still verifies, so
a key rotation does not log every widget out), typed `desk-embed` so that no other token desk or
a host signs can pass for one. It names a contact's user; the user is re-read on every use, so a
deleted or deactivated person's token stops working at once.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.contrib.auth.models import User
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy

from chats.errors import UnauthenticatedError

ALGORITHM = "HS256"
TOKEN_TYPE = "desk-embed"
KEY_SALT = "desk.chats.embed.tokens"
MAX_TOKEN_CHARS = 2048
PERSON_GONE = gettext_lazy("This desk token's person no longer exists.")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def desk_token_issue(user: User) -> IssuedToken:
    now = int(time.time())
    ttl = settings.DESK_EMBED_TOKEN_TTL
    claims = {"sub": str(user.pk), "typ": TOKEN_TYPE, "iat": now, "exp": now + ttl}
    return IssuedToken(jwt.encode(claims, _key(settings.SECRET_KEY), algorithm=ALGORITHM), ttl)


def desk_token_user_pk(token: object) -> int:
    """The user `token` was issued to, without touching the database; raises
    UnauthenticatedError (reason `token_expired` or `token_invalid`)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise _invalid()
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        try:
            claims = jwt.decode(
                token,
                _key(secret),
                algorithms=[ALGORITHM],
                options={"require": ["sub", "exp", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            raise UnauthenticatedError(
                gettext_lazy("The desk token has expired; exchange the identity again."),
                reason="token_expired",
            ) from None
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidTokenError:
            raise _invalid() from None
        subject = claims["sub"]
        if claims["typ"] != TOKEN_TYPE or not isinstance(subject, str) or not subject.isdigit():
            raise _invalid()
        return int(subject)
    raise _invalid()


def desk_token_user(token: object) -> User:
    """The active contact user `token` names (one query); UnauthenticatedError otherwise."""
    user = contact_user(desk_token_user_pk(token))
    if user is None:
        raise UnauthenticatedError(PERSON_GONE, reason="token_invalid")
    return user


def contact_user(user_pk: int | str) -> User | None:
    """The user `user_pk` if it is still an active contact: what every use of a desk token, and
    every re-check of a socket opened with one, requires."""
    return User.objects.filter(pk=user_pk, is_active=True, contact__isnull=False).first()


@functools.cache
def _key(secret: str | bytes) -> bytes:
    # Once per secret and process: every bearer request verifies with it.
    return salted_hmac(KEY_SALT, "key", secret=secret, algorithm="sha256").digest()


def _invalid() -> UnauthenticatedError:
    return UnauthenticatedError(
        gettext_lazy("The desk token is not valid."), reason="token_invalid"
    )
