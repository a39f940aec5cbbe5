"""Sending events through the channel layer to every process's sockets.

Services call `send_on_commit` inside their transaction with the events they built, Zulip style:
the events leave once the transaction commits, in the order given, and never for a write that
rolled back. A failed send (Redis down) is logged and the committed write stands; clients catch up
with `sync` (or `GET .../messages?after=`) when they reconnect.
"""

from __future__ import annotations

import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import transaction

from chats.permissions import Role
from chats.realtime.builders import typing_event
from chats.realtime.protocol import LAYER_EVENT, Delivery, chat_group
from desk import metrics

logger = logging.getLogger(__name__)


def send_on_commit(deliveries: list[Delivery]) -> None:
    """Send each event to its group once the current transaction commits."""

    def send() -> None:
        try:
            broadcast(deliveries)
        except Exception:
            kinds = ", ".join(event["type"] for _, event in deliveries)
            logger.exception("broadcast of %s failed after commit", kinds)

    transaction.on_commit(send)


def broadcast(deliveries: list[Delivery]) -> None:
    """Send each event to its group, in order, from synchronous code; return once Redis has them."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(group_send_all)(layer, deliveries)


async def group_send_all(layer: BaseChannelLayer, deliveries: list[Delivery]) -> None:
    # One hop to the event loop for all of a write's events, in order. desk's Redis layer sends
    # them all in the same two trips to Redis (desk/runtime/layers.py); others, one by one.
    sends = [(group, {"type": LAYER_EVENT, "event": event}) for group, event in deliveries]
    metrics.EVENTS_SENT.inc(len(sends))
    send_many = getattr(layer, "group_send_many", None)
    if send_many is not None:
        await send_many(sends)
        return
    for group, message in sends:
        await layer.group_send(group, message)


async def typing_send(chat_id: uuid.UUID, *, sender_type: Role, is_typing: bool) -> None:
    """Relay a typing indicator to the chat's sockets (never stored; the other side shows it)."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = typing_event(chat_id, sender_type=sender_type, is_typing=is_typing)
    await group_send_all(layer, [(chat_group(chat_id), event)])
