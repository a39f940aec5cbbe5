from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from chats.errors import PermissionDeniedError


def require_admin(user: AbstractBaseUser | AnonymousUser) -> None:
    """Admins are active staff users; anyone else is refused."""
    if not (user.is_active and getattr(user, "is_staff", False)):
        raise PermissionDeniedError("Only support staff may do this.")
