"""The host site's identity token: who its logged-in visitor is, signed with a shared secret.

A JWT signed HS256 with DESK_IDENTITY_SECRET (PyJWT; every other algorithm, `none` included, is
refused). Claims: `sub` (required, a string: the host's user id), `exp` (required; a lifetime of
at most 24 hours), `iat`, `email` and `name` (optional). One `sub` is one person and one chat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

from chats.errors import InvalidInputError, UnauthenticatedError
from chats.models import NAME_MAX_LENGTH
from chats.validation import email_clean, one_line

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ALGORITHM = "HS256"
MAX_LIFETIME = 24 * 3600
# Clock skew tolerated between the host's servers and desk's, on `exp` and `iat`.
LEEWAY = 60
# A token far longer than any real one is refused before it is parsed.
MAX_TOKEN_CHARS = 4096
SUB_MAX_LENGTH = 255


@dataclass(frozen=True)
class Identity:
    sub: str
    email: str
    name: str


def identity_enabled() -> bool:
    return bool(settings.DESK_IDENTITY_SECRET)


def identity_verify(token: object) -> Identity:
    """The person `token` names; UnauthenticatedError for anything else, with a reason."""
    if not identity_enabled():
        raise UnauthenticatedError(
            gettext_lazy("Identified mode is off: this desk has no DESK_IDENTITY_SECRET."),
            reason="identity_disabled",
        )
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise _invalid(gettext("The identity token must be a JWT string."))
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.DESK_IDENTITY_SECRET,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp"], "verify_sub": False},
            leeway=LEEWAY,
        )
    except jwt.ExpiredSignatureError:
        raise UnauthenticatedError(
            gettext_lazy("The identity token has expired; sign a new one."),
            reason="identity_expired",
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise _invalid(
            gettext("The identity token has no `%(claim)s` claim.") % {"claim": exc.claim}
        ) from None
    except jwt.InvalidAlgorithmError:
        raise _invalid(gettext("The identity token must be signed with HS256.")) from None
    except jwt.InvalidSignatureError:
        raise _invalid(
            gettext("The identity token's signature does not match DESK_IDENTITY_SECRET.")
        ) from None
    except jwt.InvalidTokenError as exc:
        raise _invalid(
            # Translators: the reason is PyJWT's own explanation, in English.
            gettext("The identity token is not valid: %(reason)s.") % {"reason": exc}
        ) from None
    _check_lifetime(claims)
    return Identity(
        sub=_sub(claims.get("sub")),
        email=_email(claims.get("email")),
        name=_name(claims.get("name")),
    )


def _check_lifetime(claims: dict[str, Any]) -> None:
    # PyJWT has checked that `exp` and `iat` are numbers. Measured from `iat` when the token has
    # one, else from now: either way no token lives longer than a day.
    issued = claims.get("iat")
    start = issued if isinstance(issued, int | float) else time.time()
    if claims["exp"] - start > MAX_LIFETIME + LEEWAY:
        raise _invalid(gettext("The identity token may live at most 24 hours (`exp` - `iat`)."))


def _sub(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > SUB_MAX_LENGTH:
        raise _invalid(
            gettext("The identity token's `sub` must be a string of 1 to %(max)s characters.")
            % {"max": SUB_MAX_LENGTH}
        )
    if "\x00" in value:
        raise _invalid(gettext("The identity token's `sub` must not contain NUL."))
    return value


def _email(value: object) -> str:
    try:
        return email_clean(value)
    except InvalidInputError:
        raise _invalid(gettext("The identity token's `email` must be an email address.")) from None


def _name(value: object) -> str:
    # Unlike a name a guest types, a host's over-long name is cut, not refused.
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(gettext("The identity token's `name` must be a string."))
    return one_line(value)[:NAME_MAX_LENGTH]


def _invalid(message: StrOrPromise) -> UnauthenticatedError:
    return UnauthenticatedError(message, reason="identity_invalid")
