# Web processes must load the Celery app, or apply_async() from a request would use Celery's
# default broker instead of desk's Redis.
from celery_app import app as celery_app

__all__ = ["celery_app"]
