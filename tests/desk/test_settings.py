"""Settings come from the environment; a bad value stops start-up with a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.settings_env import FreshDesk


def test_secret_key_is_required_when_debug_is_off(fresh_desk: FreshDesk) -> None:
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        fresh_desk.settings()


def test_debug_runs_without_a_secret_key(fresh_desk: FreshDesk) -> None:
    assert fresh_desk.settings(DEBUG="true")["SECRET_KEY"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("DESK_REPLY_NOTIFICATION_DELAY", "soon"),
        ("DESK_REPLY_NOTIFICATION_DELAY", "-5"),
        ("DATABASE_URL", "mysql://root@localhost/desk"),
        ("REDIS_URL", "http://localhost:6379"),
        ("SITE_URL", "example.com"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(
    fresh_desk: FreshDesk, name: str, value: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        fresh_desk.settings(**({"DEBUG": "true"} | {name: value}))


def test_defaults_are_sqlite_and_the_embedded_redis(fresh_desk: FreshDesk, tmp_path: Path) -> None:
    settings = fresh_desk.settings(DEBUG="true")
    assert settings["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["DATABASES"]["default"]["NAME"] == str(tmp_path / "desk.sqlite3")
    assert settings["REDIS_EMBEDDED"] is True
    assert settings["REDIS_URL"] == f"unix://{tmp_path / 'redis.sock'}"
    assert settings["CELERY_BROKER_URL"] == f"redis+socket://{tmp_path / 'redis.sock'}"


def test_postgres_url_selects_postgresql_with_a_connection_pool(fresh_desk: FreshDesk) -> None:
    settings = fresh_desk.settings(
        DEBUG="true", DATABASE_URL="postgres://desk:secret@db.internal:5433/desk"
    )
    database = settings["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5433, "desk")
    assert database["OPTIONS"]["pool"]


def test_the_pool_timeout_bounds_how_long_an_outage_keeps_a_request_waiting(
    fresh_desk: FreshDesk,
) -> None:
    settings = fresh_desk.settings(
        DEBUG="true", DATABASE_URL="postgres://desk@db/desk", DATABASE_POOL_TIMEOUT="3"
    )
    assert settings["DATABASES"]["default"]["OPTIONS"]["pool"]["timeout"] == 3


def test_redis_url_feeds_the_channel_layer_and_the_celery_broker(fresh_desk: FreshDesk) -> None:
    settings = fresh_desk.settings(DEBUG="true", REDIS_URL="redis://cache.internal:6380/2")
    assert settings["REDIS_EMBEDDED"] is False
    assert settings["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"] == [
        "redis://cache.internal:6380/2"
    ]
    assert settings["CELERY_BROKER_URL"] == "redis://cache.internal:6380/2"


def test_broker_visibility_timeout_stays_well_above_the_reply_delay(fresh_desk: FreshDesk) -> None:
    settings = fresh_desk.settings(DEBUG="true", DESK_REPLY_NOTIFICATION_DELAY="7200")
    assert settings["DESK_REPLY_NOTIFICATION_DELAY"] == 7200
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] >= 4 * 7200


def test_reply_delay_defaults_to_five_minutes(fresh_desk: FreshDesk) -> None:
    assert fresh_desk.settings(DEBUG="true")["DESK_REPLY_NOTIFICATION_DELAY"] == 300


def test_debug_sends_email_to_the_console(fresh_desk: FreshDesk) -> None:
    mailer = fresh_desk.settings(DEBUG="true")["MAILERS"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_email_backend_and_file_path_map_onto_mailers(
    fresh_desk: FreshDesk, tmp_path: Path
) -> None:
    settings = fresh_desk.settings(
        DEBUG="true",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "outbox"),
    )
    assert settings["MAILERS"]["default"] == {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": str(tmp_path / "outbox")},
    }
    assert "EMAIL_BACKEND" not in settings


def test_an_esp_backend_is_taken_as_given(fresh_desk: FreshDesk) -> None:
    settings = fresh_desk.settings(
        SECRET_KEY="s", EMAIL_BACKEND="anymail.backends.postmark.EmailBackend"
    )
    assert settings["MAILERS"]["default"]["BACKEND"] == "anymail.backends.postmark.EmailBackend"


def test_production_cookies_are_secure(fresh_desk: FreshDesk) -> None:
    settings = fresh_desk.settings(SECRET_KEY="s", ALLOWED_HOSTS="desk.example.com")
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["ALLOWED_HOSTS"] == ["desk.example.com"]
