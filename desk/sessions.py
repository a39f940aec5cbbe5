"""SESSION_ENGINE: Django's cached database sessions, asking only about well-formed keys.

Every request of a signed-in person reads their session. Django's `cached_db` engine reads it from
the cache (Redis, the `sessions` alias in settings) and goes to the database only on a miss, so
the database stays the record: a session is written to both, and a logout deletes it from both.
The store uses one Redis client per process (`sessions_cache`), not Django's client per context.
A session deleted straight from the database (Django admin, `clearsessions`, a script using the
ORM) leaves the cache too (`forget_deleted`, connected to Session's post_delete), so deleting the
row still ends it at once. If Redis does not answer, sessions are read from the database.

Django validates a session cookie by its length alone and looks any such key up. A key with a NUL
made that lookup fail on PostgreSQL (a DataError: a 500 for a page, an error closing a websocket,
before the session was ever checked). A key Django never makes is now no session at all, as an
unknown one is: the visitor is anonymous, on HTTP and websockets alike.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db, db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.models import Session
from django.core.cache import BaseCache, caches

KEY_CHARACTERS = frozenset(VALID_KEY_CHARS)

logger = logging.getLogger(__name__)


# The sessions alias's settings and the client made from them; replaced only when the settings
# object changes (a test overriding CACHES).
_shared: tuple[object, BaseCache] | None = None
_shared_lock = threading.Lock()


def sessions_cache() -> BaseCache:
    """The sessions cache's one client in this process, shared by every thread and task.

    Django's `caches[alias]` keeps a client per asyncio context under ASGI, and each Redis client
    opens its own connection pool: every websocket held a Redis connection of its own for its
    whole life (8 KB more per idle socket, and slower handshakes), and every request opened one.
    redis-py's pool is thread-safe. Every request calls this, so the usual answer takes no lock.
    """
    global _shared
    config: object = settings.CACHES[settings.SESSION_CACHE_ALIAS]
    shared = _shared
    if shared is None or shared[0] is not config:
        with _shared_lock:
            shared = _shared
            if shared is None or shared[0] is not config:
                shared = _shared = (config, caches.create_connection(settings.SESSION_CACHE_ALIAS))
    return shared[1]


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        # cached_db's __init__ without its `caches[alias]` (see sessions_cache): its attribute
        # (not in django-stubs), which its exists() and save() use, is the shared client.
        db.SessionStore.__init__(self, session_key)
        self._cache = sessions_cache()

    # Django's hook for checking a key before using it (not in django-stubs).
    def _validate_session_key(self, key: Any) -> bool:
        valid = super()._validate_session_key(key)  # type: ignore[misc]
        return bool(valid) and KEY_CHARACTERS.issuperset(key)

    def load(self) -> dict[str, Any]:
        # cached_db's, with the cache write after a miss guarded as its read is: with Redis down,
        # a session read from the database is still a session (cached_db failed the request).
        cache = self._cache
        try:
            data: dict[str, Any] | None = cache.get(self.cache_key)
        except Exception:
            data = None
        if data is not None:
            return data
        # A private helper of Django's database store (not in django-stubs).
        stored = self._get_session_from_db()  # type: ignore[attr-defined]
        if stored is None:
            return {}
        data = self.decode(stored.session_data)
        try:
            cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except Exception:
            logger.warning("sessions cache unavailable; sessions are read from the database")
        return data

    def exists(self, session_key: str) -> bool:
        # Asked for each new key (a login): cached_db asks the cache unguarded, so with Redis
        # down nobody could sign in. The database alone answers then.
        try:
            return bool(super().exists(session_key))
        except Exception:
            logger.warning("sessions cache unavailable; asking the database alone")
            return bool(db.SessionStore.exists(self, session_key))

    def delete(self, session_key: str | None = None) -> None:
        # The database's delete alone: the row's post_delete (forget_deleted) removes the cached
        # copy, with Redis down too, where cached_db's own unguarded delete made a logout a 500.
        db.SessionStore.delete(self, session_key)


def forget_deleted(sender: type[Session], instance: Session, **kwargs: Any) -> None:
    """post_delete of a Session row: its cached copy goes too."""
    try:
        sessions_cache().delete(SessionStore.cache_key_prefix + instance.session_key)
    except Exception:
        logger.exception("could not delete a session from the cache")
