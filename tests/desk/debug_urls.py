"""A URLconf for tests/desk/test_debug_pages.py: one view that fails as a real one would.

Its locals hold credentials the way library frames do when a connection fails (a URL, a libpq
conninfo, connection keyword arguments), and its message names the Redis URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path


def explode(request: HttpRequest) -> HttpResponse:
    broker_url = settings.CELERY_BROKER_URL
    layer_config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    password = urlsplit(settings.DATABASE_URL).password
    conninfo = f"host=db.internal user=desk password={password} dbname=desk"
    connect_kwargs = {"host": "db.internal", "user": "desk", "password": password}
    raise ConnectionError(
        f"cannot reach {settings.REDIS_URL} ({len([broker_url, layer_config, conninfo])} "
        f"settings, {len(connect_kwargs)} arguments)"
    )


urlpatterns = [path("explode/", explode)]
