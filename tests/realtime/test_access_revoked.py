"""Ended access closes open sockets at once, on the Redis layer as in production (chats.access).

Each case allows REVOKED_WITHIN seconds from the change to the close; none waits for a periodic
re-check (those come a minute or ten later, see test_access_recheck.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from chats.models import SupportChat
from tests.realtime.conftest import ADMIN_PATH, OpenSocket, chat_path, logged_in

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

in_thread = database_sync_to_async
User = get_user_model()

REVOKED_WITHIN = 2.0
NEW_PASSWORD = "a-brand-new-Passphrase-42"


async def browser(user: Any) -> Client:
    return await in_thread(logged_in)(user)


async def log_out(session: Client) -> None:
    response = await in_thread(session.post)("/accounts/logout/")
    assert response.status_code == 302


async def change_password(session: Client) -> Any:
    return await in_thread(session.post)(
        "/accounts/password_change/",
        {
            "old_password": "pw-for-tests",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )


async def save(user: Any, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(user, name, value)
    await in_thread(user.save)()


# --- Logout --------------------------------------------------------------------------------------


async def test_logging_out_closes_that_sessions_socket_with_4401(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    session = await browser(user)
    widget = await ws(chat_path(chat.id), session=session)
    await log_out(session)
    assert await widget.close_code(within=REVOKED_WITHIN) == 4401


async def test_logging_out_leaves_the_users_other_sessions_sockets_open(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    leaving, staying = await browser(user), await browser(user)
    await ws(chat_path(chat.id), session=leaving)
    other_tab = await ws(chat_path(chat.id), session=staying)
    await log_out(leaving)
    await other_tab.send(action="send_message", content="still here")
    assert (await other_tab.event())["message"]["content"] == "still here"


async def test_a_logout_while_the_socket_is_opening_still_closes_it(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    # The auth middleware loads the user as the application starts; the socket joins the user's
    # group only on the connect frame. A logout in between is missed by the group, not the mark.
    session = await browser(user)

    async def log_out_after_the_user_is_loaded() -> None:
        await asyncio.sleep(1.0)
        await log_out(session)

    widget = await ws(
        chat_path(chat.id), session=session, before_handshake=log_out_after_the_user_is_loaded
    )
    assert await widget.close_code(within=REVOKED_WITHIN) == 4401


# --- The account ---------------------------------------------------------------------------------


async def test_deactivating_a_user_closes_their_sockets_with_4401(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await save(user, is_active=False)
    assert await widget.close_code(within=REVOKED_WITHIN) == 4401


async def test_a_deactivation_while_the_socket_is_opening_still_closes_it(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    async def deactivate_after_the_user_is_loaded() -> None:
        await asyncio.sleep(1.0)
        await save(user, is_active=False)

    widget = await ws(
        chat_path(chat.id), user, before_handshake=deactivate_after_the_user_is_loaded
    )
    assert await widget.close_code(within=REVOKED_WITHIN) == 4401


async def test_deleting_a_user_closes_their_sockets_with_4401(
    ws: OpenSocket, redis_layer: str, admin: Any
) -> None:
    dashboard = await ws(ADMIN_PATH, admin)
    await in_thread(admin.delete)()
    assert await dashboard.close_code(within=REVOKED_WITHIN) == 4401


async def test_a_password_change_closes_the_users_sockets_in_other_sessions(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    changing, elsewhere = await browser(user), await browser(user)
    other_device = await ws(chat_path(chat.id), session=elsewhere)
    assert (await change_password(changing)).status_code == 302
    assert await other_device.close_code(within=REVOKED_WITHIN) == 4401


async def test_a_password_change_closes_the_changing_sessions_own_sockets_too(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    # Django keeps the changing session logged in, but under a new key: a socket opened with
    # the old one can no longer find its session.
    changing = await browser(user)
    same_tab = await ws(chat_path(chat.id), session=changing)
    assert (await change_password(changing)).status_code == 302
    assert await same_tab.close_code(within=REVOKED_WITHIN) == 4401


async def test_the_session_that_changed_its_password_can_open_a_socket_again(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    changing = await browser(user)
    assert (await change_password(changing)).status_code == 302
    assert (await in_thread(changing.get)("/api/support_chat")).status_code == 200
    reopened = await ws(chat_path(chat.id), session=changing)
    await reopened.send(action="send_message", content="with my new password")
    assert (await reopened.event())["message"]["content"] == "with my new password"


async def test_losing_staff_status_closes_the_admins_dashboard_with_4403(
    ws: OpenSocket, redis_layer: str, admin: Any
) -> None:
    dashboard = await ws(ADMIN_PATH, admin)
    await save(admin, is_staff=False)
    assert await dashboard.close_code(within=REVOKED_WITHIN) == 4403


async def test_losing_staff_status_closes_the_admins_socket_on_a_users_chat_with_4403(
    ws: OpenSocket, redis_layer: str, admin: Any, chat: SupportChat
) -> None:
    console = await ws(chat_path(chat.id), admin)
    await save(admin, is_staff=False)
    assert await console.close_code(within=REVOKED_WITHIN) == 4403


async def test_a_user_save_that_ends_no_access_leaves_their_sockets_open(
    ws: OpenSocket, redis_layer: str, user: Any, chat: SupportChat
) -> None:
    widget = await ws(chat_path(chat.id), user)
    await save(user, email="ann.new@example.com", first_name="Ann")
    await browser(user)  # another login: last_login saved
    await widget.send(action="send_message", content="still here")
    assert (await widget.event())["message"]["content"] == "still here"


async def test_an_action_the_service_refuses_for_a_demoted_admin_closes_the_socket(
    ws: OpenSocket, redis_layer: str, admin: Any, chat: SupportChat
) -> None:
    # A bulk update sends no signal: the service's own check is what stops the reply.
    console = await ws(chat_path(chat.id), admin)
    await in_thread(User.objects.filter(pk=admin.pk).update)(is_staff=False)
    await console.send(action="send_message", content="one last reply", request_id="r-1")
    refused = await console.event()
    assert (refused["type"], refused["code"], refused["request_id"]) == (
        "error",
        "forbidden",
        "r-1",
    )
    assert await console.close_code(within=REVOKED_WITHIN) == 4403
    assert not await in_thread(chat.messages.exists)()
