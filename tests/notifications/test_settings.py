"""Reply-email settings come from the environment; a bad value stops start-up with its name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desk.settings import anymail_settings_from_env

ROOT = Path(__file__).resolve().parents[2]


def start_up(**env: str) -> subprocess.CompletedProcess[str]:
    """Import desk's settings in a fresh interpreter, as every desk process does at start."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "desk.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ANYMAIL_WEBHOOK_SECRET": "no-colon-here"}, "ANYMAIL_WEBHOOK_SECRET"),
        ({"DESK_REPLY_SWEEP_LOOKBACK": "300"}, "DESK_REPLY_SWEEP_LOOKBACK"),
        ({"DESK_REPLY_EMAIL_MAX_ATTEMPTS": "11"}, "DESK_REPLY_EMAIL_MAX_ATTEMPTS"),
        ({"DESK_REPLY_SWEEP_INTERVAL": "0"}, "DESK_REPLY_SWEEP_INTERVAL"),
        ({"DESK_EMAIL_LINK_MAX_AGE": "two weeks"}, "DESK_EMAIL_LINK_MAX_AGE"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(env: dict[str, str], named: str) -> None:
    started = start_up(**env)

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert named in started.stderr


def test_good_values_start() -> None:
    started = start_up(
        ANYMAIL_WEBHOOK_SECRET="abc:def",
        DESK_REPLY_NOTIFICATION_DELAY="2",
        DESK_REPLY_SWEEP_INTERVAL="1",
    )

    assert started.returncode == 0, started.stderr


def test_anymail_settings_come_from_anymail_variables() -> None:
    found = anymail_settings_from_env(
        {
            "ANYMAIL_POSTMARK_SERVER_TOKEN": " token-123 ",
            "ANYMAIL_IGNORE_RECIPIENT_STATUS": "False",
            "ANYMAIL_EMPTY": "  ",
            "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        }
    )

    assert found == {"POSTMARK_SERVER_TOKEN": "token-123", "IGNORE_RECIPIENT_STATUS": False}


def test_the_broker_keeps_tasks_invisible_longer_than_any_countdown() -> None:
    from django.conf import settings

    longest = max(
        settings.DESK_REPLY_NOTIFICATION_DELAY,
        settings.DESK_REPLY_EMAIL_RETRY_DELAY * 2 ** (settings.DESK_REPLY_EMAIL_MAX_ATTEMPTS - 2),
    )
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= 4 * longest
