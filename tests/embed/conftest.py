from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

SECRET = "host-site-secret-for-tests-" + "0123456789abcdef" * 3

Mint = Callable[..., str]


@pytest.fixture
def identity_secret(settings: Any) -> str:
    settings.DESK_IDENTITY_SECRET = SECRET
    return SECRET


@pytest.fixture
def mint(identity_secret: str) -> Mint:
    """`mint(sub=..., **claims)`: an identity token as a host site signs it (an hour's life)."""

    def signed(
        sub: Any = "shop-42",
        *,
        secret: str = SECRET,
        algorithm: str = "HS256",
        lifetime: int = 3600,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {"sub": sub, "iat": now, "exp": now + lifetime, **claims}
        payload = {key: value for key, value in payload.items() if value is not None}
        return jwt.encode(payload, secret, algorithm=algorithm)

    return signed
