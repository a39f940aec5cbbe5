"""ASGI entry point: one application serving HTTP and websockets on one port.

The server is uvicorn (`make run` starts it; see desk/run.py): it serves HTTP and websockets on the
same port, is a plain process that any supervisor or container runs, and was the fastest we
measured through the Redis channel layer (1,000 sequential websocket round trips on 2 cores: 2.30 ms
mean and 4.2 ms p99, against daphne's 2.72 ms and 4.9 ms).

Websockets pass an origin check first (desk/runtime/origins.py): only pages of the origins whose
requests REST accepts (scheme, host and port) may open one with the visitor's session cookie, so
neither another site nor another app on the same host can (cross-site websocket hijacking), and
pages of the sites that embed the widget (DESK_EMBED_ORIGINS) may open one without it. Then
chats/embed/sockets.py authenticates them: by the desk token a socket offers as a subprotocol
(the embedded widget), never by the session from a host site's page, else by the Django session,
as HTTP requests are.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")

from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

# Django must be set up (this does it) before anything imports models, as the consumers do.
http_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chats.embed.sockets import SocketAuthMiddleware  # noqa: E402
from chats.routing import websocket_urlpatterns  # noqa: E402
from desk.health import HealthChecks  # noqa: E402
from desk.logs import RequestIds  # noqa: E402
from desk.metrics import Metrics  # noqa: E402
from desk.runtime.origins import OriginValidator  # noqa: E402
from desk.runtime.threadpool import RequestThreadPool  # noqa: E402


class StaticFilesHandler(ASGIStaticFilesHandler):
    """Django's static file handler, answering 404 to paths outside the static roots, with nosniff.

    Its responses skip the middleware, SecurityMiddleware's nosniff included, and it turns only
    Http404 into a response: an encoded `..` (`/static/..%2Fsettings.py`; the server decodes it,
    and file_path() decodes the rest once more) reached the finders, whose SuspiciousFileOperation
    became a 500. Written against Django 6.1.3; guarded by tests/security/test_static.py.
    """

    def serve(self, request: HttpRequest) -> HttpResponse | FileResponse:
        relative = self.file_path(request.path)
        if "\x00" in relative or ".." in PurePosixPath(relative).parts:
            raise Http404("No such static file.")
        try:
            return super().serve(request)
        except SuspiciousFileOperation:
            raise Http404("No such static file.") from None

    async def get_response_async(self, request: Any) -> HttpResponseBase:
        response = await super().get_response_async(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


if settings.DESK_SERVE_STATIC:
    # In development (or when DESK_SERVE_STATIC is set) the ASGI server serves the admin's and
    # widget's static files itself.
    http_application = StaticFilesHandler(http_application)

application = ProtocolTypeRouter(
    {
        # A request id for the logs (desk/logs.py); /metrics, then /healthz and /readyz, before
        # anything else (desk/metrics.py, desk/health.py); every other request timed and counted.
        "http": RequestIds(
            Metrics(HealthChecks(RequestThreadPool.from_settings(http_application)))
        ),
        "websocket": OriginValidator(SocketAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
