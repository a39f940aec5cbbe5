"""Prepare a live desk's database: `python -m tests.live_seed '{"users": [...], "admins": [...]}'`.

Run in the live processes' environment (DATABASE_URL and the rest), as a deploy would: migrate,
then create the people asked for, log each in, and print one JSON line with their session cookies
and their chat ids. The test process never opens this database itself.
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
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.test import Client

    from chats import services

    spec = json.loads(sys.argv[1])
    call_command("migrate", interactive=False, verbosity=0)
    password = make_password("pw")
    model = get_user_model()
    people = model.objects.bulk_create(
        model(username=name, email=f"{name}@example.com", password=password, is_staff=staff)
        for names, staff in ((spec["users"], False), (spec["admins"], True))
        for name in names
    )
    cookies = {}
    client = Client()
    for person in people:
        client.force_login(person)
        cookies[person.username] = client.cookies["sessionid"].value
        client.cookies.clear()
    chats = {
        person.username: str(services.chat_get_or_create(user=person).id)
        for person in people
        if not person.is_staff
    }
    print(json.dumps({"cookies": cookies, "chats": chats}), flush=True)


if __name__ == "__main__":
    main()
