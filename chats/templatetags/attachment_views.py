"""`{% load attachment_views %}`: a message's files as the dashboard's pages show them
(chats/templates/chats/_message.html), with URLs signed for the person viewing the page.

The twin of DeskLive.attachments in chats/static/chats/widget.js, which draws the same elements
live: the same size text (`file_size`), kind ("PDF") and preview size (`preview_size`), so a
message reads the same whether the server or the browser drew it (tests/browser/
test_attachments.py compares the two).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django import template

from chats import selectors
from chats.attachments.links import attachment_links
from chats.models import SupportMessage

register = template.Library()

# The box an image preview fits in, in CSS pixels (PREVIEW_BOX in widget.js).
PREVIEW_BOX = 240
SIZE_UNITS = ("KB", "MB", "GB")


@dataclass(frozen=True)
class AttachmentView:
    id: str
    name: str
    size: int
    size_text: str
    # What the file is, from its name's extension ("PDF"): desk names every file after its type.
    kind: str
    content_type: str
    url: str | None
    thumbnail_url: str | None
    width: int | None
    height: int | None
    preview_width: int
    preview_height: int

    @property
    def is_image(self) -> bool:
        return bool(self.thumbnail_url) and bool(self.width) and bool(self.height)


def file_size(size: int) -> str:
    """ "312 bytes", "4.7 KB", "48 KB", "1.2 MB": DeskLive.size, digit for digit."""
    if size < 1024:
        return "1 byte" if size == 1 else f"{size} bytes"
    value = size / 1024
    unit = 0
    while value >= 1024 and unit < len(SIZE_UNITS) - 1:
        value /= 1024
        unit += 1
    if value < 10:
        # Rounded half up, as widget.js rounds (Python's round() would go to the even digit).
        tenths = math.floor(value * 10 + 0.5)
        number = f"{tenths // 10}.{tenths % 10}" if tenths % 10 else str(tenths // 10)
        return f"{number} {SIZE_UNITS[unit]}"
    return f"{math.floor(value + 0.5)} {SIZE_UNITS[unit]}"


def file_kind(name: str) -> str:
    dot = name.rfind(".")
    return name[dot + 1 :].upper() if dot > 0 else ""


def preview_size(width: int, height: int) -> tuple[int, int]:
    """The image's proportions, at most PREVIEW_BOX either way: the preview's width and height
    attributes, so the thread does not jump as thumbnails load."""
    scale = min(1.0, PREVIEW_BOX / max(width, height))
    return max(1, math.floor(width * scale + 0.5)), max(1, math.floor(height * scale + 0.5))


@register.simple_tag
def attachment_views(message: SupportMessage | None, viewer: Any) -> list[AttachmentView]:
    """The message's files, oldest first, with URLs for `viewer` (the page's user); none for a
    template's empty message."""
    if message is None:
        return []
    viewer_id = getattr(viewer, "pk", None)
    views = []
    for attachment in selectors.message_attachments(message):
        links = attachment_links(
            attachment.id,
            is_image=attachment.is_image,
            viewer_id=viewer_id if isinstance(viewer_id, int) else None,
        )
        width, height = attachment.width, attachment.height
        preview = preview_size(width, height) if width and height else (0, 0)
        views.append(
            AttachmentView(
                id=str(attachment.id),
                name=attachment.name,
                size=attachment.size,
                size_text=file_size(attachment.size),
                kind=file_kind(attachment.name),
                content_type=attachment.content_type,
                url=links["url"],
                thumbnail_url=links["thumbnail_url"],
                width=width,
                height=height,
                preview_width=preview[0],
                preview_height=preview[1],
            )
        )
    return views
