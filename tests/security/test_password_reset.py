"""The password-reset page: limited per address and per client, silent to suppressed addresses.

Played through Django's test client against the real limiter on the test run's Redis; each test
starts with full allowances (tests/conftest.py gives every test its own key prefix).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from notifications.models import SuppressionReason
from notifications.services import address_suppress
from tests.conftest import make_user
from tests.live import live_desk

pytestmark = pytest.mark.django_db

RESET = "/accounts/password_reset/"
DONE = "/accounts/password_reset/done/"


@pytest.fixture(autouse=True)
def small_allowances(settings: Any) -> None:
    settings.DESK_PASSWORD_RESETS_PER_ADDRESS = 2
    settings.DESK_PASSWORD_RESETS_PER_CLIENT = 4


def ask(email: str, client: str = "198.51.100.7") -> Any:
    """A reset request for `email` from the client at `client` (uvicorn's REMOTE_ADDR)."""
    return Client(REMOTE_ADDR=client).post(RESET, {"email": email})


def recipients(mailoutbox: list[Any]) -> list[str]:
    return [address for message in mailoutbox for address in message.to]


def test_one_address_gets_as_many_emails_as_its_allowance_and_no_more(
    user: Any, mailoutbox: list[Any]
) -> None:
    answers = [ask(user.email, client=f"198.51.100.{n}").status_code for n in range(3)]

    assert answers == [302, 302, 429]
    assert recipients(mailoutbox) == [user.email, user.email]


def test_every_spelling_of_an_address_takes_from_the_same_allowance(
    user: Any, mailoutbox: list[Any]
) -> None:
    spellings = ["ann@example.com", "ANN@Example.com", "Ann@EXAMPLE.COM"]

    answers = [
        ask(email, client=f"198.51.100.{n}").status_code for n, email in enumerate(spellings)
    ]

    assert answers == [302, 302, 429]
    assert len(mailoutbox) == 2


def test_over_the_limit_the_form_comes_back_with_the_error_and_when_to_try_again(
    user: Any, mailoutbox: list[Any]
) -> None:
    ask(user.email)
    ask(user.email)

    refused = ask(user.email)

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "Too many password reset requests" in refused.text
    assert "Try again in" in refused.text
    assert len(mailoutbox) == 2


def test_many_addresses_from_one_client_are_capped(mailoutbox: list[Any]) -> None:
    people = [make_user(f"person{n}@example.com") for n in range(6)]

    answers = [ask(person.email).status_code for person in people]

    assert answers == [302, 302, 302, 302, 429, 429]
    assert recipients(mailoutbox) == [person.email for person in people[:4]]


def test_another_client_is_not_held_back_by_one_over_its_limit(
    user: Any, mailoutbox: list[Any]
) -> None:
    for n in range(5):
        ask(f"nobody{n}@example.com", client="198.51.100.7")

    assert ask(user.email, client="203.0.113.9").status_code == 302
    assert recipients(mailoutbox) == [user.email]


def test_an_ipv6_client_is_capped_across_its_slash_64(mailoutbox: list[Any]) -> None:
    clients = [f"2001:db8:1:2::{n:x}" for n in range(1, 6)]

    answers = [ask(f"nobody{n}@example.com", client=c).status_code for n, c in enumerate(clients)]

    assert answers == [302, 302, 302, 302, 429]


def test_an_address_without_an_account_is_limited_the_same_way(mailoutbox: list[Any]) -> None:
    # The 429 must not tell an account's address from any other.
    answers = [ask("nobody@example.com", client=f"198.51.100.{n}").status_code for n in range(3)]

    assert answers == [302, 302, 429]
    assert mailoutbox == []


def test_a_suppressed_address_gets_no_email_and_the_same_page(
    user: Any, other_user: Any, mailoutbox: list[Any]
) -> None:
    address_suppress(address=user.email, reason=SuppressionReason.BOUNCED)

    suppressed = ask(user.email, client="198.51.100.1")
    deliverable = ask(other_user.email, client="198.51.100.2")
    unknown = ask("nobody@example.com", client="198.51.100.3")

    assert recipients(mailoutbox) == [other_user.email]
    answers = [(r.status_code, r["Location"]) for r in (suppressed, deliverable, unknown)]
    assert answers == [(302, DONE)] * 3


def test_an_account_whose_address_differs_only_in_case_from_a_suppressed_one_gets_no_email(
    mailoutbox: list[Any],
) -> None:
    make_user("Cid.Lee@Example.com")
    address_suppress(address="cid.lee@example.com", reason=SuppressionReason.COMPLAINED)

    assert ask("cid.lee@example.com").status_code == 302
    assert mailoutbox == []


def test_a_request_within_the_limits_still_sends_djangos_reset_link(
    user: Any, mailoutbox: list[Any]
) -> None:
    response = ask(user.email)

    assert (response.status_code, response["Location"]) == (302, DONE)
    [message] = mailoutbox
    assert "/accounts/reset/" in message.body


class _Unfollowed(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def ask_live(origin: str, email: str, forwarded_for: str) -> int:
    """A reset request through a real server, as a proxy on 127.0.0.1 forwards it."""
    token = "desklivetestscsrftoken0000000000"
    request = urllib.request.Request(
        f"{origin}{RESET}",
        data=urllib.parse.urlencode({"email": email, "csrfmiddlewaretoken": token}).encode(),
        headers={
            "Cookie": f"csrftoken={token}",
            "Origin": origin,
            "X-Forwarded-For": forwarded_for,
        },
    )
    try:
        with urllib.request.build_opener(_Unfollowed).open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_server_counts_each_client_by_the_address_its_trusted_proxy_gives(
    tmp_path: Path,
) -> None:
    # uvicorn takes REMOTE_ADDR from X-Forwarded-For when the peer is in FORWARDED_ALLOW_IPS
    # (127.0.0.1 by default); the limit must follow that address, not the proxy's.
    with live_desk(tmp_path, servers=1, env={"DESK_PASSWORD_RESETS_PER_CLIENT": "2"}) as desk:
        origin = desk.a.origin
        first = [ask_live(origin, f"nobody{n}@example.com", "198.51.100.1") for n in range(3)]
        second = ask_live(origin, "nobody9@example.com", "198.51.100.2")

    assert first == [302, 302, 429]
    assert second == 302
