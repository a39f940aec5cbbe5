"""Who may read the API's docs (/api/docs) and schema (/api/openapi.json): DESK_API_DOCS.

public: anyone (DEBUG's default). staff: signed-in active staff, desk's admins; anyone else is
answered as the dashboard answers them, a visitor sent to the login page and a signed-in user
refused with 403 (the default outside DEBUG). off: 404, as if the pages did not exist.

NinjaAPI's docs_decorator wraps both views; the setting is read on each request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from chats.errors import PermissionDeniedError
from chats.permissions import require_admin

View = Callable[..., HttpResponse]


def docs_access(view: View) -> View:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        mode = settings.DESK_API_DOCS
        if mode == "off":
            raise Http404("The API documentation is off here (DESK_API_DOCS=off).")
        if mode == "staff":
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                require_admin(request.user)
            except PermissionDeniedError as error:
                raise PermissionDenied(str(error)) from error
        return view(request, *args, **kwargs)

    return guarded
