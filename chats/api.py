"""REST edge of the chat domain: parse, call the services and selectors, return the schemas.

Handlers are async so that polling, posting and the admin list never queue behind one another;
each makes one hop to a request thread for its database work (asgiref's `sync_to_async`, run by
the pool in desk/runtime/threadpool.py). Sockets use channels' `database_sync_to_async` instead
(on the pool in desk/runtime/database.py): they live outside Django's request cycle, so their hop
also closes stale database connections.
"""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.middleware.csrf import get_token
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile
from ninja.decorators import decorate_view
from ninja.security import django_auth

from chats import presence, selectors, services
from chats.attachments import services as attachment_services
from chats.attachments.uploads import limited_uploads
from chats.availability import availability_now
from chats.embed import services as embed_services
from chats.embed.api import desk_bearer
from chats.http import ApiRequest, request_is_cross_site
from chats.models import Attachment, SupportChat, SupportMessage
from chats.schemas import (
    BODY_ERRORS,
    AdminChatOut,
    AttachmentOut,
    ChatListItemOut,
    ChatListOut,
    ErrorOut,
    GuestLinkIn,
    GuestLinkOut,
    MarkReadOut,
    MessageIn,
    MessageOut,
    MessagePageOut,
    UnreadOut,
    UserChatOut,
    ValidationErrorOut,
)
from desk.i18n import request_language, time_zone_clean

router = Router()


# The user endpoints serve the widget on desk's own pages (the session) and embedded on other
# sites (a desk token, chats/embed/): the bearer is tried first, so it never needs a CSRF token.
USER_AUTH = [desk_bearer, django_auth]
USER_ERRORS: dict[int, Any] = {401: ErrorOut, 422: ValidationErrorOut}
ADMIN_ERRORS: dict[int, Any] = {**USER_ERRORS, 403: ErrorOut, 404: ErrorOut}
# Posting a message may also be refused for a body that does not parse (BODY_ERRORS), or for going
# over the user's allowance (429, with Retry-After).
POSTING_ERRORS: dict[int, Any] = {**BODY_ERRORS, 429: ErrorOut}
# An upload may also be refused for its size (413, as it arrives), its type (415, from its
# content), or the uploader's allowance (429, with Retry-After).
UPLOAD_ERRORS: dict[int, Any] = {413: ErrorOut, 415: ErrorOut, 429: ErrorOut}


class MessagesQuery(Schema):
    after: uuid.UUID | None = Field(None, description="Messages newer than this message id.")
    before: uuid.UUID | None = Field(None, description="Messages older than this message id.")
    limit: int = Field(selectors.PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)


class ChatListQuery(Schema):
    archived: bool = False
    limit: int = Field(selectors.PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=200)
    q: str | None = Field(None, max_length=254, description="A fragment of the user's email.")


# --- The user's own chat -------------------------------------------------------------------------


@router.get(
    "/support_chat", auth=USER_AUTH, response={200: UserChatOut, **USER_ERRORS}, tags=["user"]
)
async def get_chat(request: ApiRequest) -> dict[str, Any]:
    """The caller's support chat, created on first call, with its newest 50 messages.

    The answer also sets Django's `csrftoken` cookie when the visitor has none (a site that logs
    people in without Django's login form), so the widget can send X-CSRFToken on its writes.
    """
    get_token(request)
    chat = await sync_to_async(_user_chat)(request.auth)
    return {**chat, "support_online": await presence.support_online()}


@router.get(
    "/support_chat/messages",
    auth=USER_AUTH,
    response={200: MessagePageOut, **USER_ERRORS},
    tags=["user"],
)
async def list_messages(request: ApiRequest, params: Query[MessagesQuery]) -> selectors.MessagePage:
    """Messages after a message id (polling, catch-up) or before one (history), oldest first."""
    return await sync_to_async(_user_messages)(request.auth, params)


@router.post(
    "/support_chat/messages",
    auth=USER_AUTH,
    response={201: MessageOut, **USER_ERRORS, **POSTING_ERRORS},
    tags=["user"],
)
async def send_message(request: ApiRequest, payload: MessageIn) -> Status[SupportMessage]:
    """Send a message to support. A message to an archived chat reopens it.

    Each user may send DESK_MESSAGES_PER_MINUTE messages a minute (REST and websockets together);
    beyond that the answer is 429 with a Retry-After header (seconds).

    The language of `Accept-Language` and the IANA time zone of `X-Desk-Time-Zone` (both sent by
    the widget) are kept with the chat: the emails about it are written in them.
    """
    message = await sync_to_async(services.user_message_post)(
        user=request.auth,
        content=payload.content,
        attachment_ids=payload.attachment_ids,
        language=request_language(request),
        time_zone=time_zone_clean(request.headers.get("X-Desk-Time-Zone")),
    )
    return Status(201, message)


@router.post(
    "/support_chat/attachments",
    auth=USER_AUTH,
    response={201: AttachmentOut, **USER_ERRORS, **UPLOAD_ERRORS},
    tags=["user"],
)
@decorate_view(limited_uploads)
def upload_attachment(request: ApiRequest, file: File[UploadedFile]) -> Status[Attachment]:
    """Upload a file into the caller's chat (multipart/form-data, field `file`), to attach to a
    message: pass its `id` in the message's `attachment_ids`. Until then only the uploader (and
    support) can fetch it, and after a day unattached it is deleted.

    At most DESK_ATTACHMENT_MAX_BYTES (10 MB; 413 beyond, refused as it arrives). The type is
    read from the content, whatever the name says: images (PNG, JPEG, GIF, WebP; re-encoded
    without their metadata), PDF, plain text, CSV, office documents (docx, xlsx, pptx, odt,
    ods, odp, doc, xls, ppt); anything else 415. A damaged image or a decompression bomb is 422.
    DESK_UPLOADS_PER_HOUR files and DESK_UPLOAD_MB_PER_HOUR megabytes an hour (429 beyond).

    Synchronous on purpose: the multipart parsing, the image's decoding and the storage's write
    all happen on the request's thread, never on the event loop.
    """
    attachment = attachment_services.attachment_upload(user=request.auth, upload=file)
    return Status(201, attachment)


@router.get(
    "/support_chat/attachments/{attachment_id}",
    auth=USER_AUTH,
    response={200: AttachmentOut, **USER_ERRORS, 404: ErrorOut},
    tags=["user"],
)
async def get_attachment(request: ApiRequest, attachment_id: uuid.UUID) -> Attachment:
    """An attachment of the caller's chat with fresh signed URLs (those in a message expire):
    one attached to a message, or the caller's own upload. 404 for anything else."""
    return await sync_to_async(selectors.attachment_for_user)(
        user=request.auth, attachment_id=attachment_id
    )


@router.patch(
    "/support_chat/mark_read",
    auth=USER_AUTH,
    response={200: MarkReadOut, **USER_ERRORS},
    tags=["user"],
)
async def mark_read(request: ApiRequest) -> dict[str, int]:
    """Mark every unread reply from support as read."""
    marked = await sync_to_async(services.messages_mark_read)(user=request.auth)
    return {"marked": marked}


def _user_chat(user: User) -> dict[str, Any]:
    chat = services.chat_for_user(user=user)
    page = selectors.messages_page(messages=selectors.chat_messages(chat))
    return {
        "id": chat.id,
        "archived": chat.archived,
        "admin_viewed_at": chat.admin_viewed_at,
        "unread_count": selectors.unread_reply_count(
            chat=chat, through=page.messages[-1] if page.messages else None
        ),
        "messages": page.messages,
        "has_more": page.has_more,
        "availability": availability_now(),
    }


def _user_messages(user: User, params: MessagesQuery) -> selectors.MessagePage:
    return selectors.messages_page(
        messages=selectors.user_messages(user),
        after=params.after,
        before=params.before,
        limit=params.limit,
    )


# --- Admins --------------------------------------------------------------------------------------


@router.get("/admin/chats", response={200: ChatListOut, **ADMIN_ERRORS}, tags=["admin"])
async def list_chats(request: ApiRequest, params: Query[ChatListQuery]) -> dict[str, Any]:
    """One tab of the dashboard (active or archived), newest activity first, keyset-paginated."""
    page = await sync_to_async(selectors.chat_list_for_admin)(
        admin=request.auth,
        archived=params.archived,
        limit=params.limit,
        cursor=params.cursor,
        q=params.q,
    )
    online = await presence.chats_online(chat.id for chat in page.chats)
    for chat in page.chats:
        chat.user_online = online[chat.id]
    return {"items": page.chats, "next_cursor": page.next_cursor}


@router.get("/admin/unread", response={200: UnreadOut, **ADMIN_ERRORS}, tags=["admin"])
async def unread(request: ApiRequest) -> dict[str, int]:
    """How many active chats wait for an admin. Reading it marks nothing."""
    count = await sync_to_async(selectors.unread_chat_count)(admin=request.auth)
    return {"unread_chats": count}


@router.get("/admin/chats/{chat_id}", response={200: AdminChatOut, **ADMIN_ERRORS}, tags=["admin"])
async def get_admin_chat(request: ApiRequest, chat_id: uuid.UUID) -> dict[str, Any]:
    """A chat with its newest 50 messages. Opening it marks it viewed by the caller.

    Unless another site sent the browser here (Sec-Fetch-Site other than same-origin or none, or
    else a foreign Origin or Referer): then the chat is returned and nothing is marked.
    """
    mark_viewed = not request_is_cross_site(request)
    online = await presence.chats_online([chat_id])
    return await sync_to_async(_admin_chat)(
        request.auth, chat_id, mark_viewed=mark_viewed, user_online=online[chat_id]
    )


@router.get(
    "/admin/chats/{chat_id}/messages",
    response={200: MessagePageOut, **ADMIN_ERRORS},
    tags=["admin"],
)
async def list_admin_messages(
    request: ApiRequest, chat_id: uuid.UUID, params: Query[MessagesQuery]
) -> selectors.MessagePage:
    """A chat's messages after or before a message id, oldest first."""
    return await sync_to_async(_admin_messages)(request.auth, chat_id, params)


@router.post(
    "/admin/chats/{chat_id}/messages",
    response={201: MessageOut, **ADMIN_ERRORS, **POSTING_ERRORS},
    tags=["admin"],
)
async def send_reply(
    request: ApiRequest, chat_id: uuid.UUID, payload: MessageIn
) -> Status[SupportMessage]:
    """Reply to the user. The same per-user message allowance as the widget's (429 beyond it)."""
    message = await sync_to_async(services.admin_reply_post)(
        admin=request.auth,
        chat_id=chat_id,
        content=payload.content,
        attachment_ids=payload.attachment_ids,
    )
    return Status(201, message)


@router.post(
    "/admin/chats/{chat_id}/attachments",
    response={201: AttachmentOut, **ADMIN_ERRORS, **UPLOAD_ERRORS},
    tags=["admin"],
)
@decorate_view(limited_uploads)
def upload_admin_attachment(
    request: ApiRequest, chat_id: uuid.UUID, file: File[UploadedFile]
) -> Status[Attachment]:
    """Upload a file into the chat, to attach to a reply (`attachment_ids`): the same rules,
    limits and allowance as the user's upload (the allowance is the admin's own)."""
    attachment = attachment_services.attachment_upload(
        user=request.auth, upload=file, chat_id=chat_id
    )
    return Status(201, attachment)


@router.get(
    "/admin/chats/{chat_id}/attachments/{attachment_id}",
    response={200: AttachmentOut, **ADMIN_ERRORS},
    tags=["admin"],
)
async def get_admin_attachment(
    request: ApiRequest, chat_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment:
    """An attachment of the chat (uploads not yet sent included) with fresh signed URLs."""
    return await sync_to_async(selectors.attachment_for_admin)(
        admin=request.auth, chat_id=chat_id, attachment_id=attachment_id
    )


@router.post(
    "/admin/chats/{chat_id}/archive",
    response={200: ChatListItemOut, **ADMIN_ERRORS},
    tags=["admin"],
)
async def archive_chat(request: ApiRequest, chat_id: uuid.UUID) -> SupportChat:
    """Move the chat to the Archived tab."""
    return await sync_to_async(_admin_change)(services.chat_archive, request.auth, chat_id)


@router.post(
    "/admin/chats/{chat_id}/unarchive",
    response={200: ChatListItemOut, **ADMIN_ERRORS},
    tags=["admin"],
)
async def unarchive_chat(request: ApiRequest, chat_id: uuid.UUID) -> SupportChat:
    """Move the chat back to the Active tab."""
    return await sync_to_async(_admin_change)(services.chat_unarchive, request.auth, chat_id)


@router.post(
    "/admin/guest_links",
    response={201: GuestLinkOut, **ADMIN_ERRORS, **BODY_ERRORS},
    tags=["admin"],
)
async def create_guest_link(request: ApiRequest, payload: GuestLinkIn) -> Status[dict[str, Any]]:
    """Start a conversation with a guest: a chat for this name (and email), and the link that
    opens it on desk's own full-page chat, valid DESK_GUEST_LINK_MAX_AGE seconds. With
    `send_email`, the link is also emailed to `email` (422 without one)."""
    link, chat_id = await sync_to_async(embed_services.guest_link_create)(
        admin=request.auth, name=payload.name, email=payload.email, send_email=payload.send_email
    )
    return Status(201, {"url": link.url, "chat_id": chat_id, "expires_at": link.expires_at})


def _admin_chat(
    admin: User, chat_id: uuid.UUID, *, mark_viewed: bool, user_online: bool
) -> dict[str, Any]:
    if mark_viewed:
        services.chat_mark_viewed(admin=admin, chat_id=chat_id)
    chat = selectors.chat_summary_for_admin(admin=admin, chat_id=chat_id)
    chat.user_online = user_online
    page = selectors.messages_page(messages=selectors.chat_messages(chat))
    summary = dict(ChatListItemOut.from_orm(chat))
    return {**summary, "messages": page.messages, "has_more": page.has_more}


def _admin_messages(
    admin: User, chat_id: uuid.UUID, params: MessagesQuery
) -> selectors.MessagePage:
    chat = selectors.chat_for_admin(admin=admin, chat_id=chat_id)
    return selectors.messages_page(
        messages=selectors.chat_messages(chat),
        after=params.after,
        before=params.before,
        limit=params.limit,
    )


def _admin_change(service: Any, admin: User, chat_id: uuid.UUID) -> SupportChat:
    service(admin=admin, chat_id=chat_id)
    return selectors.chat_summary_for_admin(admin=admin, chat_id=chat_id)
