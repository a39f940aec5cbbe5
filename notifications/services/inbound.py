"""Replies by email: an email a provider posted to an inbound webhook becomes the person's chat
message, through the same service as the widget's (chats.services.user_message_post: the same
checks, allowance, events and reply-email rules afterwards), or is recorded as ignored, and why.

What is accepted: an email to the chat's reply address (notifications.links.reply_address, which
names the chat and is signed), from the address desk writes to the chat's person, that a person
wrote (not an autoresponder, a bounce or list mail), with something new in it once the quoted
history and signature are cut (notifications.replies). The reply address is the credential; the
From check keeps an address that leaked (a forwarded email) from posting as the person.
"""

from __future__ import annotations

import logging
import uuid

from anymail.inbound import AnymailInboundMessage
from django.db import IntegrityError, transaction

from chats.errors import InvalidInputError, PermissionDeniedError, RateLimitedError
from chats.models import SupportChat
from chats.services import user_message_post
from notifications import links, replies
from notifications.models import InboundEmail, InboundIgnored, InboundOutcome
from notifications.services.preferences import address_normalize
from notifications.services.reply_emails import person_address

logger = logging.getLogger(__name__)


def inbound_email_receive(*, message: AnymailInboundMessage, esp_name: str) -> InboundEmail | None:
    """Post the person's reply to their chat, or record why not. None for an email recorded
    already (the provider delivered its webhook twice): it was posted, or ignored, once."""
    message_id = (message.get("Message-ID") or "").strip()[:255] or None
    if message_id is not None and InboundEmail.objects.filter(message_id=message_id).exists():
        logger.info("inbound email %s from %s: a repeat, ignored", message_id, esp_name)
        return None
    text = replies.reply_text(message)
    record = InboundEmail(
        esp_name=esp_name,
        message_id=message_id,
        sender=replies.sender_address(message)[:254],
        subject=(message.subject or "")[:255],
        text=text.whole,
    )
    chat, reason = _chat_for(message, record)
    if reason is None and not text.new:
        reason = InboundIgnored.EMPTY
    try:
        with transaction.atomic():
            # Saved first: a repeat delivered at the same moment fails on the Message-ID before
            # it posts anything.
            record.outcome = InboundOutcome.POSTED if reason is None else InboundOutcome.IGNORED
            record.ignored_reason = reason or ""
            record.save()
            if chat is not None and reason is None:
                refused = _post(record, chat, text.new)
                if refused is not None:
                    record.outcome, record.ignored_reason = InboundOutcome.IGNORED, refused
                    record.save(update_fields=["outcome", "ignored_reason"])
    except IntegrityError:
        logger.info("inbound email %s from %s: a repeat, ignored", message_id, esp_name)
        return None
    return _logged(record)


def _post(record: InboundEmail, chat: SupportChat, content: str) -> InboundIgnored | None:
    """Post as the chat's person, in a savepoint; why not, when the widget's own rules refuse."""
    try:
        with transaction.atomic():
            record.posted = user_message_post(user=chat.user, content=content)
            record.save(update_fields=["posted"])
    except RateLimitedError:
        return InboundIgnored.RATE_LIMITED
    except PermissionDeniedError:
        return InboundIgnored.INACTIVE
    except InvalidInputError:
        return InboundIgnored.EMPTY
    return None


def _chat_for(
    message: AnymailInboundMessage, record: InboundEmail
) -> tuple[SupportChat | None, InboundIgnored | None]:
    """The chat the email replies to, and the reason to ignore it, if any (in the order a person
    looking at the email would give it); fills in the record's recipient and chat."""
    automatic = replies.automatic_reason(message)
    chat_id: uuid.UUID | None = None
    reason: InboundIgnored | None = InboundIgnored.NO_REPLY_ADDRESS
    for address in replies.recipient_addresses(message):
        if not address.lower().startswith(links.REPLY_ADDRESS_PREFIX):
            continue
        record.recipient = address[:254]
        try:
            chat_id = links.reply_address_read(address)
        except links.InvalidLinkError:
            reason = InboundIgnored.INVALID_ADDRESS
            continue
        reason = None
        break
    chat = (
        SupportChat.objects.select_related("user").filter(id=chat_id).first()
        if chat_id is not None
        else None
    )
    record.chat = chat
    if automatic is not None:
        return chat, automatic
    if reason is not None:
        return chat, reason
    if chat is None:
        return None, InboundIgnored.UNKNOWN_CHAT
    person = address_normalize(person_address(chat.user))
    if not person or record.sender != person:
        return chat, InboundIgnored.WRONG_SENDER
    return chat, None


def _logged(record: InboundEmail) -> InboundEmail:
    if record.outcome == InboundOutcome.POSTED:
        logger.info("inbound email %s: posted to chat %s", record.id, record.chat_id)
    else:
        logger.info("inbound email %s: ignored (%s)", record.id, record.ignored_reason)
    return record
