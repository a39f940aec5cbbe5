"""The admins' dashboard: server-rendered pages over the same services and selectors as REST.

The pages work without JavaScript (tabs, search, "Load more", archive and reply are links and
forms); chats/static/chats/dashboard.js makes them live over the websockets.
"""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import async_to_sync
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chats import presence, selectors, services
from chats.embed import services as embed_services
from chats.errors import (
    DeskError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from chats.http import LoggedInRequest, request_is_cross_site
from chats.models import SupportChat, SupportMessage
from chats.schemas import PersonOut
from notifications import services as notification_services

View = Callable[..., HttpResponse]


def admin_view(view: View) -> View:
    """Anonymous visitors go to the login page; the services' own errors become HTTP errors.

    Who is an admin is decided where it always is, in the selectors and services: a logged-in
    non-staff user reaches them and gets their PermissionDeniedError, as a 403. A database out
    of reach is left to desk.middleware.DatabaseUnavailableMiddleware, which answers every page.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DeskError as error:
            return _error_page(error)

    return login_required(wrapped)


def _error_page(error: DeskError) -> HttpResponse:
    """The answer chats.errors' table gives `error`, as a page."""
    # Django's own 403 and 404 pages (its handlers), as every other page of the site shows them.
    if error.status == PermissionDeniedError.status:
        raise PermissionDenied(error.detail) from error
    if error.status == NotFoundError.status:
        raise Http404(error.detail) from error
    status = error.status
    if isinstance(error, InvalidInputError) and error.location == "query":
        # A bad address (a cursor mangled in a link) is a bad request on a page, as a NUL in the
        # query string is (desk.middleware.RejectNulMiddleware); the API documents 422 for both.
        # tests/chats/test_dashboard.py::test_malformed_cursor_is_400 holds this.
        status = 400
    response = HttpResponse(error.detail, status=status, content_type="text/plain; charset=utf-8")
    if error.retry_after_header is not None:
        response["Retry-After"] = error.retry_after_header
    return response


@dataclass(frozen=True)
class Day:
    day: date
    messages: list[SupportMessage]


@admin_view
@require_GET
def chat_list(request: LoggedInRequest) -> HttpResponse:
    """One tab of the list (`?archived=1` for Archived), newest activity first, `?q=` by email,
    name or host id."""
    return _list(request)


@admin_view
@require_POST
def guest_link_create(request: LoggedInRequest) -> HttpResponse:
    """The "Start a chat with a guest" form without JavaScript (with it, REST): the list again,
    with the link to copy, or with the form as typed and the reason it was refused."""
    form = GuestLinkForm(
        name=request.POST.get("name", ""),
        email=request.POST.get("email", ""),
        send_email=request.POST.get("send_email") == "1",
    )
    try:
        link, chat_id = embed_services.guest_link_create(
            admin=request.user, name=form.name, email=form.email, send_email=form.send_email
        )
    except InvalidInputError as error:
        return _list(request, guest_form=form, guest_error=error, status=error.status)
    created = GuestLinkCreated(link.url, link.expires_at, reverse("chats:detail", args=[chat_id]))
    return _list(request, guest_link=created)


@dataclass(frozen=True)
class GuestLinkForm:
    name: str = ""
    email: str = ""
    send_email: bool = False


@dataclass(frozen=True)
class GuestLinkCreated:
    url: str
    expires_at: datetime
    chat_url: str


def _list(
    request: LoggedInRequest,
    *,
    guest_form: GuestLinkForm | None = None,
    guest_error: InvalidInputError | None = None,
    guest_link: GuestLinkCreated | None = None,
    status: int = 200,
) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    q = request.GET.get("q", "").strip()
    page = selectors.chat_list_for_admin(
        admin=request.user,
        archived=archived,
        cursor=request.GET.get("cursor") or None,
        q=q or None,
    )
    # As GET /api/admin/chats reads it (chats/api.py): the page's chats in one trip to Redis.
    online = async_to_sync(presence.chats_online)([chat.id for chat in page.chats])
    for chat in page.chats:
        chat.user_online = online[chat.id]
        # The first paint of the relative time; dashboard.js keeps it current from then on.
        # (Attributes for the template, on rows the selector annotated: not model fields.)
        activity_at = chat.last_message_at or chat.created_at
        chat.activity_at = activity_at  # type: ignore[attr-defined]
        chat.activity_ago = naturaltime(activity_at)  # type: ignore[attr-defined]
        chat.contact = _contact(chat)  # type: ignore[attr-defined]
    return render(
        request,
        "chats/chat_list.html",
        {
            "chats": page.chats,
            "archived": archived,
            "q": q,
            "active_url": _list_url(q=q),
            "archived_url": _list_url(archived=True, q=q),
            "clear_url": _list_url(archived=archived),
            "next_url": page.next_cursor
            and _list_url(archived=archived, q=q, cursor=page.next_cursor),
            "next_cursor": page.next_cursor,
            "detail_suffix": "?archived=1" if archived else "",
            "preview_length": selectors.PREVIEW_LENGTH,
            "guest_form": guest_form or GuestLinkForm(),
            "guest_error": guest_error,
            "guest_link": guest_link,
            "staff_alert_scope": notification_services.staff_alert_scope(staff=request.user).value,
        },
        status=status,
    )


@admin_view
@require_GET
def chat_detail(request: LoggedInRequest, chat_id: uuid.UUID) -> HttpResponse:
    """One conversation. Opening it marks the chat viewed, as the REST detail does, unless
    another site sent the browser here (chats/http.py): then the page is shown, nothing marked."""
    if not request_is_cross_site(request):
        services.chat_mark_viewed(admin=request.user, chat_id=chat_id)
    return _detail(request, chat_id)


@admin_view
@require_POST
def chat_reply(request: LoggedInRequest, chat_id: uuid.UUID) -> HttpResponse:
    """The reply form without JavaScript (with it, replies go over the socket or REST)."""
    content = request.POST.get("content", "")
    try:
        services.admin_reply_post(admin=request.user, chat_id=chat_id, content=content)
    except (InvalidInputError, RateLimitedError) as error:
        # The page again, the draft kept and the reason shown; the status is the table's.
        response = _detail(request, chat_id, draft=content, error=error.detail, status=error.status)
        if error.retry_after_header is not None:
            response["Retry-After"] = error.retry_after_header
        return response
    return redirect(_detail_url(request, chat_id))


@admin_view
@require_POST
def chat_set_archived(
    request: LoggedInRequest, chat_id: uuid.UUID, *, archived: bool
) -> HttpResponse:
    """The Archive / Restore button without JavaScript (with it, the REST endpoints)."""
    service = services.chat_archive if archived else services.chat_unarchive
    service(admin=request.user, chat_id=chat_id)
    return redirect(_detail_url(request, chat_id))


def _detail(
    request: LoggedInRequest,
    chat_id: uuid.UUID,
    *,
    draft: str = "",
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    chat: SupportChat = selectors.chat_summary_for_admin(admin=request.user, chat_id=chat_id)
    contact = _contact(chat)
    page = selectors.messages_page(messages=selectors.chat_messages(chat))
    user_online = async_to_sync(presence.chats_online)([chat.id])[chat.id]
    from_archived = request.GET.get("archived") == "1"
    # Days of the server's time zone (UTC): the page without JavaScript. dashboard.js groups the
    # messages again by the reader's own days, in their time zone.
    days = [
        Day(day, list(messages))
        for day, messages in itertools.groupby(
            page.messages, key=lambda message: timezone.localtime(message.created_at).date()
        )
    ]
    return render(
        request,
        "chats/chat_detail.html",
        {
            "chat": chat,
            "contact": contact,
            "who": _who(chat, contact),
            "days": days,
            "has_more": page.has_more,
            "back_url": _list_url(archived=from_archived),
            "tab_suffix": "?archived=1" if from_archived else "",
            "draft": draft,
            "error": error,
            "user_online": user_online,
            "config": {
                "chatId": str(chat.id),
                "userLabel": _who(chat, contact),
                "archived": chat.archived,
                "lastMessageId": str(page.messages[-1].id) if page.messages else None,
                "firstMessageId": str(page.messages[0].id) if page.messages else None,
                "previewLength": selectors.PREVIEW_LENGTH,
            },
        },
        status=status,
    )


def _contact(chat: SupportChat) -> PersonOut | None:
    contact = selectors.row_contact(chat)
    return None if contact is None else PersonOut.of(contact)


def _who(chat: SupportChat, contact: PersonOut | None) -> str:
    """How the page names the person: a desk user by their email, someone from the embedded
    widget by name, else the email they gave."""
    if contact is None:
        return str(chat.user_email)  # type: ignore[attr-defined]
    return contact.name or contact.email or _("Anonymous")


def _list_url(*, archived: bool = False, q: str = "", cursor: str | None = None) -> str:
    params = {"archived": "1" if archived else "", "q": q, "cursor": cursor or ""}
    query = urlencode({key: value for key, value in params.items() if value})
    return reverse("chats:list") + (f"?{query}" if query else "")


def _detail_url(request: HttpRequest, chat_id: uuid.UUID) -> str:
    # Keeps the tab the admin came from, so the back link still leads there.
    suffix = "?archived=1" if request.GET.get("archived") == "1" else ""
    return reverse("chats:detail", args=[chat_id]) + suffix
