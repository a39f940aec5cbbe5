"""The embedding settings are checked at start-up: a weak identity secret or a return address
that is not a web page stops desk with a clear message."""

from __future__ import annotations

from typing import Any

import pytest

from chats.embed import checks


def test_a_short_identity_secret_is_an_error(settings: Any) -> None:
    settings.DESK_IDENTITY_SECRET = "too-short"
    [error] = checks.identity_secret_is_long_enough()
    assert error.id == "desk.E010"
    assert "9 characters" in error.msg


@pytest.mark.parametrize("secret", ["", "x" * 32])
def test_no_secret_or_a_long_one_is_fine(settings: Any, secret: str) -> None:
    settings.DESK_IDENTITY_SECRET = secret
    assert checks.identity_secret_is_long_enough() == []


@pytest.mark.parametrize("url", ["shop.example/#chat", "javascript:alert(1)", "https://"])
def test_a_return_url_that_is_not_a_web_address_is_an_error(settings: Any, url: str) -> None:
    settings.DESK_EMBED_RETURN_URL = url
    [error] = checks.return_url_is_a_web_address()
    assert error.id == "desk.E011"


@pytest.mark.parametrize(
    "url", ["", "https://shop.example/#support-chat", "http://localhost:3000/"]
)
def test_a_web_return_url_or_none_is_fine(settings: Any, url: str) -> None:
    settings.DESK_EMBED_RETURN_URL = url
    assert checks.return_url_is_a_web_address() == []
