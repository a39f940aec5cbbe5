"""`manage.py check --deploy`: what Django's own security checks cannot see in desk's settings.

Django finds SecurityMiddleware, XFrameOptionsMiddleware, CsrfViewMiddleware and SessionMiddleware
by their dotted paths only. desk lists its inline subclasses (desk/runtime/middleware.py) instead,
so Django's W001-W003 are silenced (SILENCED_SYSTEM_CHECKS) and the checks that depend on those
paths say nothing: an http:// SITE_URL (no SSL redirect, no HSTS) or an insecure CSRF cookie went
unreported. These checks fill that gap, recognising a middleware by its class (Django's or any
subclass), and each speaks only where Django's own check of the same concern cannot, so that
nothing is reported twice with Django's paths in MIDDLEWARE (tests/security/deploy_settings.py).

- desk.W001-W003: Django's W001-W003, for subclasses too.
- desk.W004: SITE_URL is not https outside DEBUG. desk turns on the SSL redirect and HSTS only
  for an https SITE_URL, and its emails' links and CSRF's trusted origin come from it.
- desk.W005, desk.W006: the session and CSRF cookies are not secure (Django's W010-W012, W016).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning
from django.core.checks import register as register_check
from django.utils.module_loading import import_string

SECURITY = "django.middleware.security.SecurityMiddleware"
CLICKJACKING = "django.middleware.clickjacking.XFrameOptionsMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
SESSIONS_APP = "django.contrib.sessions"


def register() -> None:
    for check in (
        middleware_present,
        site_url_is_https,
        session_cookie_is_secure,
        csrf_cookie_is_secure,
    ):
        register_check(check, Tags.security, deploy=True)


def _listed(django_path: str) -> bool:
    """MIDDLEWARE holds `django_path`'s class or a subclass of it."""
    base = import_string(django_path)
    for path in settings.MIDDLEWARE:
        try:
            middleware = import_string(path)
        except ImportError:
            continue  # not this check's business: the server refuses to start with it
        if isinstance(middleware, type) and issubclass(middleware, base):
            return True
    return False


def _django_sees(django_path: str) -> bool:
    """Django's own checks recognise the middleware: it is listed by Django's path."""
    return django_path in settings.MIDDLEWARE


def middleware_present(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """desk.W001-W003: the security, clickjacking and CSRF middleware are in MIDDLEWARE."""
    missing = {
        SECURITY: (
            "desk.W001",
            "the SECURE_HSTS_SECONDS, SECURE_CONTENT_TYPE_NOSNIFF, SECURE_REFERRER_POLICY, "
            "SECURE_CROSS_ORIGIN_OPENER_POLICY and SECURE_SSL_REDIRECT settings have no effect",
        ),
        CLICKJACKING: (
            "desk.W002",
            "pages are not served with an 'x-frame-options' header, and other sites may frame "
            "them (clickjacking)",
        ),
        CSRF: (
            "desk.W003",
            "forms and the API's session-authenticated writes are not protected against "
            "cross-site request forgery",
        ),
    }
    return [
        Warning(
            f"MIDDLEWARE has neither {path} nor a subclass of it (such as "
            f"desk.runtime.middleware.{path.rsplit('.', 1)[1]}), so {consequence}.",
            hint="Keep desk's MIDDLEWARE from desk/settings.py.",
            id=check_id,
        )
        for path, (check_id, consequence) in missing.items()
        if not _listed(path)
    ]


def site_url_is_https(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """desk.W004: outside DEBUG, SITE_URL is https."""
    if settings.DEBUG or settings.SITE_URL.startswith("https://"):
        return []
    return [
        Warning(
            f"SITE_URL={settings.SITE_URL!r} is not https, so desk neither redirects plain "
            "HTTP to HTTPS nor sends Strict-Transport-Security, and the links in its emails "
            "travel in the clear.",
            hint="Serve desk over TLS (directly, or behind a proxy that sets X-Forwarded-Proto) "
            "and set SITE_URL to its https:// address.",
            id="desk.W004",
        )
    ]


def session_cookie_is_secure(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """desk.W005: SESSION_COOKIE_SECURE, where Django's W010-W012 cannot tell."""
    if (
        settings.SESSION_COOKIE_SECURE
        or SESSIONS_APP in settings.INSTALLED_APPS  # Django's W010 or W012 speaks
        or _django_sees(SESSIONS)  # Django's W011
        or not _listed(SESSIONS)
    ):
        return []
    return [
        Warning(
            "SESSION_COOKIE_SECURE is not True, so the session cookie may be sent over plain "
            "HTTP, where anyone on the network can steal the session.",
            hint="Serve desk over TLS and leave SESSION_COOKIE_SECURE on (desk's default "
            "outside DEBUG).",
            id="desk.W005",
        )
    ]


def csrf_cookie_is_secure(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """desk.W006: CSRF_COOKIE_SECURE, where Django's W016 cannot tell."""
    if (
        settings.CSRF_COOKIE_SECURE
        or settings.CSRF_USE_SESSIONS
        or _django_sees(CSRF)  # Django's W016 speaks
        or not _listed(CSRF)
    ):
        return []
    return [
        Warning(
            "CSRF_COOKIE_SECURE is not True, so the CSRF cookie may be sent over plain HTTP, "
            "where anyone on the network can read it.",
            hint="Serve desk over TLS and leave CSRF_COOKIE_SECURE on (desk's default outside "
            "DEBUG).",
            id="desk.W006",
        )
    ]
