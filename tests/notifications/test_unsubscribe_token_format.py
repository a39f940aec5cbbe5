"""An unsubscribe token of any shape but desk's own finds no one, without asking the database.

PostgreSQL refuses a query holding a NUL (a DataError, so a 500 before this was checked); these
run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from notifications import services
from notifications.models import EmailPreference


@pytest.fixture
def preference(user: Any) -> EmailPreference:
    return EmailPreference.objects.create(user=user)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("\x00", id="only NUL"),
        pytest.param("a\x00b", id="NUL inside"),
        pytest.param("a b", id="a space"),
        pytest.param("é" * 8, id="not ASCII"),
        pytest.param("a" * 33, id="longer than the column"),
        pytest.param("", id="empty"),
    ],
)
def test_a_token_of_another_shape_finds_no_preference_without_a_query(
    token: str, preference: EmailPreference, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert services.preference_by_token(token=token) is None


def test_a_real_token_still_finds_its_preference(preference: EmailPreference) -> None:
    assert services.preference_by_token(token=preference.unsubscribe_token) == preference


@pytest.mark.parametrize("path", ["/email/u/a%20b", "/email/u/" + "a" * 33, "/email/u/%C3%A9"])
def test_a_malformed_token_in_the_link_gets_the_not_found_page(path: str, db: None) -> None:
    response = Client().post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 404
    assert b"link" in response.content.lower()


@pytest.mark.parametrize("path", ["/email/u/%00", "/email/u/a%00b"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_in_the_unsubscribe_link_is_refused_with_400(
    path: str, method: str, preference: EmailPreference
) -> None:
    response = getattr(Client(), method)(path)

    assert response.status_code == 400
    assert EmailPreference.objects.get().unsubscribed_at is None
