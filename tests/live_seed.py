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

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils.crypto import get_random_string

    from chats.models import SupportChat

    spec = json.loads(sys.argv[1])
    call_command("migrate", interactive=False, verbosity=0)
    password = make_password("pw")
    model = get_user_model()
    people = model.objects.bulk_create(
        model(username=name, email=f"{name}@example.com", password=password, is_staff=staff)
        for names, staff in ((spec["users"], False), (spec["admins"], True))
        for name in names
    )
    # Sessions and chats in bulk, as logging in and a first visit would leave them: the benchmarks
    # seed ten thousand people, where a login per person would take most of a minute.
    store = SessionStore()
    sessions = Session.objects.bulk_create(
        Session(
            session_key=get_random_string(32, VALID_KEY_CHARS),
            session_data=store.encode(
                {
                    SESSION_KEY: str(person.pk),
                    BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                    HASH_SESSION_KEY: person.get_session_auth_hash(),
                }
            ),
            expire_date=store.get_expiry_date(),
        )
        for person in people
    )
    cookies = {
        person.username: session.session_key
        for person, session in zip(people, sessions, strict=True)
    }
    chats = {
        chat.user.username: str(chat.id)
        for chat in SupportChat.objects.bulk_create(
            SupportChat(user=person) for person in people if not person.is_staff
        )
    }
    print(json.dumps({"cookies": cookies, "chats": chats}), flush=True)


if __name__ == "__main__":
    main()
