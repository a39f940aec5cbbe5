"""desk's own full-page chat, for a guest support invited with a link (`/chat/<token>/`).

The page is the widget in its full-page mode on desk's own origin: it trades the link's token for
a desk token (POST /api/embed/token with `guest_link`) like any embedded widget. The token is
checked here first, so that a bad or expired link gets a clear page rather than an empty chat.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from chats.embed import services
from chats.errors import UnauthenticatedError


@require_safe
def guest_chat(request: HttpRequest, token: str) -> HttpResponse:
    try:
        contact = services.guest_by_link(token)
    except UnauthenticatedError as refused:
        return TemplateResponse(
            request, "chats/guest_chat.html", {"refused": refused.detail}, status=404
        )
    context = {"token": token, "name": contact.name, "desk_url": settings.SITE_URL}
    response = TemplateResponse(request, "chats/guest_chat.html", context)
    # The link is a credential: never cached, never sent on as a Referer.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
