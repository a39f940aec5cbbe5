"""desk's settings as a fresh desk process sees them, from exactly the environment a test gives.

The `fresh_desk` fixture (tests/conftest.py) is the one way tests load settings from an environment:
every load is a new interpreter, as every desk process starts, so a bad value fails exactly as it
would at start-up and nothing is left behind in the test process (its settings, its imported
modules). The environment is the test runner's minus every variable desk reads, plus a data
directory of the test's own and the variables the test names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 120
# What desk's settings read (desk/settings.py): dropped, so a developer's shell or the suite's own
# set-up (tests/backing.py) never leaks into a test that names its environment.
DESK_PREFIXES = ("DESK_", "DATABASE_", "REDIS_", "SECURE_", "EMAIL_", "ANYMAIL_", "CSRF_")
DESK_NAMES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "HOST",
    "PORT",
    "DEFAULT_FROM_EMAIL",
    "LOG_LEVEL",
    "DJANGO_SETTINGS_MODULE",
}
# The module's own names only: Django's defaults (django.conf.settings) would hide which ones
# desk sets, e.g. that it leaves EMAIL_BACKEND to MAILERS.
PRINT_SETTINGS = (
    "import json, desk.settings as s; "
    "print(json.dumps({k: v for k, v in vars(s).items() if k.isupper()}, default=str))"
)
START_UP = "import django; django.setup()"
ERROR_PREFIX = "django.core.exceptions.ImproperlyConfigured: "


class FreshDesk:
    """Starts Python processes with desk's settings from a clean environment (see the module)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def environ(self, settings_module: str = "desk.settings", **env: str) -> dict[str, str]:
        kept = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(DESK_PREFIXES) and name not in DESK_NAMES
        }
        return {
            **kept,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DESK_DATA_DIR": str(self.data_dir),
            **env,
        }

    def run(
        self, *argv: str, settings_module: str = "desk.settings", **env: str
    ) -> subprocess.CompletedProcess[str]:
        """`python <argv>` in desk's folder with these settings; never raises for its exit code."""
        return subprocess.run(
            [sys.executable, *argv],
            cwd=BASE_DIR,
            env=self.environ(settings_module, **env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def start_up(self, **env: str) -> subprocess.CompletedProcess[str]:
        """Settings and every app loaded (`django.setup()`), as every desk process starts."""
        return self.run("-c", START_UP, **env)

    def manage(
        self, *args: str, settings_module: str = "desk.settings", **env: str
    ) -> subprocess.CompletedProcess[str]:
        """`manage.py <args>` with these settings."""
        return self.run("manage.py", *args, settings_module=settings_module, **env)

    def settings(self, **env: str) -> dict[str, Any]:
        """desk.settings' values (paths as strings, tuples as lists) from this environment.

        A value desk refuses raises ImproperlyConfigured here with the process's own message.
        """
        loaded = self.run("-c", PRINT_SETTINGS, **env)
        if loaded.returncode == 0:
            return dict(json.loads(loaded.stdout))
        _, found, message = loaded.stderr.rpartition(ERROR_PREFIX)
        if found:
            raise ImproperlyConfigured(message.strip())
        raise RuntimeError(f"loading desk.settings failed:\n{loaded.stderr}")
