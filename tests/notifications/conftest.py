"""Fixtures for reply-email tests: the broker's queue, a task runner, the provider edge."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from celery import Task
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from celery_app import app
from chats import services as chat_services
from chats.models import SupportMessage
from notifications import tasks

START = "2026-01-29 10:00:00"


@dataclass(frozen=True)
class QueuedTask:
    name: str
    args: list[Any]
    eta: datetime | None


class Broker:
    """The test run's own Celery queue on the real Redis: what was scheduled, and when for."""

    def __init__(self) -> None:
        self.queue = app.conf.task_default_queue

    def purge(self) -> None:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(self.queue)

    def count(self) -> int:
        """How many tasks wait in the queue; they stay there."""
        with app.connection_for_read() as connection:
            try:
                declared = connection.default_channel.queue_declare(self.queue, passive=True)
            except connection.channel_errors:
                return 0  # Redis keeps no empty list: no queue is an empty queue
            return int(declared.message_count)

    def take(self) -> list[QueuedTask]:
        """Every task waiting in the queue, oldest first; they are removed from it."""
        found = []
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            while (message := channel.basic_get(self.queue, no_ack=True)) is not None:
                args, _kwargs, _embed = message.decode()
                eta = message.headers.get("eta")
                found.append(
                    QueuedTask(
                        name=message.headers["task"],
                        args=list(args),
                        eta=datetime.fromisoformat(eta) if eta else None,
                    )
                )
        return found


@pytest.fixture
def broker() -> Iterator[Broker]:
    """The Celery queue, empty at the start of the test and again at its end."""
    queue = Broker()
    queue.purge()
    yield queue
    queue.purge()


@pytest.fixture
def run() -> Callable[..., None]:
    """`run(task, *ids)`: execute a task here and now as a worker would (ids sent as strings)."""

    def execute(task: Task, *ids: Any) -> None:
        task.apply(args=[str(value) for value in ids]).get()

    return execute


@pytest.fixture
def notify(run: Callable[..., None]) -> Callable[[SupportMessage], None]:
    """The reply's scheduled task, run now: the moment its window ends."""
    return lambda message: run(tasks.reply_notify, message.id)


@pytest.fixture
def mailer(settings: Any) -> Callable[[str], None]:
    """`mailer("dotted.Backend")`: send through that backend instead of locmem from now on."""

    def use(backend: str, **options: Any) -> None:
        settings.MAILERS = {"default": {"BACKEND": backend, "OPTIONS": options}}

    return use


@pytest.fixture
def staff_browser(db: None) -> Client:
    """A superuser's browser, logged in to Django admin."""
    superuser = get_user_model().objects.create_superuser(
        username="boss@example.com", email="boss@example.com", password="pw-for-tests"
    )
    browser = Client()
    browser.force_login(superuser)
    return browser


@pytest.fixture
def mark_read(user: Any) -> Callable[[], int]:
    """The user opens the widget: chats' own mark-read."""
    return lambda: chat_services.messages_mark_read(user=user)


OPEN_LINK = re.compile(r"^(https?://\S+/email/open/\S+/)$", re.MULTILINE)


def open_link(message: mail.EmailMessage) -> str:
    """The "open the conversation" URL of a sent reply email, as the reader sees it."""
    found = OPEN_LINK.search(str(message.body))
    assert found, message.body
    return found.group(1)


FIXTURES = Path(__file__).parent / "fixtures"
# UPDATE_EMAIL_FIXTURES=1 make test ARGS="tests/notifications" rewrites them.
UPDATE_FIXTURES = os.environ.get("UPDATE_EMAIL_FIXTURES") == "1"


def assert_matches_fixture(fixture: str, rendered: str) -> None:
    """A rendered email (or part of one) is its fixture, kept for a reader to open."""
    path = FIXTURES / fixture
    if UPDATE_FIXTURES:
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8"), (
        f"{fixture} is out of date: rerun with UPDATE_EMAIL_FIXTURES=1 and review the diff"
    )
