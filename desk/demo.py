"""The demo host page: a pretend customer site that embeds the chat widget with one script tag."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from chats.management.commands import seed_demo


def home(request: HttpRequest) -> HttpResponse:
    # The demo logins only exist where seed_demo may run: in DEBUG.
    demo = (
        {
            "password": seed_demo.DEMO_PASSWORD,
            "admin": seed_demo.ADMIN_EMAIL,
            "customers": list(seed_demo.CONVERSATIONS),
        }
        if settings.DEBUG
        else None
    )
    return TemplateResponse(request, "demo.html", {"demo": demo})
