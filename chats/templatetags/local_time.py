"""`{% load local_time %}`: dates and times on the dashboard's pages before dashboard.js runs.

Each is also in its <time datetime="..."> for dashboard.js, which writes it again in the reader's
language and time zone (Intl), and groups a chat's messages by the reader's days. What the server
writes is the first paint and the page without JavaScript: the active language's CLDR patterns
(Babel, the same data as the browser's Intl), in the server's time zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from babel import Locale
from babel.dates import format_date, format_time
from django import template
from django.conf import settings
from django.utils import timezone, translation

register = template.Library()


def _locale() -> Locale:
    return Locale.parse(translation.get_language() or settings.LANGUAGE_CODE, sep="-")


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter
def day_heading(value: object) -> str:
    """ "Thursday, January 29", "четверг, 29 января": Intl's {weekday: "long", month: "long",
    day: "numeric"}, as dashboard.js labels a day that is neither today nor yesterday."""
    if not isinstance(value, date):  # a template's empty slot
        return ""
    locale = _locale()
    day = _local(value).date() if isinstance(value, datetime) else value
    # CLDR has the pattern for an abbreviated weekday; the heading spells it out.
    pattern = re.sub("E+", "EEEE", locale.datetime_skeletons["MMMMEd"].pattern)
    return format_date(day, pattern, locale=locale)


@register.filter
def clock(value: object) -> str:
    """ "09:15": hours and minutes, 24-hour (CLDR's "Hm")."""
    if not isinstance(value, datetime):
        return ""
    locale = _locale()
    return format_time(_local(value), locale.datetime_skeletons["Hm"].pattern, locale=locale)


@register.filter
def date_and_time(value: object) -> str:
    """ "January 29, 2026, 14:05": a long date and a time (Intl's dateStyle "long" with hours
    and minutes)."""
    if not isinstance(value, datetime):
        return ""
    locale = _locale()
    moment = _local(value)
    combined = str(locale.datetime_formats["long"])
    return (
        combined.replace("'", "")
        .replace("{1}", format_date(moment, "long", locale=locale))
        .replace("{0}", clock(moment))
    )
