"""The staff member's choice of staff alert emails on the dashboard's list, as the server renders
it (notifications.services.staff_alert_scope). Changing it from the page: the browser test
tests/browser/test_dashboard_alerts.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from notifications import services

pytestmark = pytest.mark.django_db

LIST = "/desk/"


def list_page(admin: Any) -> str:
    client = Client()
    client.force_login(admin)
    response = client.get(LIST)
    assert response.status_code == 200
    return str(response.content.decode())


def chosen(html: str) -> str:
    """The option the select shows as chosen."""
    select = re.search(r'<select id="staff-alerts".*?</select>', html, re.S)
    assert select, "the staff alerts select"
    options = re.findall(r'<option value="([^"]+)" selected>', select.group(0))
    assert len(options) == 1, options
    return str(options[0])


def test_a_staff_member_who_never_chose_is_emailed_about_every_new_message(admin: Any) -> None:
    assert chosen(list_page(admin)) == "all"


@pytest.mark.parametrize("scope", ["answered", "none"])
def test_the_list_shows_the_staff_members_choice(admin: Any, scope: str) -> None:
    services.staff_alert_scope_set(staff=admin, scope=scope)

    assert chosen(list_page(admin)) == scope


def test_another_staff_members_choice_is_not_shown(admin: Any, other_admin: Any) -> None:
    services.staff_alert_scope_set(staff=other_admin, scope="none")

    assert chosen(list_page(admin)) == "all"


def test_the_choices_are_labelled_in_plain_words(admin: Any) -> None:
    html = list_page(admin)

    assert '<label for="staff-alerts">Email me about new messages</label>' in html
    labels = re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', html)
    assert labels == ["Every new message", "Only chats I have answered", "Never"]


def test_without_javascript_the_choice_is_shown_but_not_changed(admin: Any) -> None:
    html = list_page(admin)

    assert re.search(r'<select id="staff-alerts" name="scope" disabled', html)
    assert "<noscript>Turn on JavaScript to change this.</noscript>" in html
