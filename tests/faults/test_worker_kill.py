"""The Celery worker is killed with SIGKILL in the middle of a batch of reply emails, and restarted.

What desk promises (docs/emails.md, docs/reliability.md): every email that is due is sent once,
except an email whose send was under way at the moment of the kill. Nobody can know whether the
provider accepted that one (neither SMTP nor the providers' APIs have idempotency keys), so it is
never sent again: it stays `sending` and the sweep records it as failed after the hard time limit.
The test holds desk to exactly that: 0 duplicates, every other email sent once, and at most one
interrupted send for the one killed solo worker.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.clients import rest, wait_for
from tests.faults.mail import Mailbag, email_settings, email_statuses, undecided_replies
from tests.live import LiveDesk, live_desk

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

READERS = [f"r{n:03d}" for n in range(200)]
KILL_AFTER = 60  # emails written
PATIENCE = 90.0
QUIET_FOR = 4.0
SLOW_BACKEND = "tests.faults.slow_filebased.EmailBackend"


def log_has(desk: LiveDesk, name: str, text: bytes) -> bool:
    log = desk.workdir / f"{name}.log"
    return log.exists() and text in log.read_bytes()


def swept(desk: LiveDesk) -> int:
    """Lost replies the sweep found, from the worker logs' "sweep: N lost replies" lines."""
    found = 0
    for log in desk.workdir.glob("worker*.log"):
        found += sum(int(n) for n in re.findall(rb"sweep: (\d+) lost replies", log.read_bytes()))
    return found


def reply_to_everyone(desk: LiveDesk) -> None:
    for n, who in enumerate(READERS):
        answer = rest(
            desk.servers[n % 2], "POST", f"/api/admin/chats/{desk.chats[who]}/messages",
            desk.cookies["support"], {"content": f"Thanks {who}, we are on it."},
        )  # fmt: skip
        assert answer.status == 201, answer


def settled(desk: LiveDesk) -> bool:
    """Every reply decided, and no email waiting to be sent."""
    statuses = email_statuses(desk)
    return (
        undecided_replies(desk) == 0 and not statuses["queued"] and statuses.total() == len(READERS)
    )


async def test_a_worker_killed_mid_batch_leaves_no_email_unsent_or_sent_twice(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    outbox = tmp_path / "emails"
    with live_desk(
        tmp_path,
        users=READERS,
        admins=["support"],
        env={
            **email_settings(outbox),
            "EMAIL_BACKEND": SLOW_BACKEND,
            # One admin answers everyone at once.
            "DESK_MESSAGES_PER_MINUTE": "1000",
        },
    ) as desk:
        worker = desk.start_worker("worker-1")
        desk.start_beat()
        await wait_for(lambda: log_has(desk, "worker-1", b" ready."), PATIENCE, "worker ready")
        await asyncio.to_thread(reply_to_everyone, desk)

        await wait_for(lambda: Mailbag.of(outbox).emails >= KILL_AFTER, PATIENCE, "sending")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        sent_before_kill = Mailbag.of(outbox).emails

        desk.start_worker("worker-2")
        took = await wait_for(lambda: settled(desk), PATIENCE, "every email dealt with")
        await asyncio.sleep(QUIET_FOR)
        sent = Mailbag.of(outbox)
        statuses = email_statuses(desk)
        recovered = swept(desk)

    interrupted = statuses["sending"] + statuses["failed"]
    figures(
        emails_due=len(READERS),
        written_before_kill=sent_before_kill,
        emails_sent=sent.emails,
        emails_duplicated=sent.duplicated,
        records=dict(statuses),
        interrupted_mid_send=interrupted,
        replies_recovered_by_sweep=recovered,
        settled_after_restart_s=round(took, 1),
    )
    assert sent.duplicated == 0
    assert max(sent.recipients.values()) == 1
    # Each email is sent, or was the one under way when the worker died (at most one: solo pool).
    assert statuses["sent"] + interrupted == len(READERS)
    assert interrupted <= 1
    assert statuses["sent"] <= sent.emails <= statuses["sent"] + interrupted
    assert recovered > 0, "the kill should have lost some tasks for the sweep to recover"
