"""Celery tasks of the chat domain: the attachments' clean-up and the presence sweep. Safe to run
twice, like every task of desk's; names spelled out so that a rename never strands a queued task."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

# A storage that failed to delete a file (S3 unreachable) is asked again this many times, with
# waits doubling from a minute.
FILE_DELETE_RETRIES = 6


@shared_task(name="chats.attachments_sweep", ignore_result=True)
def attachments_sweep() -> None:
    """Beat runs this hourly: uploads never attached to a message, older than a day, are
    deleted with their files."""
    from chats.attachments.services import unattached_sweep

    deleted = unattached_sweep()
    if deleted:
        logger.info("deleted %d uploads never attached to a message", deleted)


@shared_task(
    name="chats.attachment_files_delete",
    ignore_result=True,
    bind=True,
    max_retries=FILE_DELETE_RETRIES,
)
def attachment_files_delete(self: object, names: list[str]) -> None:
    """Another try at deleting stored files whose rows are gone (after a storage failure)."""
    from chats.attachments.storage import files_delete

    failed = files_delete(names)
    if failed:
        retries = getattr(getattr(self, "request", None), "retries", 0) or 0
        if retries >= FILE_DELETE_RETRIES:
            logger.error("attachment files left in storage, to delete by hand: %s", failed)
            return
        raise self.retry(args=[failed], countdown=60 * 2**retries)  # type: ignore[attr-defined]


@shared_task(name="chats.presence_sweep", ignore_result=True)
def presence_sweep() -> None:
    """Beat runs this every third of DESK_PRESENCE_TIMEOUT: the sockets of server processes that
    stopped beating go offline, and the dashboards and people hear it (chats.presence)."""
    from chats import presence

    presence.presence_sweep()
