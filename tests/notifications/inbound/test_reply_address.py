"""The reply address: one per chat, signed, readable back only as desk made it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from notifications import links

CHAT = uuid.UUID("0e6f2c1a-54c3-4d2e-9d51-6a3f0f5b8c11")


@pytest.fixture(autouse=True)
def inbound_domain(settings: Any) -> None:
    settings.DESK_INBOUND_DOMAIN = "reply.shop.example"


def test_there_is_no_reply_address_without_an_inbound_domain(settings: Any) -> None:
    settings.DESK_INBOUND_DOMAIN = ""
    assert links.reply_address(CHAT) is None


def test_the_reply_address_names_the_chat_on_the_inbound_domain() -> None:
    address = links.reply_address(CHAT)
    assert address is not None
    local, _, domain = address.partition("@")
    assert domain == "reply.shop.example"
    assert local.startswith("reply+")
    assert len(local) <= 64  # RFC 5321's limit for a local part
    assert address.isascii()
    assert address == address.lower()
    assert links.reply_address_read(address) == CHAT


def test_each_chat_has_its_own_reply_address() -> None:
    assert links.reply_address(CHAT) != links.reply_address(uuid.uuid4())


def test_a_reply_address_is_read_whatever_the_case_a_mail_system_gave_it() -> None:
    address = links.reply_address(CHAT)
    assert address is not None
    assert links.reply_address_read(address.upper()) == CHAT


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda a: a.replace("reply+", "replies+"), id="another prefix"),
        pytest.param(lambda a: a.replace("@reply.shop", "@evil"), id="another domain"),
        pytest.param(lambda a: a[: a.index(".")] + "." + "a" * 16 + a[a.index("@") :], id="mac"),
        pytest.param(lambda a: "reply+" + "b" * 26 + a[a.index(".") :], id="another chat"),
        pytest.param(lambda a: a.replace(".", "", 1), id="no separator"),
        pytest.param(lambda a: a[:-25] + a[-24:], id="one character short"),
        pytest.param(lambda a: "reply+@reply.shop.example", id="empty token"),
        pytest.param(lambda a: a.replace("reply+", "reply+" + "x" * 300), id="oversized"),
        pytest.param(lambda a: "reply+" + "9" * 26 + a[a.index(".") :], id="not base32"),
    ],
)
def test_an_altered_or_forged_reply_address_is_refused(tamper: Any) -> None:
    address = links.reply_address(CHAT)
    assert address is not None
    with pytest.raises(links.InvalidLinkError):
        links.reply_address_read(tamper(address))


def test_an_address_made_with_another_secret_key_is_refused(settings: Any) -> None:
    settings.SECRET_KEY = "an-older-key-" + "x" * 40
    address = links.reply_address(CHAT)
    assert address is not None
    settings.SECRET_KEY = "the-current-key-" + "y" * 40
    with pytest.raises(links.InvalidLinkError):
        links.reply_address_read(address)


def test_an_address_made_with_a_retired_key_still_in_the_fallbacks_works(settings: Any) -> None:
    settings.SECRET_KEY = "an-older-key-" + "x" * 40
    address = links.reply_address(CHAT)
    assert address is not None
    settings.SECRET_KEY = "the-current-key-" + "y" * 40
    settings.SECRET_KEY_FALLBACKS = ["an-older-key-" + "x" * 40]
    assert links.reply_address_read(address) == CHAT


def test_no_reply_address_is_accepted_once_the_inbound_domain_is_unset(settings: Any) -> None:
    address = links.reply_address(CHAT)
    assert address is not None
    settings.DESK_INBOUND_DOMAIN = ""
    with pytest.raises(links.InvalidLinkError):
        links.reply_address_read(address)
