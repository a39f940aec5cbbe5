"""The password-reset request page: Django's own, with limits, and never to a suppressed address.

Django's page emails a reset link to any account's address, as often as anyone asks. Here:
- every request takes one from the asking client's allowance and one from the allowance of the
  address asked about (DESK_PASSWORD_RESETS_PER_CLIENT / _PER_ADDRESS an hour, through
  chats/ratelimit.py's limiter, so across every process); over either, the form comes back with
  the error, status 429 and Retry-After, and nothing is sent;
- an address that bounced or complained (notifications.SuppressedAddress) is never written to;
- whether the address belongs to an account, or is suppressed, never changes the answer: the
  limits are taken before anyone is looked up, and a suppressed address gets the same "sent" page.
"""

from __future__ import annotations

import hashlib
import logging
import math
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse
from django.utils.translation import ngettext

from chats import ratelimit
from notifications.models import SuppressedAddress
from notifications.services import address_normalize

logger = logging.getLogger(__name__)

HOUR = 3600.0


def per_address() -> ratelimit.Limit:
    return ratelimit.Limit(
        "password-reset-address", settings.DESK_PASSWORD_RESETS_PER_ADDRESS, HOUR
    )


def per_client() -> ratelimit.Limit:
    return ratelimit.Limit("password-reset-client", settings.DESK_PASSWORD_RESETS_PER_CLIENT, HOUR)


def address_subject(email: str) -> str:
    """The address's rate-limit subject: every spelling that reaches the same account shares it.

    Django matches the typed address to an account case-insensitively after NFKC normalization
    (auth.forms._unicode_ci_compare), so the key folds the same way; hashed, so that Redis holds
    no addresses.
    """
    folded = unicodedata.normalize("NFKC", email.strip()).casefold()
    return hashlib.sha256(folded.encode()).hexdigest()[:32]


def reset_admit(*, client: str, address: str) -> float:
    """Take one reset request from the client's allowance, then from the address's; 0.0 if
    allowed, else seconds until one more would be. A refused client costs the address nothing."""
    wait = ratelimit.acquire_sync(per_client(), ratelimit.client_subject(client))
    if wait > 0:
        return wait
    return ratelimit.acquire_sync(per_address(), address_subject(address))


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, minus the accounts whose address bounced or complained."""

    def get_users(self, email: str) -> Iterator[Any]:
        email_field = get_user_model().get_email_field_name()
        user: AbstractBaseUser
        for user in super().get_users(email):
            address = address_normalize(getattr(user, email_field))
            if SuppressedAddress.objects.filter(address=address).exists():
                logger.info("password reset for user %s not sent: address suppressed", user.pk)
                continue
            yield user


class PasswordResetView(auth_views.PasswordResetView):
    """/accounts/password_reset/: Django's page behind the limits above."""

    form_class = PasswordResetForm

    def form_valid(self, form: auth_forms.PasswordResetForm) -> HttpResponse:
        wait = reset_admit(
            client=self.request.META.get("REMOTE_ADDR", ""), address=form.cleaned_data["email"]
        )
        if wait > 0:
            minutes = math.ceil(wait / 60)
            form.add_error(
                "email",
                ngettext(
                    "Too many password reset requests for this address or from your network. "
                    "Try again in %(count)s minute.",
                    "Too many password reset requests for this address or from your network. "
                    "Try again in %(count)s minutes.",
                    minutes,
                )
                % {"count": minutes},
            )
            response = self.form_invalid(form)
            response.status_code = 429
            # Whole seconds (RFC 9110), rounded up so that a client waiting this long gets in.
            response["Retry-After"] = str(math.ceil(wait))
            return response
        return super().form_valid(form)
