"""Prepare the database the end-to-end test's servers share: `python -m tests.realtime.e2e_seed`.

Run in the servers' environment (DATABASE_URL and the rest), as a deploy would: migrate, then create
the people of the test, log each in, and print one JSON line with their session cookies and chat
ids. The test process never opens this database itself.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from chats import services

    call_command("migrate", interactive=False, verbosity=0)
    users = get_user_model().objects
    people = {
        "ann": users.create_user("ann", "ann@example.com", "pw"),
        "ben": users.create_user("ben", "ben@example.com", "pw"),
        "flo": users.create_user("flo", "flo@example.com", "pw"),
        "admin1": users.create_user("admin1", "support1@example.com", "pw", is_staff=True),
        "admin2": users.create_user("admin2", "support2@example.com", "pw", is_staff=True),
    }
    cookies = {}
    for name, user in people.items():
        client = Client()
        client.force_login(user)
        cookies[name] = client.cookies["sessionid"].value
    chats = {
        name: str(services.chat_get_or_create(user=people[name]).id) for name in ("ann", "flo")
    }
    print(json.dumps({"cookies": cookies, "chats": chats}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
