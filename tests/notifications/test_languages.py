"""Emails and the pages of their links in their reader's language and time zone.

A person's emails follow the language and time zone their widget stated (kept with their chat);
a staff member's alerts follow their dashboard's. The assertions on translated words read the
catalogs (locale/): `catalog_text` fails, naming the string, while a catalog lacks it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext, ngettext
from freezegun import freeze_time

from chats import services as chat_services
from chats.embed import services as embed_services
from chats.models import SupportChat, SupportMessage
from notifications import emails, links, services, tasks
from notifications.models import EmailPreference, StaffAlertPreference
from notifications.services import staff_reader_record
from tests.notifications.conftest import START, UPDATE_FIXTURES, open_link

# Rendered emails in other languages, for a reader to open (docs/emails.md links them).
DOCS_EMAILS = Path(__file__).resolve().parents[2] / "docs" / "emails"

Say = Callable[[str], SupportMessage]

SAMPLE = emails.ReplyEmailContent(
    to="anna@example.com",
    name="Anna",
    replies=[
        "Hallo Anna, danke fürs Warten!",
        "Ihr Paket ist heute Morgen losgefahren und kommt am Donnerstag zwischen 9 und 13 Uhr.",
    ],
    attachments=[[], ["Lieferschein-1042.pdf"]],
    authors=["Jonas", "Jonas"],
    sent_at=[
        datetime(2026, 1, 29, 9, 58, tzinfo=UTC),
        datetime(2026, 1, 29, 10, 1, tzinfo=UTC),
    ],
    open_url="https://support.example.com/email/open/2.6f0c2b1e3d4a4b5c8d9e0f1a2b3c4d5e:1vQx7Z:"
    "kP0s3cR3tS1gnatur3Xx0aBcDeFgHiJkLmNoPqRsTu/",
    unsubscribe_url="https://support.example.com/email/u/Zm9vYmFyYmF6cXV4",
    site_url="https://support.example.com",
    site_name="support.example.com",
    message_id="<reply.AbCdEfGhIjKlMnOpQrStUv@support.example.com>",
    thread_id="<chat.ZyXwVuTsRqPoNmLkJiHgFe@support.example.com>",
    link_lifetime=emails.lifetime_text(14 * 86400),
    language="de",
    time_zone="Europe/Berlin",
)


def catalog_text(language: str, msgid: str) -> str:
    """`msgid` as `language`'s catalog writes it; fails while the catalog lacks it."""
    with translation.override(language):
        text = gettext(msgid)
    assert text != msgid, f"locale/{language} has no translation of {msgid!r} yet"
    return text


def html_of(message: Any) -> str:
    return str(message.alternatives[0].content)


def eml(message: Any) -> str:
    """The whole email as a mail client receives it, its MIME boundary fixed."""
    with freeze_time("2026-01-29 10:05:00"):
        parsed = message.message()
    parsed.set_boundary("desk-sample-boundary")
    return str(parsed.as_bytes().decode("utf-8"))


# --- The reply email ------------------------------------------------------------------------------


def test_a_reply_email_in_german_is_german_in_its_subject_and_both_parts() -> None:
    message = emails.reply_email_build(SAMPLE)

    assert message.subject == catalog_text("de", "New reply from Support")
    for part in (message.body, html_of(message)):
        assert catalog_text("de", "Open the conversation") in part
        assert "Replies to this email don't reach us" not in part
    assert message.extra_headers["Content-Language"] == "de"
    assert '<html lang="de" dir="ltr">' in html_of(message)


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("reply-de.eml", eml),
        ("reply-de.txt", lambda message: message.body),
        ("reply-de.html", html_of),
    ],
)
def test_the_german_reply_email_is_the_one_in_the_docs(
    name: str, part: Callable[[Any], str], settings: Any
) -> None:
    # docs/emails/, linked from docs/emails.md: the whole email, and its two parts to read.
    # Regenerate with UPDATE_EMAIL_FIXTURES=1 whenever the catalogs change; review the diff.
    settings.DEFAULT_FROM_EMAIL = "Support <support@example.com>"
    rendered = part(emails.reply_email_build(SAMPLE))
    path = DOCS_EMAILS / name
    if UPDATE_FIXTURES:
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8"), f"{path} is out of date"


def test_dates_are_written_in_the_readers_language_and_time_zone() -> None:
    html = html_of(emails.reply_email_build(SAMPLE))

    # 09:58 UTC is 10:58 in Berlin, in German's own date format and month name.
    assert "29. Januar 2026" in html
    assert "10:58" in html
    assert "09:58" not in html


def test_a_russian_date_names_its_month_in_the_genitive_in_tokyo_time() -> None:
    content = dataclasses.replace(SAMPLE, language="ru", time_zone="Asia/Tokyo")

    html = html_of(emails.reply_email_build(content))

    # 10:01 UTC is 19:01 in Tokyo.
    assert "29 января 2026" in html
    assert "19:01" in html


def test_an_email_without_a_known_language_or_zone_is_english_in_utc() -> None:
    content = dataclasses.replace(SAMPLE, language="", time_zone="Mars/Olympus_Mons")

    message = emails.reply_email_build(content)

    assert message.subject == "New reply from Support"
    assert message.extra_headers["Content-Language"] == "en"
    assert "Jan. 29, 2026" in html_of(message)
    assert "9:58" in html_of(message)


def test_an_arabic_email_is_laid_out_right_to_left() -> None:
    content = dataclasses.replace(SAMPLE, language="ar")

    message = emails.reply_email_build(content)

    html = html_of(message)
    assert '<html lang="ar" dir="rtl">' in html
    assert '<body dir="rtl"' in html
    # The quote's bar is on the side the text starts from; each quote keeps its own direction.
    assert "border-right:3px solid" in html
    assert "border-left:3px solid" not in html
    assert html.count('class="reply" dir="auto"') == len(content.replies)
    assert message.extra_headers["Content-Language"] == "ar"


def test_an_english_email_is_laid_out_left_to_right() -> None:
    html = html_of(emails.reply_email_build(dataclasses.replace(SAMPLE, language="en")))

    assert '<html lang="en" dir="ltr">' in html
    assert "border-left:3px solid" in html


@pytest.mark.parametrize("language", ["ru", "de", "fr", "es", "ar"])
def test_every_language_translates_the_reply_emails_words(language: str) -> None:
    message = emails.reply_email_build(dataclasses.replace(SAMPLE, language=language))

    assert message.subject == catalog_text(language, "New reply from Support")
    assert catalog_text(language, "Open the conversation") in html_of(message)


def test_a_links_lifetime_is_written_in_the_language_of_the_email_that_renders_it() -> None:
    lifetime = emails.lifetime_text(86400)  # made outside any email, as the services make it

    message = emails.reply_email_build(
        dataclasses.replace(SAMPLE, language="ru", link_lifetime=lifetime)
    )

    with translation.override("ru"):
        one_day = ngettext("%(count)s day", "%(count)s days", 1) % {"count": 1}
    assert one_day != "1 day", "locale/ru has no translation of '%(count)s day' yet"
    assert one_day in message.body
    assert str(lifetime) == "1 day"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(14 * 86400, "14 days"), (86400, "1 day"), (12 * 3600, "12 hours"), (300, "5 minutes")],
)
def test_a_links_lifetime_is_counted_in_its_largest_whole_unit(seconds: int, text: str) -> None:
    assert str(emails.lifetime_text(seconds)) == text


# --- The language follows the chat ---------------------------------------------------------------


@pytest.fixture
def replied(
    admin: Any, user: Any, notify: Callable[[SupportMessage], None], mailoutbox: list[Any]
) -> Callable[..., Any]:
    """`replied(**headers)`: the user writes over REST with these headers, support answers,
    the reply email goes out; returns it."""

    def run(**headers: str) -> Any:
        browser = Client()
        browser.force_login(user)
        with freeze_time(START) as clock:
            response = browser.post(
                "/api/support_chat/messages",
                {"content": "Where is my parcel?"},
                content_type="application/json",
                headers=headers,
            )
            assert response.status_code == 201, response.content
            chat = SupportChat.objects.get(user=user)
            answer = chat_services.admin_reply_post(
                admin=admin, chat_id=chat.id, content="It left this morning."
            )
            clock.move_to("2026-01-29 10:05:00")
            notify(answer)
        return mailoutbox[-1]

    return run


def test_the_chat_keeps_the_language_and_time_zone_the_widget_states(
    replied: Callable[..., Any], user: Any
) -> None:
    replied(accept_language="ru", x_desk_time_zone="Asia/Tokyo")

    chat = SupportChat.objects.get(user=user)
    assert (chat.language, chat.time_zone) == ("ru", "Asia/Tokyo")


def test_a_time_zone_no_one_has_heard_of_is_not_kept(
    replied: Callable[..., Any], user: Any
) -> None:
    replied(accept_language="ru", x_desk_time_zone="Europe/Atlantis")

    assert SupportChat.objects.get(user=user).time_zone == ""


def test_the_reply_email_is_in_the_language_the_person_wrote_in(
    replied: Callable[..., Any],
) -> None:
    sent = replied(accept_language="ru-RU,ru;q=0.9,en;q=0.5")

    assert sent.extra_headers["Content-Language"] == "ru"
    assert '<html lang="ru" dir="ltr">' in html_of(sent)
    assert sent.subject == catalog_text("ru", "New reply from Support")


def test_the_reply_email_is_written_in_the_persons_time_zone(
    replied: Callable[..., Any],
) -> None:
    sent = replied(accept_language="de", x_desk_time_zone="America/New_York")

    # Support answered at 10:00 UTC: 05:00 in New York, on 29 January.
    assert "29. Januar 2026" in html_of(sent)
    assert "05:00" in html_of(sent)


def test_a_message_that_states_no_language_leaves_the_chats(
    replied: Callable[..., Any], user: Any
) -> None:
    replied(accept_language="es", x_desk_time_zone="Europe/Madrid")
    replied()

    chat = SupportChat.objects.get(user=user)
    assert (chat.language, chat.time_zone) == ("es", "Europe/Madrid")


def test_a_guest_invitation_is_in_the_chats_language(
    admin: Any, mailoutbox: list[Any], run: Callable[..., None]
) -> None:
    _link, chat_id = embed_services.guest_link_create(
        admin=admin, name="Gail", email="gail@example.com", send_email=False
    )
    SupportChat.objects.filter(id=chat_id).update(language="fr", time_zone="Europe/Paris")
    contact = SupportChat.objects.get(id=chat_id).user.contact

    email = services.invitation_email_request(contact_id=contact.pk, admin_id=admin.pk)
    assert email is not None
    run(tasks.contact_email_send, email.id)

    [sent] = mailoutbox
    assert sent.extra_headers["Content-Language"] == "fr"
    assert sent.subject == catalog_text("fr", "Support started a conversation with you")


# --- Staff alerts ---------------------------------------------------------------------------------


def alert_email(count: int, **overrides: Any) -> Any:
    content = emails.StaffAlertContent(
        to="alice@example.com",
        name="Alice",
        person="Anna Schmidt",
        messages=[f"Message {n}" for n in range(count)],
        chat_url="https://desk.example.com/desk/chats/0b7e8c53-9a1e-4c1f-9d44-3c0f3d5e1a11/",
        preferences_url="https://desk.example.com/desk/",
        site_name="desk.example.com",
        message_id="<alert-1@desk.example.com>",
    )
    return emails.staff_alert_build(dataclasses.replace(content, **overrides))


@pytest.mark.parametrize(
    ("count", "intro"),
    [
        (1, "Anna Schmidt wrote on desk.example.com, and nobody has answered yet:"),
        (2, "Anna Schmidt wrote 2 messages on desk.example.com, and nobody has answered yet:"),
        (5, "Anna Schmidt wrote 5 messages on desk.example.com, and nobody has answered yet:"),
    ],
)
def test_the_alert_counts_the_messages_in_english(count: int, intro: str) -> None:
    message = alert_email(count)

    assert intro in message.body
    assert intro in html_of(message)


def test_russian_alerts_use_russian_plural_forms() -> None:
    singular = "%(person)s wrote %(counter)s message on %(site_name)s, and nobody has answered yet:"
    plural = "%(person)s wrote %(counter)s messages on %(site_name)s, and nobody has answered yet:"
    values = {"person": "Anna Schmidt", "site_name": "desk.example.com"}

    def expected(count: int) -> str:
        with translation.override("ru"):
            return ngettext(singular, plural, count) % {**values, "counter": count}

    # Russian has three forms: 2 and 22 share one ("few"), 5 and 11 another ("many"), 21 the
    # singular's ("one").
    forms = {count: expected(count) for count in (2, 5, 11, 21, 22)}
    shapes = {text.replace(str(n), "N") for n, text in forms.items()}
    assert len(shapes) == 3, f"locale/ru lacks the three forms of {plural!r}: {forms}"
    for count, text in forms.items():
        assert text in alert_email(count, language="ru").body


def test_the_alert_is_in_the_staff_members_dashboard_language(
    admin: Any,
    say: Callable[[str], SupportMessage],
    run: Callable[..., None],
    mailoutbox: list[Any],
) -> None:
    staff_reader_record(staff=admin, language="de", time_zone="Europe/Berlin")
    with freeze_time(START):
        message = say("Hello?")
    run(tasks.staff_alert_notify, message.id)

    [sent] = mailoutbox
    assert sent.extra_headers["Content-Language"] == "de"
    assert "29. Januar 2026" in html_of(sent)
    assert "11:00" in html_of(sent)
    assert sent.subject == catalog_text("de", "New message from %(person)s") % {
        "person": "ann@example.com"
    }


def test_recording_the_dashboard_language_keeps_the_alert_choice(admin: Any) -> None:
    StaffAlertPreference.objects.create(user=admin, scope="answered")

    staff_reader_record(staff=admin, language="fr")
    staff_reader_record(staff=admin, language="fr", time_zone="Europe/Paris")

    preference = StaffAlertPreference.objects.get(user=admin)
    assert (preference.scope, preference.language, preference.time_zone) == (
        "answered",
        "fr",
        "Europe/Paris",
    )


def test_an_alert_without_a_recorded_language_is_in_english(
    admin: Any,
    say: Callable[[str], SupportMessage],
    run: Callable[..., None],
    mailoutbox: list[Any],
) -> None:
    run(tasks.staff_alert_notify, say("Hello?").id)

    [sent] = mailoutbox
    assert sent.extra_headers["Content-Language"] == "en"
    assert sent.subject == "New message from ann@example.com"


# --- The pages of the links -----------------------------------------------------------------------


@pytest.fixture
def unsubscribe_path(user: Any) -> str:
    preference, _ = EmailPreference.objects.get_or_create(user=user)
    return urlsplit(links.unsubscribe_url(preference.unsubscribe_token)).path


def page_language(response: Any) -> str:
    html = response.content.decode()
    start = html.index('<html lang="') + len('<html lang="')
    return html[start : html.index('"', start)]


def test_a_links_page_follows_the_browser_when_the_chat_states_no_language(
    unsubscribe_path: str, chat: SupportChat
) -> None:
    response = Client().get(unsubscribe_path, headers={"accept-language": "fr"})

    assert page_language(response) == "fr"
    assert response["Content-Language"] == "fr"
    assert catalog_text("fr", "Stop reply emails?") in response.content.decode()


def test_a_links_page_is_in_the_chats_language_when_it_is_known(
    unsubscribe_path: str, chat: SupportChat
) -> None:
    SupportChat.objects.filter(id=chat.id).update(language="ar")

    response = Client().get(unsubscribe_path, headers={"accept-language": "fr"})

    assert page_language(response) == "ar"
    assert 'dir="rtl"' in response.content.decode()
    assert response["Content-Language"] == "ar"


def test_an_expired_reply_links_page_is_in_the_chats_language(
    replied: Callable[..., Any],
) -> None:
    sent = replied(accept_language="es")
    open_path = urlsplit(open_link(sent)).path

    with freeze_time("2026-03-29 10:00:00"):
        response = Client().get(open_path, headers={"accept-language": "de"})

    assert response.status_code == 410
    assert page_language(response) == "es"
    assert catalog_text("es", "This link has expired") in response.content.decode()


def test_an_invalid_links_page_follows_the_browser(db: None) -> None:
    response = Client().get("/email/open/nonsense/", headers={"accept-language": "ar"})

    assert response.status_code == 400
    assert page_language(response) == "ar"
    assert 'dir="rtl"' in response.content.decode()
