"""`python -m desk.web`: one desk web server (HTTP and websockets), for a host of its own.

`make run` starts everything on one machine (desk/run.py); a deployment runs this on each web
host behind the load balancer, Celery workers and one beat elsewhere (docs/deploy.md). The
command line is `make run`'s (desk.runtime.server.uvicorn_command): HOST and PORT from the
environment, WEB_CONCURRENCY processes (uvicorn reads it). On SIGTERM it stops accepting,
finishes the requests in flight and closes its websockets with 1012, within
DESK_GRACEFUL_SHUTDOWN seconds (tests/faults/test_graceful_shutdown.py).

Nothing is prepared here: no migrations, no embedded Redis, no demo data.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    import django
    from django.conf import settings

    django.setup()
    from desk.runtime.server import uvicorn_command

    command = uvicorn_command(
        host=settings.HOST, port=settings.PORT, graceful_shutdown=settings.DESK_GRACEFUL_SHUTDOWN
    )
    sys.stdout.flush()
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
