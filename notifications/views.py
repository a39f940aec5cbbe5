"""The pages desk's emails link to: back into the chat, out of reply emails, and the link that
confirms a guest's address.

Each page is written in the language of the chat its link names, when that is known (the person
read the email in it), else in the browser's (LocaleMiddleware)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications import links, services
from notifications.models import ClickOutcome


@require_http_methods(["GET", "HEAD"])
def open_chat(request: HttpRequest, token: str) -> HttpResponse:
    """The email's button: marks its replies read and opens the widget on the host page.

    HEAD gets the same answer and changes nothing: link checkers and mailbox scanners send it.
    """
    try:
        opened = services.reply_email_open(
            token=token, user=request.user, act=request.method != "HEAD"
        )
    except links.ExpiredLinkError:
        return _link_problem(request, expired=True, language=services.open_link_language(token))
    except links.InvalidLinkError:
        return _link_problem(request, expired=False)
    if opened.outcome == ClickOutcome.LOGIN_REQUIRED:
        return redirect_to_login(request.get_full_path())
    if opened.outcome == ClickOutcome.OTHER_USER:
        return _page(
            request,
            "notifications/link_other_user.html",
            {"site_url": settings.SITE_URL},
            status=403,
            language=services.open_link_language(token),
        )
    return HttpResponseRedirect(opened.location)


CONFIRMATION_STATUS = {
    services.Confirmation.CONFIRMED: 200,
    # The link is void: it names an address the guest no longer uses.
    services.Confirmation.ADDRESS_CHANGED: 409,
    services.Confirmation.GONE: 410,
}


@require_http_methods(["GET", "HEAD"])
def confirm_address(request: HttpRequest, token: str) -> HttpResponse:
    """The confirmation email's button: the guest's address is confirmed for reply emails.

    HEAD gets the same answer and changes nothing: mail scanners send it. (A scanner's GET
    confirms the address, which is no worse: the link went to that address.)
    """
    try:
        confirmation = services.address_confirm(token=token, act=request.method != "HEAD")
    except links.ExpiredLinkError:
        return _confirm_problem(request, expired=True)
    except links.InvalidLinkError:
        return _confirm_problem(request, expired=False)
    return _page(
        request,
        "notifications/address_confirmed.html",
        {"outcome": confirmation.value, "site_url": links.contact_site_url()},
        status=CONFIRMATION_STATUS[confirmation],
        language=services.confirm_link_language(token),
    )


def _confirm_problem(request: HttpRequest, *, expired: bool) -> HttpResponse:
    return _page(
        request,
        "notifications/confirm_invalid.html",
        {"expired": expired, "site_url": links.contact_site_url()},
        status=410 if expired else 400,
    )


def _link_problem(request: HttpRequest, *, expired: bool, language: str = "") -> HttpResponse:
    return _page(
        request,
        "notifications/link_invalid.html",
        {"expired": expired, "site_url": settings.SITE_URL},
        status=410 if expired else 400,
        language=language,
    )


def _page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    language: str = "",
) -> HttpResponse:
    """The page in `language` (the chat's) when given, else in the request's."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        response = render(request, template, context, status=status)
    # Set here: LocaleMiddleware would name the request's language, after the override ended.
    response["Content-Language"] = language
    return response


# The token in the path is the credential; mailbox providers POST here without cookies or a
# CSRF token (RFC 8058 one-click), and the footer page's form needs no session either.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button (link scanners must not unsubscribe anyone). POST: act.

    A POST unsubscribes, whatever its body (a one-click POST says "List-Unsubscribe=One-Click"),
    unless the page's own button asks to resubscribe.
    """
    preference = services.preference_by_token(token=token)
    if preference is None:
        return _page(
            request,
            "notifications/link_invalid.html",
            {"expired": False, "site_url": settings.SITE_URL},
            status=404,
        )
    changed = False
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            preference = services.email_resubscribe(preference=preference)
        else:
            preference = services.email_unsubscribe(preference=preference)
        changed = True
    return _page(
        request,
        "notifications/unsubscribe.html",
        {
            "unsubscribed": preference.unsubscribed_at is not None,
            "changed": changed,
            "site_url": settings.SITE_URL,
        },
        language=services.preference_language(preference),
    )
