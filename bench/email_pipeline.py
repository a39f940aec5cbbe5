"""Scenario 5: a burst of admin replies, and the reply emails that follow them.

An admin replies in N chats through the service the REST API and the sockets call; right after its
reply, one chat in three is read by its user and one in three is archived, well before the
DESK_REPLY_NOTIFICATION_DELAY (5 s here) ends. A Celery worker then decides every reply and emails
the rest: exactly one email per chat left unread and unarchived, none for the others.

The driver runs in the live desk's environment (its database and Redis):

    python -m bench.email_pipeline reply <chats> <admin> <part> <parts>   # post, read, archive
    python -m bench.email_pipeline report <chats> <timeout seconds>   # wait, then the figures
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.clients import summary
from bench.stack import spawn_in_desk
from tests.live import LiveDesk, stop

# Replies are posted by this many processes at once: one alone, paying for a transaction, two
# broadcasts and a task per reply, would take minutes over 10,000 chats on two shared cores.
POSTERS = 2
POST_TIMEOUT = 400.0


def pipeline(desk: LiveDesk, *, chats: int, admin: str, timeout: float) -> dict[str, Any]:
    """Post the replies with a worker running, wait up to `timeout` s for the emails, report."""
    sessions_before = _database_sessions(desk)
    # As `make run` starts it: two pool processes.
    desk.start_worker(
        "email-worker", "--pool", "prefork", "--concurrency", "2", "--loglevel", "WARNING"
    )
    posters = [
        spawn_in_desk(desk.env, "bench.email_pipeline", "reply", str(chats), admin, str(n),
                      str(POSTERS))
        for n in range(POSTERS)
    ]  # fmt: skip
    try:
        parts = [_output(poster, POST_TIMEOUT) for poster in posters]
        report = _output(
            spawn_in_desk(desk.env, "bench.email_pipeline", "report", str(chats), str(timeout)),
            timeout + 60,
        )
    finally:
        for poster in posters:
            stop(poster)
    sessions = _database_sessions(desk)
    return {
        "database_sessions": sessions - sessions_before if sessions is not None else None,
        "chats": sum(p["chats"] for p in parts),
        "expected_emails": sum(p["expected_emails"] for p in parts),
        "reply_seconds": max(p["reply_seconds"] for p in parts),
        **report,
    }


def _database_sessions(desk: LiveDesk) -> int | None:
    """How many connections PostgreSQL has accepted to the desk's database so far."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s",
            [urlsplit(desk.env["DATABASE_URL"]).path.lstrip("/")],
        )
        return int(cursor.fetchone()[0])


def _output(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The JSON a driver printed; its error output if it failed."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        raise
    if process.returncode != 0:
        raise RuntimeError(err)
    return dict(json.loads(out))


def _reply(chats: int, admin_name: str, part: int, parts: int) -> dict[str, Any]:
    """Reply in this poster's share of the first `chats` chats; read or archive two in three.

    The services run in a worker thread under an event loop, as in a server process, so that
    their after-commit broadcasts reuse the loop's Redis connections; called from plain
    synchronous code, each broadcast would start an event loop and connect to Redis anew.
    """
    from asgiref.sync import sync_to_async
    from django.contrib.auth import get_user_model

    from chats import services
    from chats.models import SupportChat

    admin = get_user_model().objects.get(username=admin_name)
    targets = list(
        SupportChat.objects.select_related("user")
        .filter(user__is_staff=False)
        .order_by("id")[:chats]
    )
    mine = [(n, chat) for n, chat in enumerate(targets) if n % parts == part]

    def one(n: int, chat: SupportChat) -> None:
        services.admin_reply_post(admin=admin, chat_id=chat.id, content=f"Reply {n}: see above.")
        if n % 3 == 1:
            services.messages_mark_read(user=chat.user)
        elif n % 3 == 2:
            services.chat_archive(admin=admin, chat_id=chat.id)

    async def post_all() -> None:
        for n, chat in mine:
            await sync_to_async(one)(n, chat)

    start = time.time()
    asyncio.run(post_all())
    return {
        "chats": len(mine),
        "expected_emails": sum(1 for n, _ in mine if n % 3 == 0),
        "reply_seconds": round(time.time() - start, 1),
    }


def _report(chats: int, timeout: float) -> dict[str, Any]:
    from django.conf import settings
    from django.db.models import Count, Min

    from notifications.models import EmailStatus, ReplyDecision, ReplyEmail

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        decided = ReplyDecision.objects.count()
        in_flight = ReplyEmail.objects.filter(
            status__in=[EmailStatus.QUEUED, EmailStatus.SENDING]
        ).count()
        if decided >= chats and in_flight == 0:
            break
        time.sleep(0.5)
    delay = settings.DESK_REPLY_NOTIFICATION_DELAY
    emails = list(
        ReplyEmail.objects.filter(status=EmailStatus.SENT).annotate(
            first_reply=Min("decisions__message__created_at")
        )
    )
    lags = [(e.sent_at - e.first_reply).total_seconds() - delay for e in emails]
    replies = ReplyDecision.objects.aggregate(first=Min("message__created_at"))
    per_chat = ReplyEmail.objects.filter(status=EmailStatus.SENT).values("chat")
    duplicates = sum(row["n"] - 1 for row in per_chat.annotate(n=Count("id")).filter(n__gt=1))
    folder = Path(os.environ["EMAIL_FILE_PATH"])
    delivered = (
        sum(path.read_text(errors="replace").count("\nSubject: ") for path in folder.glob("*"))
        if folder.exists()
        else 0
    )
    last_sent = max((e.sent_at for e in emails), default=None)
    first_due = replies["first"]
    return {
        "decided": ReplyDecision.objects.count(),
        "emails_sent": len(emails),
        "emails_in_files": delivered,
        "duplicates": duplicates,
        "due_to_sent_s": {k.replace("_ms", "_s"): v for k, v in summary(lags).items()},
        "batch_seconds": round((last_sent - first_due).total_seconds() - delay, 1)
        if last_sent and first_due
        else None,
        "timed_out": time.monotonic() >= deadline,
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    import django

    django.setup()
    command, chats = sys.argv[1], int(sys.argv[2])
    if command == "reply":
        admin, part, parts = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(_reply(chats, admin, part, parts)))
    else:
        print(json.dumps(_report(chats, float(sys.argv[3]))))


if __name__ == "__main__":
    main()
