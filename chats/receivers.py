"""Signal receivers: where chats listens to Django's accounts.

Open sockets follow the account (chats/access.py): a logout, a deactivation, a password change, a
lost staff flag or a deleted user tells the user's sockets, on every process, to close or re-check.
A contact's user (chats/embed/: someone chatting through the embedded widget) is refused a staff
flag or a password on save (`contact_user_guard`).
Connected in ChatsConfig.ready().
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from chats import access
from chats.errors import PermissionDeniedError
from chats.models import Contact

CONTACT_FORBIDDEN_FIELDS = frozenset({"is_staff", "is_superuser", "password"})


def user_logged_out(
    sender: Any, *, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    # Django sends this before it flushes the session, so the message names the session: a
    # socket re-checking now would still find it valid.
    if user is None or user.pk is None:
        return
    session = getattr(request, "session", None)
    access.access_changed(user.pk, ended_session=getattr(session, "session_key", None))


def user_pre_save(sender: Any, *, instance: User, raw: bool = False, **kwargs: Any) -> None:
    # Compared with the stored row, not with what this instance was loaded with: the instance may
    # be stale. One query, and only for saves that may touch a watched field.
    update_fields = kwargs.get("update_fields")
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(access.WATCHED_FIELDS):
        return
    stored = (
        sender._default_manager.using(kwargs.get("using"))
        .filter(pk=instance.pk)
        .values(*access.WATCHED_FIELDS)
        .first()
    )
    instance._desk_access_ends = stored is not None and (  # type: ignore[attr-defined]
        (stored["is_active"] and not instance.is_active)
        or (stored["is_staff"] and not getattr(instance, "is_staff", False))
        or stored["password"] != instance.password
    )


def contact_user_guard(sender: Any, *, instance: User, raw: bool = False, **kwargs: Any) -> None:
    """A contact's user (chats/embed/) is never staff and never has a password, so that it can
    never sign in to the dashboard, the Django admin or any desk page: such a save is refused.
    One query, and only for a save that may give a user one of these."""
    if raw or instance._state.adding or instance.pk is None:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not set(update_fields) & CONTACT_FORBIDDEN_FIELDS:
        return
    if not (instance.is_staff or instance.is_superuser or instance.has_usable_password()):
        return
    if Contact.objects.using(kwargs.get("using")).filter(user_id=instance.pk).exists():
        raise PermissionDeniedError(
            gettext_lazy(
                "This user chats through the embedded widget: it can have no staff status and no "
                "password."
            )
        )


def user_post_save(sender: Any, *, instance: User, **kwargs: Any) -> None:
    if instance.__dict__.pop("_desk_access_ends", False):
        user_pk = instance.pk
        transaction.on_commit(lambda: access.access_changed(user_pk), using=kwargs.get("using"))


def user_post_delete(sender: Any, *, instance: User, **kwargs: Any) -> None:
    user_pk = instance.pk
    transaction.on_commit(lambda: access.access_changed(user_pk), using=kwargs.get("using"))
