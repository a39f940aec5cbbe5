"""Production settings pass `manage.py check --deploy`; the headers it asks for are really sent."""

from __future__ import annotations

import secrets
import subprocess
from typing import Any

import pytest
from django.test import Client
from django.utils.module_loading import import_string

from tests.security import deploy_settings
from tests.settings_env import FreshDesk


def production_env(**extra: str) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "desk.example.com",
        "SITE_URL": "https://desk.example.com",
        **extra,
    }


def check_deploy(
    fresh_desk: FreshDesk, env: dict[str, str], settings_module: str
) -> subprocess.CompletedProcess[str]:
    return fresh_desk.manage(
        "check", "--deploy", "--fail-level", "WARNING", settings_module=settings_module, **env
    )


def test_check_deploy_is_clean_with_production_settings(fresh_desk: FreshDesk) -> None:
    result = check_deploy(fresh_desk, production_env(), "desk.settings")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_is_clean_with_djangos_own_middleware_in_place_of_desks(
    fresh_desk: FreshDesk,
) -> None:
    # With Django's dotted paths the HSTS, SSL-redirect, cookie and header checks all run.
    result = check_deploy(fresh_desk, production_env(), "tests.security.deploy_settings")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_reports_a_site_served_over_plain_http(fresh_desk: FreshDesk) -> None:
    env = production_env(SITE_URL="http://desk.example.com")
    result = check_deploy(fresh_desk, env, "tests.security.deploy_settings")
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


def test_each_middleware_desk_uses_is_the_django_class_the_deploy_check_is_given() -> None:
    for desk_path, django_path in deploy_settings.DJANGO_MIDDLEWARE.items():
        assert issubclass(import_string(desk_path), import_string(django_path)), desk_path


# --- The headers themselves ---------------------------------------------------------------------


@pytest.fixture
def served_over_tls(settings: Any) -> None:
    """The settings desk takes with SITE_URL on https outside DEBUG (see desk/settings.py)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.ALLOWED_HOSTS = ["desk.example.com"]


def test_every_page_carries_the_security_headers(db: None) -> None:
    response = Client().get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_api_carries_the_security_headers(db: None) -> None:
    response = Client().get("/api/support_chat")
    assert response.status_code == 401
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_over_tls_browsers_are_told_to_stay_on_https(db: None, served_over_tls: None) -> None:
    response = Client().get("/accounts/login/", secure=True, HTTP_HOST="desk.example.com")
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_over_tls_plain_http_is_redirected_to_https(db: None, served_over_tls: None) -> None:
    response = Client().get("/accounts/login/", HTTP_HOST="desk.example.com")
    assert response.status_code == 301
    assert response["Location"] == "https://desk.example.com/accounts/login/"
