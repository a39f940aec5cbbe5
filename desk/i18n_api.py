"""GET /api/i18n/{language}: the texts widget.js and dashboard.js translate with (desk/i18n.py).

Public (nothing in it is secret), open to the sites that embed the widget (CORS), and cached by
browsers for an hour: the catalogs change with a deploy of desk only.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from chats.errors import NotFoundError
from chats.schemas import ErrorOut
from desk import i18n

router = Router(tags=["languages"])

CACHE_SECONDS = 3600


class CatalogOut(Schema):
    language: str
    direction: str
    messages: dict[str, Any]


@router.get(
    "/{language}",
    auth=None,
    response={200: CatalogOut, 404: ErrorOut},
    summary="The browser scripts' texts in one language",
    description=(
        "For each English text of widget.js and dashboard.js, its translation in `language` "
        "(en, ru, de, fr, es or ar). A plural text maps CLDR plural categories (one, few, many, "
        "other, zero, two: as Intl.PluralRules names them) to its forms. 404 for a language "
        "desk does not speak."
    ),
)
def catalog(request: HttpRequest, language: str) -> HttpResponse:
    try:
        found = i18n.catalog(language)
    except LookupError:
        raise NotFoundError(_("desk does not speak this language.")) from None
    response = JsonResponse(found, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
