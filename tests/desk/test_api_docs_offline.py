"""/api/docs works without internet: its Swagger UI comes from desk's own static files.

django-ninja renders its docs page from a CDN unless "ninja" is in INSTALLED_APPS; offline, that
page is blank.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from django.contrib.staticfiles import finders
from django.test import Client


class Assets(HTMLParser):
    """Every script src and stylesheet href on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(str(values["src"]))
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.urls.append(str(values["href"]))


def test_in_debug_the_api_docs_load_swagger_ui_from_desks_static_files(
    settings: Any, db: None
) -> None:
    settings.DEBUG = True
    settings.DESK_API_DOCS = "public"  # DEBUG's default (desk/settings.py)
    response = Client().get("/api/docs")
    assert response.status_code == 200
    assets = Assets()
    assets.feed(response.content.decode())

    assert any(url.endswith("swagger-ui-bundle.js") for url in assets.urls), assets.urls
    for url in assets.urls:
        assert url.startswith("/static/ninja/"), url
        assert finders.find(url.removeprefix("/static/")) is not None, url
