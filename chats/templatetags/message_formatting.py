"""`{% load message_formatting %}` and `{{ message.content|formatted }}`: chats/formatting.py."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from chats.formatting import format_message

register = template.Library()


@register.filter(is_safe=True)
def formatted(content: str | None) -> SafeString:
    """The message with its light formatting, escaped (an empty template slot for None)."""
    return format_message(content or "")
