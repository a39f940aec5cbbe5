"""ASGI entry point: one application serving HTTP (and, with the real-time layer, websockets)."""

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")

application = get_asgi_application()
if settings.DEBUG:
    # In development the ASGI server serves the admin's and widget's static files itself.
    application = ASGIStaticFilesHandler(application)
