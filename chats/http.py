"""Whether a GET may have its side effects: not when another site sent the browser here.

Opening a chat marks it viewed (an audit row, a `chat_viewed` broadcast to the other admins). The
session cookie is SameSite=Lax, so a link on another site, or a page that navigates the admin's
browser, arrives logged in: without this check any site could make an admin "view" a chat. Such a
request is still answered (the page, the JSON); only its side effect is skipped.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.http import HttpRequest

from desk.runtime.origins import origin_trusted


class ApiRequest(HttpRequest):
    """A request to an authenticated API operation: django-ninja sets `auth` to the user."""

    auth: User


class LoggedInRequest(HttpRequest):
    """A request to a page behind login_required: `user` is a real account, never anonymous."""

    user: User


# Sec-Fetch-Site values a request may act on: from desk's own pages, or typed into the address bar
# (or a bookmark). "same-site" is left out: a sibling subdomain can be another application.
ACTING_FETCH_SITES = frozenset({"same-origin", "none"})


def request_is_cross_site(request: HttpRequest) -> bool:
    """True when the browser says another site started the request, or its Origin shows it.

    - Sec-Fetch-Site, which browsers send and page scripts cannot set, decides when present: only
      "same-origin" and "none" are desk's own.
    - Without it (older browsers), the Origin header, or else the Referer's origin, must be one
      Django's CSRF check accepts: the request's own origin or one of CSRF_TRUSTED_ORIGINS.
    - A request with none of these (an API client, curl) is not cross-site.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in ACTING_FETCH_SITES
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if referer is None:
            return False
        origin = _origin_of(referer)
    # Django's own rule, so the two can never disagree about which origins are desk's.
    return origin is None or not origin_trusted(request, origin)


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"
