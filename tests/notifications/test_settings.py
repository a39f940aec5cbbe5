"""Reply-email settings come from the environment; a bad value stops start-up with its name."""

from __future__ import annotations

import pytest

from desk.settings import anymail_settings_from_env
from tests.settings_env import FreshDesk

# Outside DEBUG, as in production: the settings then demand a secret key.
PRODUCTION = {"SECRET_KEY": "desk-tests-only-not-a-secret"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ANYMAIL_WEBHOOK_SECRET": "no-colon-here"}, "ANYMAIL_WEBHOOK_SECRET"),
        ({"DESK_REPLY_SWEEP_LOOKBACK": "300"}, "DESK_REPLY_SWEEP_LOOKBACK"),
        ({"DESK_REPLY_EMAIL_MAX_ATTEMPTS": "11"}, "DESK_REPLY_EMAIL_MAX_ATTEMPTS"),
        ({"DESK_REPLY_SWEEP_INTERVAL": "0"}, "DESK_REPLY_SWEEP_INTERVAL"),
        ({"DESK_EMAIL_LINK_MAX_AGE": "two weeks"}, "DESK_EMAIL_LINK_MAX_AGE"),
        ({"DESK_INBOUND_DOMAIN": "reply@shop.example"}, "DESK_INBOUND_DOMAIN"),
        ({"DESK_INBOUND_DOMAIN": "https://reply.shop.example"}, "DESK_INBOUND_DOMAIN"),
        ({"DESK_INBOUND_DOMAIN": "reply.shöp.example"}, "DESK_INBOUND_DOMAIN"),
        ({"DESK_INBOUND_DOMAIN": "localhost"}, "DESK_INBOUND_DOMAIN"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    fresh_desk: FreshDesk, env: dict[str, str], named: str
) -> None:
    started = fresh_desk.start_up(**PRODUCTION, **env)

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert named in started.stderr


def test_good_values_start(fresh_desk: FreshDesk) -> None:
    started = fresh_desk.start_up(
        **PRODUCTION,
        ANYMAIL_WEBHOOK_SECRET="abc:def",
        DESK_REPLY_NOTIFICATION_DELAY="2",
        DESK_REPLY_SWEEP_INTERVAL="1",
        DESK_INBOUND_DOMAIN="Reply.Shop.Example.",
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
