"""The host site's identity token: exactly HS256 with DESK_IDENTITY_SECRET, sub and exp, a day at
most; everything else is refused with a reason."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from freezegun import freeze_time

from chats.embed.identity import Identity, identity_verify
from chats.errors import UnauthenticatedError
from tests.embed.conftest import SECRET, Mint


def refused(token: object) -> UnauthenticatedError:
    with pytest.raises(UnauthenticatedError) as refusal:
        identity_verify(token)
    return refusal.value


def test_a_token_signed_by_the_host_names_its_person(mint: Mint) -> None:
    token = mint("shop-42", email="ada@shop.example", name="Ada Lovelace")
    assert identity_verify(token) == Identity("shop-42", "ada@shop.example", "Ada Lovelace")


def test_email_and_name_are_optional(mint: Mint) -> None:
    assert identity_verify(mint("shop-42")) == Identity("shop-42", "", "")


def test_identified_mode_is_off_without_a_secret(settings: Any) -> None:
    settings.DESK_IDENTITY_SECRET = ""
    token = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert refused(token).reason == "identity_disabled"


def test_a_token_signed_with_another_secret_is_refused(mint: Mint) -> None:
    error = refused(mint(secret="someone-elses-secret-" + "0123456789abcdef" * 3))
    assert error.reason == "identity_invalid"
    assert "signature" in error.detail


def test_an_expired_token_is_refused(mint: Mint) -> None:
    token = mint()
    with freeze_time(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 3600 + 120))):
        assert refused(token).reason == "identity_expired"


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_hmac_algorithms_are_refused(mint: Mint, algorithm: str) -> None:
    assert refused(mint(algorithm=algorithm)).reason == "identity_invalid"


def test_an_unsigned_token_is_refused(identity_secret: str) -> None:
    # alg "none": what a forger sends hoping the server skips verification.
    token = jwt.encode({"sub": "admin", "exp": int(time.time()) + 60}, None, algorithm="none")
    assert refused(token).reason == "identity_invalid"


def test_a_token_with_its_payload_edited_is_refused(mint: Mint) -> None:
    header, payload, signature = mint("shop-42").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "shop-1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refused(f"{header}.{forged}.{signature}").reason == "identity_invalid"


@pytest.mark.parametrize("missing", ["sub", "exp"])
def test_sub_and_exp_are_required(mint: Mint, missing: str) -> None:
    claims: dict[str, Any] = {"sub": "shop-42", "exp": int(time.time()) + 60}
    del claims[missing]
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    error = refused(token)
    assert error.reason == "identity_invalid"
    assert missing in error.detail


def test_a_lifetime_over_a_day_is_refused(mint: Mint) -> None:
    assert refused(mint(lifetime=25 * 3600)).reason == "identity_invalid"


def test_a_lifetime_over_a_day_is_refused_without_iat_too(identity_secret: str) -> None:
    token = jwt.encode({"sub": "x", "exp": int(time.time()) + 2 * 86400}, SECRET, "HS256")
    assert refused(token).reason == "identity_invalid"


def test_a_day_exactly_is_accepted(mint: Mint) -> None:
    assert identity_verify(mint(lifetime=24 * 3600)).sub == "shop-42"


@pytest.mark.parametrize("sub", [42, "", "   ", "x" * 256, "a\x00b", ["shop-42"]])
def test_sub_must_be_a_reasonable_string(mint: Mint, sub: Any) -> None:
    assert refused(mint(sub)).reason == "identity_invalid"


@pytest.mark.parametrize("email", ["not an address", 7, "a@" + "b" * 260 + ".com"])
def test_a_malformed_email_claim_is_refused(mint: Mint, email: Any) -> None:
    assert refused(mint(email=email)).reason == "identity_invalid"


def test_control_characters_are_dropped_from_the_name_and_it_is_capped(mint: Mint) -> None:
    identity = identity_verify(mint(name="Ada\n\x1b[31m Lovelace" + "x" * 300))
    assert identity.name.startswith("Ada[31m Lovelace")
    assert len(identity.name) == 100


@pytest.mark.parametrize("token", [None, 17, "", "not.a.jwt", "x" * 5000, "a.b", "\x00"])
def test_garbage_is_refused_not_crashed_on(identity_secret: str, token: object) -> None:
    assert refused(token).reason == "identity_invalid"
