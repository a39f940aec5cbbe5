"""SESSION_ENGINE: Django's database sessions, asking the database only about well-formed keys.

Django validates a session cookie by its length alone and looks any such key up. A key with a NUL
made that lookup fail on PostgreSQL (a DataError: a 500 for a page, an error closing a websocket,
before the session was ever checked). A key Django never makes is now no session at all, as an
unknown one is: the visitor is anonymous, on HTTP and websockets alike.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS

KEY_CHARACTERS = frozenset(VALID_KEY_CHARS)


class SessionStore(db.SessionStore):
    # Django's hook for checking a key before using it (not in django-stubs).
    def _validate_session_key(self, key: Any) -> bool:
        valid = super()._validate_session_key(key)  # type: ignore[misc]
        return bool(valid) and KEY_CHARACTERS.issuperset(key)
