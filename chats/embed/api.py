"""REST for the embedded widget, under /api/embed/ (docs/embed.md).

The widget on a host page trades its credential (the host's identity token, a guest's secret, a
guest link) for a desk token here, then uses the user endpoints of chats/api.py with it as
`Authorization: Bearer`. CORS lets DESK_EMBED_ORIGINS call both (desk/settings.py, CORS_*).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Router, Status
from ninja.security import HttpBearer

from chats import presence
from chats.availability import availability_now
from chats.embed import services, tokens
from chats.errors import UnauthenticatedError
from chats.http import ApiRequest
from chats.models import Contact, SupportChat
from chats.schemas import (
    BODY_ERRORS,
    ErrorOut,
    GuestIn,
    GuestOut,
    PersonIn,
    PersonOut,
    TokenIn,
    TokenOut,
    UnauthenticatedOut,
    ValidationErrorOut,
    WidgetAvailabilityOut,
)


class DeskBearer(HttpBearer):
    """`Authorization: Bearer <desk token>`: an embedded widget's person. A header with another
    scheme, or none, leaves the request to the next authentication (the session)."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        return tokens.desk_token_user(token)


desk_bearer = DeskBearer()

router = Router(tags=["embed"])

EXCHANGE_ERRORS: dict[int, Any] = {401: UnauthenticatedOut, 422: ValidationErrorOut, **BODY_ERRORS}


@router.post("/token", auth=None, response={200: TokenOut, **EXCHANGE_ERRORS})
async def token(request: HttpRequest, payload: TokenIn) -> dict[str, Any]:
    """Trade a credential for a desk token: `identity` (the host's JWT), `guest_secret`, or
    `guest_link`. With both `identity` and `guest_secret`, the guest's chat joins the person's."""
    exchange = await sync_to_async(services.token_exchange)(
        identity=payload.identity,
        guest_secret=payload.guest_secret,
        guest_link=payload.guest_link,
    )
    return _token_out(exchange)


@router.post(
    "/guests",
    auth=None,
    response={201: GuestOut, 403: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut, **BODY_ERRORS},
)
async def guest_create(request: HttpRequest, payload: GuestIn) -> Status[dict[str, Any]]:
    """A new guest (the widget calls this at a visitor's first message, never on a page view).
    Limited per client address (DESK_GUESTS_PER_HOUR); 403 when DESK_GUESTS is off."""
    guest = await sync_to_async(services.guest_create)(
        client=request.META.get("REMOTE_ADDR", ""), name=payload.name, email=payload.email
    )
    issued = tokens.desk_token_issue(guest.contact.user)
    out = _token_out(services.Exchange(guest.contact, issued, None))
    return Status(201, {**out, "guest_secret": guest.secret})


@router.get("/availability", auth=None, response={200: WidgetAvailabilityOut})
async def availability(request: HttpRequest) -> dict[str, Any]:
    """Business hours, the widget's texts and whether support is online, for anyone: a widget
    asks before its visitor has a chat (to hide its button from guests while closed)."""
    now = await sync_to_async(availability_now)()
    return {**asdict(now), "support_online": await presence.support_online()}


@router.get("/me", auth=desk_bearer, response={200: TokenOut, 401: UnauthenticatedOut})
async def me(request: ApiRequest) -> dict[str, Any]:
    """Who the desk token is, a renewed token, and their chat (null before the first message).
    The widget calls it to renew its token before the old one runs out."""
    return await sync_to_async(_me)(request.auth)


@router.patch(
    "/me",
    auth=desk_bearer,
    response={
        200: PersonOut,
        401: UnauthenticatedOut,
        403: ErrorOut,
        422: ValidationErrorOut,
        **BODY_ERRORS,
    },
)
async def me_update(request: ApiRequest, payload: PersonIn) -> dict[str, Any]:
    """A guest gives a name and an email address; reply emails go to the address once the guest
    confirmed it (a link is emailed). 403 for an identified person: their site sets these."""
    contact = await sync_to_async(services.contact_update)(
        user=request.auth, name=payload.name, email=payload.email
    )
    return PersonOut.of(contact).model_dump()


def _me(user: User) -> dict[str, Any]:
    contact = Contact.objects.filter(user=user).first()
    if contact is None:  # desk_bearer only admits contacts; a deletion in between.
        raise UnauthenticatedError(tokens.PERSON_GONE, reason="token_invalid")
    chat_id = SupportChat.objects.filter(user=user).values_list("id", flat=True).first()
    return _token_out(services.Exchange(contact, tokens.desk_token_issue(user), chat_id))


def _token_out(exchange: services.Exchange) -> dict[str, Any]:
    return {
        "token": exchange.issued.token,
        "expires_in": exchange.issued.expires_in,
        "person": PersonOut.of(exchange.contact).model_dump(),
        "chat_id": exchange.chat_id,
        "merged_messages": exchange.merged_messages,
    }
