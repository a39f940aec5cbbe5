"""desk's own deploy checks (desk/checks.py) speak where desk's middleware subclasses hide Django's.

Each check is run as `check --deploy` runs it (every registered security check, silenced ones
left out), with one setting changed at a time from desk's production-like test settings.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import Tags, run_checks

from tests.security.test_deploy_checks import check_deploy, production_env
from tests.settings_env import FreshDesk

DESK_SECURITY = "desk.runtime.middleware.SecurityMiddleware"
DESK_CLICKJACKING = "desk.runtime.middleware.XFrameOptionsMiddleware"
DESK_CSRF = "desk.runtime.middleware.CsrfViewMiddleware"
DJANGO_CSRF = "django.middleware.csrf.CsrfViewMiddleware"


@pytest.fixture
def production(settings: Any) -> Any:
    """desk's settings as they are outside DEBUG with an https SITE_URL."""
    settings.DEBUG = False
    settings.SITE_URL = "https://desk.example.com"
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


def reported() -> set[str]:
    """The ids `check --deploy` reports for security (Django's and desk's)."""
    return {
        message.id
        for message in run_checks(include_deployment_checks=True, tags=[Tags.security])
        if message.id
    }


def desk_ids() -> set[str]:
    return {check_id for check_id in reported() if check_id.startswith("desk.")}


def without(settings: Any, path: str) -> list[str]:
    return [entry for entry in settings.MIDDLEWARE if entry != path]


def test_desks_production_settings_raise_none_of_desks_checks(production: Any) -> None:
    assert desk_ids() == set()


@pytest.mark.parametrize(
    ("path", "check_id"),
    [
        (DESK_SECURITY, "desk.W001"),
        (DESK_CLICKJACKING, "desk.W002"),
        (DESK_CSRF, "desk.W003"),
    ],
)
def test_a_missing_security_middleware_is_reported(
    production: Any, path: str, check_id: str
) -> None:
    production.MIDDLEWARE = without(production, path)

    assert check_id in desk_ids()


@pytest.mark.parametrize(
    ("desk_path", "django_path"),
    [
        (DESK_SECURITY, "django.middleware.security.SecurityMiddleware"),
        (DESK_CLICKJACKING, "django.middleware.clickjacking.XFrameOptionsMiddleware"),
        (DESK_CSRF, DJANGO_CSRF),
    ],
)
def test_djangos_own_middleware_counts_as_present(
    production: Any, desk_path: str, django_path: str
) -> None:
    production.MIDDLEWARE = [
        django_path if entry == desk_path else entry for entry in production.MIDDLEWARE
    ]

    assert desk_ids() == set()


def test_an_http_site_url_outside_debug_is_reported(production: Any) -> None:
    production.SITE_URL = "http://desk.example.com"

    assert desk_ids() == {"desk.W004"}


def test_an_http_site_url_in_debug_is_not_reported(production: Any) -> None:
    production.SITE_URL = "http://localhost:8000"
    production.DEBUG = True

    assert "desk.W004" not in desk_ids()


def test_an_insecure_csrf_cookie_behind_desks_middleware_is_reported(production: Any) -> None:
    production.CSRF_COOKIE_SECURE = False

    assert desk_ids() == {"desk.W006"}


def test_an_insecure_csrf_cookie_behind_djangos_middleware_is_left_to_django(
    production: Any,
) -> None:
    production.CSRF_COOKIE_SECURE = False
    production.MIDDLEWARE = [
        DJANGO_CSRF if entry == DESK_CSRF else entry for entry in production.MIDDLEWARE
    ]

    found = reported()
    assert "security.W016" in found
    assert "desk.W006" not in found


def test_an_insecure_session_cookie_is_left_to_djangos_check_of_the_sessions_app(
    production: Any,
) -> None:
    production.SESSION_COOKIE_SECURE = False

    found = reported()
    assert "security.W010" in found
    assert "desk.W005" not in found


def test_an_insecure_session_cookie_without_the_sessions_app_is_reported(
    production: Any,
) -> None:
    # Signed-cookie sessions need no sessions app, and Django's checks then see nothing.
    production.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    production.INSTALLED_APPS = [
        app for app in production.INSTALLED_APPS if app != "django.contrib.sessions"
    ]
    production.SESSION_COOKIE_SECURE = False

    found = reported()
    assert "desk.W005" in found
    assert not {"security.W010", "security.W011", "security.W012"} & found


# --- `manage.py check --deploy` itself ---------------------------------------------------------


def test_check_deploy_reports_an_http_site_url_with_desks_own_middleware(
    fresh_desk: FreshDesk,
) -> None:
    env = production_env(SITE_URL="http://desk.example.com")

    result = check_deploy(fresh_desk, env, "desk.settings")

    assert result.returncode != 0
    assert "desk.W004" in result.stderr
