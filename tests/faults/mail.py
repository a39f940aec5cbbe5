"""Reply emails as a fault test sees them from outside: the files a live desk's worker wrote,
and the ReplyEmail records in the live database (read with plain SQL, as an operator would).
"""

from __future__ import annotations

import contextlib
import email
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import dj_database_url

from tests.live import LiveDesk

SEPARATOR = b"\n" + b"-" * 79 + b"\n"


def email_settings(folder: Path, *, delay: int = 2, sweep_interval: int = 1) -> dict[str, str]:
    """A live desk's environment for reply emails written to `folder`, due within seconds."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(folder),
        "DESK_REPLY_NOTIFICATION_DELAY": str(delay),
        "DESK_REPLY_SWEEP_INTERVAL": str(sweep_interval),
        "SITE_URL": "http://127.0.0.1:8000",
    }


def written(folder: Path) -> list[Message]:
    """Every email in the folder (Django's file backend may append several to one file)."""
    found = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk))
    return found


@dataclass(frozen=True)
class Mailbag:
    """What went out: emails per recipient, and the duplicates among them."""

    emails: int
    recipients: Counter[str]

    @property
    def duplicated(self) -> int:
        return sum(count - 1 for count in self.recipients.values() if count > 1)

    @classmethod
    def of(cls, folder: Path) -> Mailbag:
        messages = written(folder)
        return cls(len(messages), Counter(str(m["To"]) for m in messages))


@contextlib.contextmanager
def live_cursor(desk: LiveDesk) -> Iterator[Any]:
    config = dj_database_url.parse(desk.env["DATABASE_URL"])
    if config["ENGINE"].endswith("sqlite3"):
        connection = sqlite3.connect(config["NAME"], timeout=20)
        try:
            yield connection.cursor()
        finally:
            connection.close()
        return
    import psycopg

    with psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
        password=config["PASSWORD"] or None, dbname=config["NAME"], autocommit=True,
    ) as connection:  # fmt: skip
        yield connection.cursor()


def email_statuses(desk: LiveDesk) -> Counter[str]:
    """How many ReplyEmail rows are in each status."""
    with live_cursor(desk) as cursor:
        cursor.execute("SELECT status, COUNT(*) FROM notifications_replyemail GROUP BY status")
        return Counter({status: int(count) for status, count in cursor.fetchall()})


def undecided_replies(desk: LiveDesk) -> int:
    """Admin replies that no email (or skip) has claimed yet."""
    with live_cursor(desk) as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM chats_supportmessage m WHERE m.sender_type = 'admin' AND NOT "
            "EXISTS (SELECT 1 FROM notifications_replydecision d WHERE d.message_id = m.id)"
        )
        return int(cursor.fetchone()[0])
