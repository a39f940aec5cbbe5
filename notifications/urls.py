"""Mounted under /email/ by desk/urls.py.

The unsubscribe path is kept short on purpose: it goes into the List-Unsubscribe header, which
must fit on one plain-ASCII line (see notifications.checks).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError, AnymailImproperlyInstalled
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import URLPattern, include, path
from django.views.decorators.csrf import csrf_exempt

from notifications import views

app_name = "notifications"
logger = logging.getLogger(__name__)


def _needs_webhook_secret(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    # Without ANYMAIL_WEBHOOK_SECRET anymail would take unauthenticated posts, and anyone could
    # suppress any address: the webhooks stay off until the secret is set.
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            raise Http404("Provider webhooks are off until ANYMAIL_WEBHOOK_SECRET is set.")
        try:
            return view(request, *args, **kwargs)
        except (AnymailConfigurationError, AnymailImproperlyInstalled):
            # Another provider's webhook (its signing key unset, its package not installed):
            # anymail raises before checking anything, and anyone's post would be a 500.
            raise Http404("No webhook for this provider here.") from None
        except (ValueError, LookupError, TypeError, AttributeError):
            # A payload anymail cannot parse (malformed JSON, fields of the wrong type) from a
            # caller that had the secret: a bad request, not a server error. Logged in full, in
            # case it is a provider's new format. desk's own receiver raises none of these
            # (receivers.InboundReceiverError): its failures stay 500s, which providers retry.
            logger.exception("%s: a webhook payload that could not be read", request.path)
            return HttpResponseBadRequest("The webhook's payload could not be read.")

    return csrf_exempt(guarded)


webhook_patterns = [
    URLPattern(
        pattern.pattern, _needs_webhook_secret(pattern.callback), pattern.default_args, pattern.name
    )
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern)
]

urlpatterns = [
    path("open/<str:token>/", views.open_chat, name="open"),
    path("confirm/<str:token>/", views.confirm_address, name="confirm"),
    path("u/<str:token>", views.unsubscribe, name="unsubscribe"),
    # Provider webhooks, e.g. /email/anymail/postmark/tracking/ (see anymail's docs per provider).
    path("anymail/", include((webhook_patterns, anymail_urls.app_name))),
]
