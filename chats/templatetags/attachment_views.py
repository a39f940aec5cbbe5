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

from babel.numbers import format_decimal
from django import template
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy, ngettext

from chats import selectors
from chats.attachments.links import attachment_links
from chats.models import SupportMessage

register = template.Library()

# The box an image preview fits in, in CSS pixels (PREVIEW_BOX in widget.js).
PREVIEW_BOX = 240
SIZE_UNITS = (
    # Translators: a file's size in kilobytes, megabytes or gigabytes (1 KB is 1,024 bytes).
    gettext_lazy("%(size)s KB"),
    gettext_lazy("%(size)s MB"),
    gettext_lazy("%(size)s GB"),
)


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


def _digits(value: float) -> str:
    """The number as Intl.NumberFormat writes it with at most one decimal and no grouping:
    "4.7", "4,7" in German."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return format_decimal(value, format="0.#", locale=language.replace("-", "_"))


def file_size(size: int) -> str:
    """ "312 bytes", "4.7 KB", "48 KB", "1.2 MB": DeskLive.size, digit for digit, in the active
    language ("4,7 KB" in German)."""
    if size < 1024:
        return ngettext("%(count)s byte", "%(count)s bytes", size) % {"count": _digits(size)}
    value = size / 1024
    unit = 0
    while value >= 1024 and unit < len(SIZE_UNITS) - 1:
        value /= 1024
        unit += 1
    # Rounded half up, as widget.js rounds (Python's round() would go to the even digit): to
    # tenths below 10, to units above.
    rounded = math.floor(value * 10 + 0.5) / 10 if value < 10 else math.floor(value + 0.5)
    return str(SIZE_UNITS[unit]) % {"size": _digits(rounded)}


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
