"""No credential from a URL-shaped setting or environment variable appears on an error page.

Django's DEBUG page masks settings named like secrets, but printed DATABASE_URL, REDIS_URL and
CELERY_BROKER_URL verbatim, passwords included; desk/debug.py's filter and reporter mask them.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import dj_database_url
import pytest
from django.test import Client, RequestFactory

from desk.debug import MASK, ExceptionReporterFilter, redact

PG_PASSWORD = "pg-Pa55word-7f3a"
REDIS_PASSWORD = "redis-Pa55word-91c2"
# Percent-encoded in the URL ("p@ss/word" in the clear), as a password with "@" must be.
ENCODED_PASSWORD = "enc%40Pa55%2Fword"
DECODED_PASSWORD = "enc@Pa55/word"
MAILGUN_KEY = "key-mailgun-3e8d1c"
POSTMARK_TOKEN = "postmark-token-0b77"
ALL_SECRETS = [
    PG_PASSWORD,
    REDIS_PASSWORD,
    ENCODED_PASSWORD,
    DECODED_PASSWORD,
    MAILGUN_KEY,
    POSTMARK_TOKEN,
]

DATABASE_URL = f"postgres://desk:{PG_PASSWORD}@db.internal:5432/desk"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"
UNIX_REDIS_URL = f"unix:///run/redis.sock?db=0&password={REDIS_PASSWORD}"
BROKER_URL = f"redis://desk:{ENCODED_PASSWORD}@redis.internal:6379/0"
MAILGUN_URL = f"https://api:{MAILGUN_KEY}@api.mailgun.net/v3"


@pytest.fixture
def credentials(settings: Any) -> Any:
    """Settings as `make run` has them with PostgreSQL and Redis behind passwords."""
    settings.DATABASE_URL = DATABASE_URL
    settings.REDIS_URL = REDIS_URL
    settings.CELERY_BROKER_URL = BROKER_URL
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL, UNIX_REDIS_URL]},
        }
    }
    settings.ANYMAIL = {"MAILGUN_API_URL": MAILGUN_URL, "POSTMARK_SERVER_TOKEN": POSTMARK_TOKEN}
    return settings


def assert_no_secret(text: str) -> None:
    for secret in ALL_SECRETS:
        assert secret not in text, f"{secret!r} is on the page"


# --- The DEBUG page -----------------------------------------------------------------------------


@pytest.fixture
def debug_page(credentials: Any, db: None) -> Client:
    """A browser on a DEBUG desk whose one page fails (tests/desk/debug_urls.py)."""
    credentials.DEBUG = True
    credentials.ROOT_URLCONF = "tests.desk.debug_urls"
    return Client(raise_request_exception=False)


# What a WSGI server (runserver, gunicorn) puts in request.META: the whole environment.
ENVIRONMENT = {
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "CELERY_BROKER_URL": BROKER_URL,
    "ANYMAIL_MAILGUN_API_URL": MAILGUN_URL,
}


def test_the_debug_page_shows_no_password_from_the_urls(debug_page: Client) -> None:
    response = debug_page.get("/explode/", **ENVIRONMENT)

    page = response.content.decode()
    assert response.status_code == 500
    assert "ConnectionError" in page  # Django's technical page, not a bare 500
    assert "redis.internal" in page
    assert_no_secret(page)


def test_the_plain_text_debug_page_shows_no_password_from_the_urls(debug_page: Client) -> None:
    response = debug_page.get("/explode/", headers={"Accept": "text/plain"}, **ENVIRONMENT)

    page = response.content.decode()
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/plain")
    assert "ConnectionError" in page
    assert_no_secret(page)


def test_the_debug_page_still_names_the_settings_it_masks(debug_page: Client) -> None:
    page = debug_page.get("/explode/").content.decode()

    assert f"postgres://{MASK}@db.internal:5432/desk" in page
    assert f"redis://{MASK}@redis.internal:6379/0" in page


# --- The filter, setting by setting -------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CHANNEL_LAYERS", "ANYMAIL"]
)
def test_each_url_shaped_setting_is_shown_without_its_credentials(
    name: str, credentials: Any
) -> None:
    shown = ExceptionReporterFilter().get_safe_settings()[name]

    assert_no_secret(repr(shown))
    assert MASK in repr(shown)


def test_databases_parsed_from_the_url_are_shown_without_the_password(credentials: Any) -> None:
    # As desk/settings.py builds DATABASES (not overridden here: the test database is in use).
    databases = {"default": {**dj_database_url.parse(DATABASE_URL), "OPTIONS": {"pool": {}}}}

    shown = ExceptionReporterFilter().cleanse_setting("DATABASES", databases)

    assert_no_secret(repr(shown))
    assert shown["default"]["PASSWORD"] == MASK


@pytest.mark.parametrize("name", sorted(ENVIRONMENT))
def test_each_url_shaped_environment_variable_is_shown_without_its_credentials(
    name: str, credentials: Any
) -> None:
    request = RequestFactory().get("/", **ENVIRONMENT)

    shown = ExceptionReporterFilter().get_safe_request_meta(request)[name]

    assert_no_secret(shown)
    assert MASK in shown


def test_a_password_query_parameter_is_masked(credentials: Any) -> None:
    shown = ExceptionReporterFilter().get_safe_settings()["CHANNEL_LAYERS"]

    assert shown["default"]["CONFIG"]["hosts"][1] == (
        f"unix:///run/redis.sock?db=0&password={MASK}"
    )


def failing_frame(value: Any) -> FrameType:
    """The frame of a function that failed with `value` in a local variable."""

    def fail(value: Any) -> None:
        raise RuntimeError

    try:
        fail(value)
    except RuntimeError:
        traceback = sys.exc_info()[2]
    assert traceback is not None
    assert traceback.tb_next is not None
    return traceback.tb_next.tb_frame


def shown_locals(frame: FrameType) -> str:
    request = RequestFactory().get("/")
    return repr(dict(ExceptionReporterFilter().get_traceback_frame_variables(request, frame)))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(DATABASE_URL, id="a URL"),
        pytest.param({"hosts": [REDIS_URL]}, id="a URL nested in a dict and a list"),
        pytest.param((BROKER_URL,), id="an encoded URL in a tuple"),
        pytest.param(f"user=desk password={PG_PASSWORD}", id="a libpq conninfo"),
        pytest.param({"user": "desk", "password": PG_PASSWORD}, id="connection kwargs"),
        pytest.param(DECODED_PASSWORD, id="a password from a setting, bare"),
        pytest.param(RuntimeError(f"cannot reach {MAILGUN_URL}"), id="an object's repr"),
    ],
)
def test_a_local_variable_holding_a_credential_is_masked(value: Any, credentials: Any) -> None:
    shown = shown_locals(failing_frame(value))

    assert_no_secret(shown)
    assert MASK in shown


def test_a_password_from_a_url_in_the_environment_is_masked_in_locals(
    monkeypatch: pytest.MonkeyPatch, db: None
) -> None:
    monkeypatch.setenv("PAYMENTS_URL", "https://shop:env-Pa55word-4c1d@payments.internal/")

    shown = shown_locals(failing_frame("env-Pa55word-4c1d"))

    assert "env-Pa55word-4c1d" not in shown


def test_ordinary_values_are_shown_as_they_are(credentials: Any) -> None:
    shown = shown_locals(failing_frame({"chat": "7b1c", "count": 3}))

    assert shown == "{'value': {'chat': '7b1c', 'count': 3}}"


def test_a_url_without_credentials_is_left_alone() -> None:
    assert redact("https://desk.example.com/api/docs?q=ann") == (
        "https://desk.example.com/api/docs?q=ann"
    )


def test_a_password_with_a_raw_at_sign_is_masked_whole() -> None:
    assert redact("postgres://desk:p@ss@db:5432/desk") == f"postgres://{MASK}@db:5432/desk"


def test_a_username_alone_is_masked_inside_its_url_only(
    monkeypatch: pytest.MonkeyPatch, db: None
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@db.internal/desk")

    shown = shown_locals(failing_frame(["postgres://postgres@db.internal/desk", "postgres"]))

    assert shown == f"{{'value': ['postgres://{MASK}@db.internal/desk', 'postgres']}}"
