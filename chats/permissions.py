from __future__ import annotations

import enum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from chats.errors import PermissionDeniedError
from chats.models import SenderType


def require_admin(user: AbstractBaseUser | AnonymousUser) -> None:
    """Admins are active staff users; anyone else is refused."""
    if not (user.is_active and getattr(user, "is_staff", False)):
        raise PermissionDeniedError("Only support staff may do this.")


class Role(enum.StrEnum):
    """Which side of the conversation a socket is on; the same words as a message's sender_type."""

    USER = SenderType.USER.value
    ADMIN = SenderType.ADMIN.value
