"""Scenario 4: the admin list over a large history, beside the naive version a plain loop would be.

Each size has a database of its own (`desk_bench_data_<size>` on PostgreSQL), generated once and
kept between runs: N users and chats, about 20 messages per chat (2M at 100k chats), a tenth of the
chats archived, a quarter viewed by an admin. On PostgreSQL it is generated inside the server with
generate_series (a minute for the largest); elsewhere (the smoke test's SQLite) with bulk_create.

For each tab (active, archived), with and without a search, the first page and a page deep in the
keyset (80 % of the way down) are timed through `selectors.chat_list_for_admin` plus the REST
schema's serialization, and through `naive_page`: the same page by OFFSET, then per chat its user,
its message count, its last message and its unread flag, one query each.

Run in the data database's environment: `python -m bench.admin_list <chats> <samples> <reps>`.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.clients import summary

SEARCH = "data12"
ARCHIVED_EVERY = 10
VIEWED_EVERY = 4
MESSAGES_CYCLE = 39  # 1..39 messages per chat: 20 on average
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
CONTENT = (
    "message {n} of a benchmark chat, long enough that the admin list cuts it to its preview of a "
    "hundred characters"
)

GENERATE_SQL = [
    """
    INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                           is_staff, is_active, date_joined)
    SELECT '!', false, 'data' || i || '@example.com', '', '', 'data' || i || '@example.com',
           false, true, now()
    FROM generate_series(0, %(chats)s - 1) AS i
    """,
    """
    INSERT INTO chats_supportchat (id, user_id, last_message_at, last_user_message_at,
                                   admin_viewed_at, archived_at, message_count, created_at,
                                   updated_at)
    SELECT gen_random_uuid(), u.id, %(base)s + u.i * interval '1 second',
           %(base)s + u.i * interval '1 second'
               - ((u.i %% %(cycle)s) %% 2) * interval '1 millisecond',
           CASE WHEN u.i %% %(viewed)s = 0 THEN %(base)s + u.i * interval '1 second' END,
           CASE WHEN u.i %% %(archived)s = %(archived)s - 1 THEN now() END,
           1 + u.i %% %(cycle)s, now(), now()
    FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i
          FROM auth_user WHERE username LIKE 'data%%') AS u
    """,
    """
    INSERT INTO chats_supportmessage (id, chat_id, content, sender_type, sender_name, sender_id,
                                      read_at, created_at, updated_at)
    SELECT gen_random_uuid(), c.id, replace(%(content)s, '{n}', n::text),
           CASE WHEN n %% 2 = 0 THEN 'user' ELSE 'admin' END, '', NULL, NULL,
           c.last_message_at - (c.message_count - 1 - n) * interval '1 millisecond', now()
    FROM chats_supportchat AS c, generate_series(0, c.message_count - 1) AS n
    """,
]


def dataset_ready(chats: int) -> bool:
    from chats.models import SupportChat

    return SupportChat.objects.filter(user__username__startswith="data").count() == chats


def generate(chats: int) -> float:
    """Write the dataset in one transaction (all or nothing); the seconds it took."""
    from django.db import connection, transaction

    start = time.perf_counter()
    if connection.vendor == "postgresql":
        params = {
            "chats": chats,
            "base": BASE_TIME,
            "viewed": VIEWED_EVERY,
            "archived": ARCHIVED_EVERY,
            "cycle": MESSAGES_CYCLE,
            "content": CONTENT,
        }
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in GENERATE_SQL:
                cursor.execute(statement, params)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with transaction.atomic():
            _generate_with_orm(chats)
    return time.perf_counter() - start


def _generate_with_orm(chats: int) -> None:
    from django.contrib.auth import get_user_model

    from chats.models import SenderType, SupportChat, SupportMessage

    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(username=f"data{i}@example.com", email=f"data{i}@example.com", password="!")
        for i in range(chats)
    )
    rows = []
    for i, user in enumerate(users):
        last = BASE_TIME + timedelta(seconds=i)
        count = 1 + i % MESSAGES_CYCLE
        rows.append(
            SupportChat(
                user=user,
                last_message_at=last,
                # The newest of the messages below that is the user's (every even one).
                last_user_message_at=last - timedelta(milliseconds=(count - 1) % 2),
                admin_viewed_at=last if i % VIEWED_EVERY == 0 else None,
                archived_at=BASE_TIME if i % ARCHIVED_EVERY == ARCHIVED_EVERY - 1 else None,
                message_count=count,
            )
        )
    SupportChat.objects.bulk_create(rows)
    SupportMessage.objects.bulk_create(
        (
            SupportMessage(
                chat=chat,
                content=CONTENT.replace("{n}", str(n)),
                sender_type=SenderType.USER if n % 2 == 0 else SenderType.ADMIN,
                created_at=chat.last_message_at
                - timedelta(milliseconds=chat.message_count - 1 - n),
            )
            for chat in rows
            for n in range(chat.message_count)
        ),
        batch_size=5000,
    )


def naive_page(*, archived: bool, q: str | None, offset: int, limit: int) -> list[dict[str, Any]]:
    """The list as a plain loop writes it: a page of chats, then a few queries per chat."""
    from django.db.models import F

    from chats.models import SenderType, SupportChat
    from chats.selectors import PREVIEW_LENGTH

    chats = SupportChat.objects.filter(archived_at__isnull=not archived)
    if q:
        chats = chats.filter(user__email__icontains=q)
    page = chats.order_by(F("last_message_at").desc(nulls_last=True), "-id")[
        offset : offset + limit
    ]
    items = []
    for chat in page:
        last = chat.messages.order_by("-created_at", "-id").first()
        items.append(
            {
                "id": str(chat.id),
                "user_id": chat.user_id,
                "user_email": chat.user.email,
                "last_message_at": chat.last_message_at,
                "last_message_preview": last.content[:PREVIEW_LENGTH] if last else None,
                "last_message_sender": last.sender_type if last else None,
                "message_count": chat.messages.count(),
                "unread": chat.messages.filter(
                    sender_type=SenderType.USER,
                    created_at__gt=chat.admin_viewed_at or NEVER,
                ).exists(),
                "archived": chat.archived,
                "admin_viewed_at": chat.admin_viewed_at,
                "created_at": chat.created_at,
            }
        )
    return items


def _timed(call: Callable[[], object], samples: int) -> tuple[list[float], int]:
    """Latencies of `samples` calls in ms, after one warm-up, and the queries one call makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    latencies = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies, len(queries)


def measure(chats: int, samples: int, repetitions: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db.models import F

    from chats import selectors
    from chats.models import SupportChat
    from chats.schemas import ChatListItemOut

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "email": "bench-admin@example.com"}
    )
    limit = selectors.PAGE_SIZE
    cases = []
    for archived in (False, True):
        for q in (None, SEARCH):
            tab = SupportChat.objects.filter(archived_at__isnull=not archived)
            if q:
                tab = tab.filter(user__email__icontains=q)
            ordered = tab.order_by(F("last_message_at").desc(nulls_last=True), "-id")
            size = ordered.count()
            deep = int(size * 0.8)
            anchor = ordered[deep - 1] if deep > 0 else None
            for page, offset, cursor in (
                ("first", 0, None),
                ("deep", deep, selectors.encode_cursor(anchor) if anchor else None),
            ):

                def ours(archived: bool = archived, q: str | None = q, cursor: Any = cursor) -> Any:
                    found = selectors.chat_list_for_admin(
                        admin=admin, archived=archived, q=q, cursor=cursor, limit=limit
                    )
                    return [ChatListItemOut.from_orm(c).model_dump() for c in found.chats]

                def naive(
                    archived: bool = archived, q: str | None = q, offset: int = offset
                ) -> Any:
                    return naive_page(archived=archived, q=q, offset=offset, limit=limit)

                ours_runs, naive_runs = [], []
                for _ in range(repetitions):
                    latencies, ours_queries = _timed(ours, samples)
                    ours_runs.append(summary(latencies))
                    latencies, naive_queries = _timed(naive, max(3, samples // 6))
                    naive_runs.append(summary(latencies))
                ours_p50 = statistics.median(r["p50_ms"] for r in ours_runs)
                naive_p50 = statistics.median(r["p50_ms"] for r in naive_runs)
                cases.append(
                    {
                        "tab": "archived" if archived else "active",
                        "search": q or "",
                        "page": page,
                        "rows_in_tab": size,
                        "queries": ours_queries,
                        "p50_ms": round(ours_p50, 2),
                        "p95_ms": round(statistics.median(r["p95_ms"] for r in ours_runs), 2),
                        "naive_queries": naive_queries,
                        "naive_p50_ms": round(naive_p50, 2),
                        "naive_p95_ms": round(
                            statistics.median(r["p95_ms"] for r in naive_runs), 2
                        ),
                        "naive_ratio": round(naive_p50 / ours_p50, 1) if ours_p50 else None,
                    }
                )
    return {
        "chats": chats,
        "messages_per_chat": 20,
        "cases": cases,
        "unread_count": measure_unread_count(admin, samples, repetitions),
    }


def naive_unread_count() -> int:
    """The title count as the list's old unread test would make it: a search of each active
    chat's messages for one newer than the admin's last visit."""
    from django.db.models import Exists, OuterRef, Value
    from django.db.models.functions import Coalesce

    from chats.models import SenderType, SupportChat, SupportMessage

    waiting = SupportMessage.objects.filter(
        chat=OuterRef("pk"),
        sender_type=SenderType.USER,
        created_at__gt=Coalesce(OuterRef("admin_viewed_at"), Value(NEVER)),
    )
    return SupportChat.objects.filter(Exists(waiting), archived_at__isnull=True).count()


def measure_unread_count(admin: Any, samples: int, repetitions: int) -> dict[str, Any]:
    """GET /api/admin/unread's query (selectors.unread_chat_count, the partial index
    chat_unread_idx) beside the naive count over the messages."""
    from chats import selectors

    count = selectors.unread_chat_count(admin=admin)
    assert count == naive_unread_count(), "the two counts disagree"
    ours_runs, naive_runs = [], []
    for _ in range(repetitions):
        latencies, queries = _timed(lambda: selectors.unread_chat_count(admin=admin), samples)
        ours_runs.append(summary(latencies))
        latencies, _ = _timed(naive_unread_count, max(3, samples // 6))
        naive_runs.append(summary(latencies))
    ours_p50 = statistics.median(r["p50_ms"] for r in ours_runs)
    naive_p50 = statistics.median(r["p50_ms"] for r in naive_runs)
    return {
        "unread_chats": count,
        "queries": queries,
        "p50_ms": round(ours_p50, 2),
        "p95_ms": round(statistics.median(r["p95_ms"] for r in ours_runs), 2),
        "naive_p50_ms": round(naive_p50, 2),
        "naive_ratio": round(naive_p50 / ours_p50, 1) if ours_p50 else None,
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    chats, samples, repetitions = (int(a) for a in sys.argv[1:4])
    call_command("migrate", interactive=False, verbosity=0)
    generated = None
    if not dataset_ready(chats):
        generated = round(generate(chats), 1)
    result = measure(chats, samples, repetitions)
    result["generated_seconds"] = generated
    print(json.dumps(result))


if __name__ == "__main__":
    main()
