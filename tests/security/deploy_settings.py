"""desk's settings with Django's own middleware paths, for `check --deploy` to see through them.

Django's deploy checks recognise SecurityMiddleware, XFrameOptionsMiddleware and CsrfViewMiddleware
by their dotted paths only, and skip every check that depends on them (HSTS, SSL redirect, ...)
when desk.runtime.middleware's inline subclasses stand in their place. This module swaps each entry
for the Django class it subclasses (test_deploy_checks.py checks that it does), so that those
checks run on desk's real settings.
"""

from __future__ import annotations

from desk.settings import *  # noqa: F403
from desk.settings import MIDDLEWARE, SILENCED_SYSTEM_CHECKS

# Classes cannot be imported from a settings module (the apps are not loaded yet): by name.
DJANGO_MIDDLEWARE = {
    "desk.runtime.middleware.SecurityMiddleware": "django.middleware.security.SecurityMiddleware",
    "desk.runtime.middleware.SessionMiddleware": (
        "django.contrib.sessions.middleware.SessionMiddleware"
    ),
    "desk.runtime.middleware.CommonMiddleware": "django.middleware.common.CommonMiddleware",
    "desk.runtime.middleware.CsrfViewMiddleware": "django.middleware.csrf.CsrfViewMiddleware",
    "desk.runtime.middleware.AuthenticationMiddleware": (
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    ),
    "desk.runtime.middleware.MessageMiddleware": (
        "django.contrib.messages.middleware.MessageMiddleware"
    ),
    "desk.runtime.middleware.XFrameOptionsMiddleware": (
        "django.middleware.clickjacking.XFrameOptionsMiddleware"
    ),
    "desk.runtime.middleware.ContentSecurityPolicyMiddleware": (
        "django.middleware.csp.ContentSecurityPolicyMiddleware"
    ),
}

MIDDLEWARE = [DJANGO_MIDDLEWARE.get(path, path) for path in MIDDLEWARE]
# Only what does not concern the middleware stays silenced.
SILENCED_SYSTEM_CHECKS = [
    check
    for check in SILENCED_SYSTEM_CHECKS
    if check not in {"security.W001", "security.W002", "security.W003"}
]
