"""DESK_API_DOCS: who may read /api/docs and /api/openapi.json (desk/api_docs.py)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

import desk.settings

DOCS = ["/api/docs", "/api/openapi.json"]


def browser_for(user: Any = None) -> Client:
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return browser


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """desk/settings.py evaluated afresh with DEBUG and DESK_API_DOCS as given."""

    def load(**env: str) -> dict[str, Any]:
        for name in ("DEBUG", "DESK_API_DOCS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DESK_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("SECRET_KEY", "desk-tests-only-not-a-secret")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(desk.settings.__file__)

    return load


# --- public ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCS)
def test_public_docs_are_served_to_anyone(path: str, settings: Any, db: None) -> None:
    settings.DESK_API_DOCS = "public"

    assert browser_for().get(path).status_code == 200


def test_the_public_schema_is_the_apis_schema(settings: Any, db: None) -> None:
    settings.DESK_API_DOCS = "public"

    schema = browser_for().get("/api/openapi.json").json()

    assert "/api/support_chat/messages" in schema["paths"]


# --- staff ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCS)
def test_staff_docs_send_a_visitor_to_the_login_page(path: str, settings: Any, db: None) -> None:
    settings.DESK_API_DOCS = "staff"

    response = browser_for().get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("path", DOCS)
def test_staff_docs_refuse_a_signed_in_customer_with_403(
    path: str, settings: Any, user: Any
) -> None:
    settings.DESK_API_DOCS = "staff"

    assert browser_for(user).get(path).status_code == 403


@pytest.mark.parametrize("path", DOCS)
def test_staff_docs_are_served_to_support_staff(path: str, settings: Any, admin: Any) -> None:
    settings.DESK_API_DOCS = "staff"

    assert browser_for(admin).get(path).status_code == 200


# --- off ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCS)
def test_docs_that_are_off_are_not_found_even_for_staff(
    path: str, settings: Any, admin: Any
) -> None:
    settings.DESK_API_DOCS = "off"

    assert browser_for(admin).get(path).status_code == 404
    assert browser_for().get(path).status_code == 404


def test_the_api_itself_works_with_the_docs_off(settings: Any, user: Any) -> None:
    settings.DESK_API_DOCS = "off"

    assert browser_for(user).get("/api/support_chat").status_code == 200


# --- the setting ----------------------------------------------------------------------------------


def test_docs_are_public_in_debug_by_default(load: Any) -> None:
    assert load(DEBUG="true")["DESK_API_DOCS"] == "public"


def test_docs_are_for_staff_outside_debug_by_default(load: Any) -> None:
    assert load(DEBUG="false")["DESK_API_DOCS"] == "staff"


def test_docs_can_be_made_public_outside_debug(load: Any) -> None:
    assert load(DEBUG="false", DESK_API_DOCS="Public")["DESK_API_DOCS"] == "public"


def test_an_unknown_docs_mode_stops_start_up_naming_the_variable(load: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="DESK_API_DOCS='everyone'"):
        load(DESK_API_DOCS="everyone")
