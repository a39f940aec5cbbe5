"""The dashboard's pages in the staff member's language, through Django's test client (no browser).

The language is the browser's (Accept-Language) until the topbar's switcher chooses one (Django's
set_language, a cookie). Texts are compared with what the catalogs say (locale/), so the tests hold
whatever words the translators chose; those of the last section fail until the catalogs are
translated. What dashboard.js does with the page (Intl dates, the reader's days) is tested in
tests/browser/test_dashboard_languages.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from babel.messages.pofile import read_po
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext, ngettext, pgettext
from freezegun import freeze_time

from chats import services
from chats.models import SupportChat
from chats.templatetags.attachment_views import file_size
from desk import catalogs

pytestmark = pytest.mark.django_db

LIST = "/desk/"
LANGUAGE_NAMES = ["English", "Русский", "Deutsch", "Français", "Español", "العربية"]


def detail(chat: SupportChat) -> str:
    return f"/desk/chats/{chat.id}/"


def staff_browser(admin: Any, language: str | None = None) -> Client:
    """The test client as a staff member whose browser prefers `language`."""
    client = Client(headers={"accept-language": language} if language else {})
    client.force_login(admin)
    return client


def html_tag(page: str) -> str:
    found = re.search(r"<html[^>]*>", page)
    assert found, page[:200]
    return found.group(0)


def translated(language: str, text: str, context: str | None = None) -> str:
    """`text` in `language` as the catalogs have it; fails while it is not translated."""
    with translation.override(language):
        result = pgettext(context, text) if context else gettext(text)
    assert result != text, f"{text!r} has no {language} translation yet (run the translators)"
    return result


# --- The language and direction of the pages ------------------------------------------------------


def test_the_dashboard_is_english_left_to_right_by_default(admin: Any) -> None:
    page = staff_browser(admin).get(LIST).text
    assert html_tag(page) == '<html lang="en" dir="ltr">'


def test_the_dashboard_follows_the_browsers_language(admin: Any) -> None:
    page = staff_browser(admin, "ru-RU,ru;q=0.9,en;q=0.5").get(LIST).text
    assert html_tag(page) == '<html lang="ru" dir="ltr">'


def test_an_arabic_dashboard_is_right_to_left(admin: Any, chat: SupportChat) -> None:
    for url in (LIST, detail(chat)):
        page = staff_browser(admin, "ar").get(url).text
        assert html_tag(page) == '<html lang="ar" dir="rtl">'


def test_a_language_desk_does_not_speak_falls_back_to_english(admin: Any) -> None:
    page = staff_browser(admin, "ja-JP,ja").get(LIST).text
    assert html_tag(page) == '<html lang="en" dir="ltr">'


def test_the_login_page_is_in_the_browsers_language_and_direction() -> None:
    page = Client(headers={"accept-language": "ar"}).get("/accounts/login/").text
    assert html_tag(page) == '<html lang="ar" dir="rtl">'


def test_the_page_embeds_its_languages_catalog_for_the_script(admin: Any) -> None:
    page = staff_browser(admin, "ar").get(LIST).text
    found = re.search(r'<script id="desk-i18n" type="application/json">(.*?)</script>', page)
    assert found, "no embedded catalog"
    catalog = json.loads(found.group(1))
    assert catalog["language"] == "ar"
    assert catalog["direction"] == "rtl"
    assert isinstance(catalog["messages"], dict)


def test_the_catalog_comes_before_the_scripts_that_use_it(admin: Any) -> None:
    page = staff_browser(admin).get(LIST).text
    assert page.index('id="desk-i18n"') < page.index("chats/dashboard.js")


# --- The language switcher ------------------------------------------------------------------------


class Options(HTMLParser):
    """The language switcher's options: (value, lang, selected, label)."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[tuple[str, str, bool, str]] = []
        self._in_select = False
        self._current: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "select" and found.get("name") == "language":
            self._in_select = True
        elif tag == "option" and self._in_select:
            self._current = found

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._in_select = False

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            option = self._current
            self.options.append(
                (str(option["value"]), str(option["lang"]), "selected" in option, data.strip())
            )
            self._current = None


def switcher_options(page: str) -> list[tuple[str, str, bool, str]]:
    parser = Options()
    parser.feed(page)
    return parser.options


def test_the_switcher_offers_the_six_languages_each_in_its_own_name(admin: Any) -> None:
    options = switcher_options(staff_browser(admin, "de").get(LIST).text)
    assert [label for *_, label in options] == LANGUAGE_NAMES
    assert [(value, lang) for value, lang, *_ in options] == [
        (code, code) for code in ("en", "ru", "de", "fr", "es", "ar")
    ]


def test_the_switcher_shows_the_language_of_the_page_as_chosen(admin: Any, chat: Any) -> None:
    for url in (LIST, detail(chat)):
        options = switcher_options(staff_browser(admin, "fr").get(url).text)
        assert [value for value, _lang, selected, _label in options if selected] == ["fr"]


def test_the_switcher_posts_to_set_language_and_comes_back_to_the_same_page(
    admin: Any,
) -> None:
    page = staff_browser(admin).get(f"{LIST}?archived=1&q=ann").text
    form = re.search(r'<form class="language-form" method="post" action="([^"]+)"', page)
    assert form
    assert form.group(1) == "/i18n/setlang/"
    assert '<input type="hidden" name="next" value="/desk/?archived=1&amp;q=ann">' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "data-language-submit" in page  # the button for a page without JavaScript


def test_a_language_chosen_with_the_switcher_wins_over_the_browsers(admin: Any) -> None:
    client = staff_browser(admin, "ru")
    response = client.post("/i18n/setlang/", {"language": "ar", "next": "/desk/?archived=1"})
    assert response.status_code == 302
    assert response["Location"] == "/desk/?archived=1"

    page = client.get(LIST).text
    assert html_tag(page) == '<html lang="ar" dir="rtl">'
    options = switcher_options(page)
    assert [value for value, _lang, selected, _label in options if selected] == ["ar"]


# --- Dates, times and numbers: machine times with the reader's words -----------------------------


def test_a_message_time_is_machine_readable_with_a_time_in_the_pages_language(
    admin: Any, say: Any, chat: SupportChat
) -> None:
    with freeze_time("2026-01-29 09:15:00"):
        say("hello")
    page = staff_browser(admin, "ru").get(detail(chat)).text
    assert '<time data-field="time" datetime="2026-01-29T09:15:00+00:00">09:15</time>' in page


def test_a_day_heading_is_written_in_the_pages_language(
    admin: Any, say: Any, chat: SupportChat
) -> None:
    with freeze_time("2026-01-29 09:15:00"):
        say("hello")
    headings = {
        language: re.findall(
            r'<section class="day" data-day="2026-01-29">\s*<h2 class="day-heading"><span>([^<]+)',
            staff_browser(admin, language).get(detail(chat)).text,
        )
        for language in ("en", "ru", "de", "ar")
    }
    assert headings == {
        "en": ["Thursday, January 29"],
        "ru": ["четверг, 29 января"],
        "de": ["Donnerstag, 29. Januar"],
        "ar": ["الخميس، 29 يناير"],
    }


def test_a_read_reply_keeps_its_moment_for_the_script(
    admin: Any, user: Any, reply: Any, chat: SupportChat
) -> None:
    with freeze_time("2026-01-29 14:00:00"):
        reply("answer")
    with freeze_time("2026-01-29 14:05:00"):
        services.messages_mark_read(user=user)
    page = staff_browser(admin).get(detail(chat)).text
    assert 'data-read-at="2026-01-29T14:05:00+00:00">Read 14:05</span>' in page


def test_a_files_size_is_written_with_the_languages_decimal_separator() -> None:
    sizes = {}
    for language in ("en", "de", "ar"):
        with translation.override(language):
            sizes[language] = file_size(4812)
    assert sizes["en"] == "4.7 KB"
    assert "4,7" in sizes["de"]
    assert any(digits in sizes["ar"] for digits in ("4.7", "4,7", "\u0664\u066b\u0667"))


# --- Translated texts: these fail until the catalogs are translated (locale/) ---------------------


def test_the_list_is_in_russian_for_a_russian_browser(admin: Any) -> None:
    page = staff_browser(admin, "ru").get(LIST).text
    assert f"<h1>{translated('ru', 'Support Chats')}</h1>" in page
    assert translated("ru", "Start a chat with a guest") in page
    assert translated("ru", "Active", "chats that are not archived") in page


def test_a_chat_is_in_arabic_for_an_arabic_browser(admin: Any, say: Any, chat: SupportChat) -> None:
    say("hello")
    page = staff_browser(admin, "ar").get(detail(chat)).text
    assert translated("ar", "All chats") in page
    assert f'placeholder="{translated("ar", "Write a reply…")}"' in page
    assert translated("ar", "Archive") in page


def test_a_message_count_has_the_russian_plural_forms(admin: Any) -> None:
    for count in (1, 3, 5):
        user = _user_with_messages(f"n{count}@example.com", count)
        page = staff_browser(admin, "ru").get(LIST).text
        with translation.override("ru"):
            expected = ngettext("%(counter)s message", "%(counter)s messages", count) % {
                "counter": count
            }
        card = re.search(
            rf'data-chat-id="{user.support_chat.id}".*?<span data-field="count">([^<]*)</span>',
            page,
            re.S,
        )
        assert card
        assert card.group(1) == expected
    with translation.override("ru"):
        forms = {ngettext("%(counter)s message", "%(counter)s messages", n) for n in (1, 3, 5)}
    assert len(forms) == 3, f"Russian needs three forms of the message count, not {forms}"


def _user_with_messages(email: str, count: int) -> Any:
    from tests.conftest import make_user

    user = make_user(email)
    for n in range(count):
        services.user_message_post(user=user, content=f"message {n}")
    return user


@pytest.mark.parametrize("language", ["ru", "ar"])
def test_no_text_of_the_dashboard_is_left_in_english(
    admin: Any, say: Any, reply: Any, chat: SupportChat, language: str
) -> None:
    say("hello")
    reply("answer")
    client = staff_browser(admin, language)
    english = english_texts(language)
    for url in (LIST, f"{LIST}?archived=1", f"{LIST}?q=nobody", detail(chat)):
        left = [text for text in chrome_texts(client.get(url).text) if english.match(text)]
        assert not left, f"{url} in {language} still says, in English: {left}"


class ChromeTexts(HTMLParser):
    """What a staff member reads on a page (its text, placeholders, titles and aria-labels) but
    for what people wrote and who they are: elements with dir="auto" (messages, names, emails,
    the search), a preview, a reply's sender, ids, and the language names of the switcher (each
    in its own language). A chat's preview is checked for its "Support:" label."""

    VOID = {"input", "meta", "link", "br", "img", "hr", "source", "path", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._stack: list[bool] = []  # per open element: whether its content is skipped

    def _skipped(self) -> bool:
        return bool(self._stack) and self._stack[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = set((found.get("class") or "").split())
        people = (found.get("dir") == "auto" and "chat-preview" not in classes) or bool(
            classes & {"sender", "who"}
        )
        skip = (
            self._skipped()
            or people
            or tag in {"script", "style", "title", "bdi"}
            or found.get("data-field") == "preview"
            or (tag == "select" and found.get("name") == "language")
        )
        if not skip:
            for name in ("placeholder", "title", "aria-label"):
                if found.get(name):
                    self.texts.append(" ".join(str(found[name]).split()))
        if tag not in self.VOID:
            self._stack.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skipped():
            self.texts.append(text)


def chrome_texts(page: str) -> list[str]:
    parser = ChromeTexts()
    parser.feed(page)
    return parser.texts


class EnglishTexts:
    """The catalogs' English texts that `language` has no translation of, or another one than
    the English, as patterns (a placeholder matches anything): a text of a page that matches one
    of them, and none of the translations, is left in English."""

    def __init__(self, english: list[re.Pattern[str]], translations: list[re.Pattern[str]]) -> None:
        self.english = english
        self.translations = translations

    def match(self, text: str) -> bool:
        return any(pattern.fullmatch(text) for pattern in self.english) and not any(
            pattern.fullmatch(text) for pattern in self.translations
        )


def english_texts(language: str) -> EnglishTexts:
    """Every text the sources mark (desk.catalogs extracts them) that the `language` catalog
    leaves English, and every translation it has."""
    english, translations = [], []
    for domain in catalogs.DOMAINS:
        with catalogs.po_path(language, domain).open("rb") as file:
            catalog = read_po(file, locale=language)
        for message in catalogs.template(domain):
            found = catalog.get(message.id, context=message.context)
            strings = _texts(found.string) if found is not None else []
            for msgid in _texts(message.id):
                if msgid not in strings:
                    english.extend(_patterns(msgid))
            for string in strings:
                translations.extend(_patterns(string))
    return EnglishTexts(english, translations)


def _texts(value: object) -> list[str]:
    """A message's text, or each of its plural forms."""
    texts = value if isinstance(value, (list, tuple)) else [value]
    return [text for text in texts if isinstance(text, str) and text]


def _patterns(msgid: str) -> list[re.Pattern[str]]:
    """A text as the page shows it, its placeholders matching anything: a text with markup (a
    link in a sentence) is several text nodes, so one pattern for each part with words."""
    patterns = []
    for fragment in re.split(r"<[^>]+>", msgid):
        words = " ".join(fragment.split())
        if re.search(r"\w\w", re.sub(r"%\(\w+\)s", "", words)):
            patterns.append(re.compile(re.sub(r"%\\\(\w+\\\)s", ".+", re.escape(words))))
    return patterns
