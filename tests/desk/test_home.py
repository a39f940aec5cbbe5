"""The demo host page at / embeds the widget with one script tag; the widget's files are served."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.live import live_desk

WIDGET_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="[^"]*chats/widget\.js"')


@pytest.mark.django_db
def test_home_page_includes_exactly_one_widget_script_tag() -> None:
    page = Client().get("/").content.decode()

    assert len(WIDGET_SCRIPT.findall(page)) == 1
    assert page.count("<script") == 1


@pytest.mark.django_db
def test_home_page_shows_the_demo_logins_in_debug_only(settings: Any) -> None:
    user = get_user_model().objects.create_user(username="ann", password="pw")
    client = Client()
    client.force_login(user)
    assert "desk-demo" not in client.get("/").content.decode()

    settings.DEBUG = True
    page = client.get("/").content.decode()

    assert "desk-demo" in page
    assert 'href="/desk/"' in page
    assert "Signed in as <strong>ann</strong>" in page


def test_a_live_server_with_desk_serve_static_serves_the_widget(tmp_path: Path) -> None:
    with live_desk(tmp_path, servers=1, env={"DESK_SERVE_STATIC": "true"}) as desk:
        for name, content_type in (("widget.js", "javascript"), ("widget.css", "text/css")):
            url = f"{desk.a.origin}/static/chats/{name}"
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
                assert content_type in response.headers["Content-Type"]
                assert b"desk" in response.read()
