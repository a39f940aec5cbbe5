"""The Celery app: configured from Django's settings (namespace CELERY), tasks autodiscovered."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")

app = Celery("desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def database_connection_dropped_if_broken(sender: Any = None, **kwargs: Any) -> None:
    # With CELERY_DB_REUSE_MAX a worker keeps its connection from task to task instead of closing
    # its pool after each one. A connection that failed (PostgreSQL restarted) is dropped after
    # the task that met the failure, so it costs that task, not the next hundred. Not for a task
    # run eagerly inside the caller's process (and maybe its transaction).
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.errors_occurred and not connection.is_usable():
            connection.close()
