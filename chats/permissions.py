from __future__ import annotations

import enum
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from chats.errors import PermissionDeniedError
from chats.models import SenderType


def require_admin(user: User | AnonymousUser) -> None:
    """Admins are active staff users; anyone else is refused."""
    if not is_admin(user):
        raise PermissionDeniedError(gettext_lazy("Only support staff may do this."))


def is_admin(user: User | AnonymousUser) -> bool:
    return bool(user.is_active and getattr(user, "is_staff", False))


def require_current_admin(admin: User) -> None:
    """`admin` is an admin as the database has it now: call inside the service's transaction.

    A socket holds the user it loaded when it opened; a write must not trust that copy (the
    account may have been deactivated or demoted since). One primary-key query.
    """
    require_admin(admin)
    if not _users().filter(pk=admin.pk, is_active=True, is_staff=True).exists():
        raise PermissionDeniedError(gettext_lazy("Only support staff may do this."))


def _users() -> QuerySet[Any]:
    return get_user_model()._default_manager.all()


class Role(enum.StrEnum):
    """Which side of the conversation a socket is on; the same words as a message's sender_type."""

    USER = SenderType.USER.value
    ADMIN = SenderType.ADMIN.value
