"""Error details in the asker's language; codes, types, fields and locations never change.

REST answers in the request's language (LocaleMiddleware: the language cookie, else
Accept-Language, which the widget sends); a socket in the language its URL states (`lang`, the
widget's), else its cookie or Accept-Language. The assertions on translated words read the
catalogs (locale/): `catalog_text` fails, naming the string, while a catalog lacks it.
"""

# The sockets here use tests/realtime's client and key prefix fixture, imported below.
# ruff: noqa: F811

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from chats.models import SupportChat
from desk.api import schema_error_translate
from notifications.models import StaffAlertPreference
from tests.realtime.conftest import (  # noqa: F401 (own_redis_namespace and ws: fixtures)
    OpenSocket,
    chat_path,
    own_redis_namespace,
    ws,
)

TOKEN_INVALID = "The desk token is not valid."
CONTENT_EMPTY = "Message content must not be empty."
REQUIRED = "This field is required."


def catalog_text(language: str, msgid: str) -> str:
    """`msgid` as `language`'s catalog writes it; fails while the catalog lacks it."""
    with translation.override(language):
        text = gettext(msgid)
    assert text != msgid, f"locale/{language} has no translation of {msgid!r} yet"
    return text


def browser(user: Any = None, language: str = "en") -> Client:
    client = Client(headers={"accept-language": language})
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, path: str, body: Any) -> Any:
    return client.post(f"/api{path}", json.dumps(body), content_type="application/json")


def bad_bearer(language: str) -> Any:
    return browser(language=language).get(
        "/api/embed/me", headers={"authorization": "Bearer not-a-token"}
    )


# --- REST -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_token_is_explained_in_french_with_the_same_status_and_reason() -> None:
    english, french = bad_bearer("en"), bad_bearer("fr-CA,fr;q=0.9")

    assert (french.status_code, french.json()["reason"]) == (401, "token_invalid")
    assert (english.status_code, english.json()["reason"]) == (401, "token_invalid")
    assert english.json()["detail"] == TOKEN_INVALID
    assert french.json()["detail"] == catalog_text("fr", TOKEN_INVALID)


@pytest.mark.django_db
def test_a_language_desk_does_not_speak_gets_english() -> None:
    assert bad_bearer("tlh").json()["detail"] == TOKEN_INVALID


@pytest.mark.django_db
def test_desks_own_422_is_french_with_the_same_loc_and_type(user: Any) -> None:
    answers = {
        language: post(browser(user, language), "/support_chat/messages", {"content": "  "})
        for language in ("en", "fr")
    }

    [english], [french] = (answers[language].json()["detail"] for language in ("en", "fr"))
    assert {answers["en"].status_code, answers["fr"].status_code} == {422}
    assert (french["loc"], french["type"]) == (english["loc"], english["type"])
    assert (french["loc"], french["type"]) == (["body", "content"], "invalid")
    assert english["msg"] == CONTENT_EMPTY
    assert french["msg"] == catalog_text("fr", CONTENT_EMPTY)


@pytest.mark.django_db
def test_a_schemas_422_is_french_with_pydantics_type_and_loc(admin: Any) -> None:
    answers = {
        language: post(browser(admin, language), "/admin/guest_links", {"email": None})
        for language in ("en", "fr")
    }

    [english], [french] = (answers[language].json()["detail"] for language in ("en", "fr"))
    assert (french["type"], french["loc"]) == (english["type"], english["loc"])
    assert english["type"] == "missing"
    assert english["loc"][-1] == "name"
    assert english["msg"] == REQUIRED
    assert french["msg"] == catalog_text("fr", REQUIRED)


@pytest.mark.django_db
def test_a_malformed_id_in_the_path_is_explained_in_spanish(admin: Any) -> None:
    answer = browser(admin, "es").get("/api/admin/chats/not-a-uuid")

    [problem] = answer.json()["detail"]
    assert (answer.status_code, problem["type"], problem["loc"]) == (
        422,
        "uuid_parsing",
        ["path", "chat_id"],
    )
    assert problem["msg"] == catalog_text("es", "Must be a UUID.")


def test_a_422_keeps_its_numbers_in_the_translated_text() -> None:
    error = {
        "type": "string_too_long",
        "loc": ["body", "name"],
        "msg": "String should have at most 200 characters",
        "ctx": {"max_length": 200},
    }

    with translation.override("en"):
        translated = schema_error_translate(error)

    assert translated == {**error, "msg": "Must be at most 200 characters long."}


def test_a_422_of_a_kind_desk_does_not_know_keeps_pydantics_words() -> None:
    error = {"type": "date_from_datetime_parsing", "loc": ["query", "day"], "msg": "Input..."}

    assert schema_error_translate(error) == error


@pytest.mark.django_db
def test_an_unparsable_body_is_explained_in_german(user: Any) -> None:
    answer = browser(user, "de").post(
        "/api/support_chat/messages", "{not json", content_type="application/json"
    )

    assert answer.status_code == 400
    assert answer.json()["detail"] == catalog_text("de", "Cannot parse request body")


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_explained_in_russian(user: Any) -> None:
    answer = browser(user, "ru").post(
        "/api/support_chat/messages", "content=hi", content_type="text/plain"
    )

    assert answer.status_code == 415
    with translation.override("ru"):
        expected = gettext("The request body must be JSON, sent as Content-Type: %(type)s.")
    assert expected != "The request body must be JSON, sent as Content-Type: %(type)s.", (
        "locale/ru lacks the 415's text"
    )
    assert answer.json()["detail"] == expected % {"type": "application/json"}


@pytest.mark.django_db
def test_a_detail_raised_as_plain_english_is_translated_when_a_catalog_has_it(admin: Any) -> None:
    # "No such chat." is raised unmarked by chats.selectors and marked in chats.consumers: the
    # answer is looked up when it is written.
    answer = browser(admin, "ar").get(f"/api/admin/chats/{uuid.uuid4()}")

    assert answer.status_code == 404
    assert answer.json()["detail"] == catalog_text("ar", "No such chat.")


# --- Sockets --------------------------------------------------------------------------------------

FRAME_NOT_AN_OBJECT = "A frame must be a JSON object such as %(example)s."


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_error_is_in_spanish_with_lang_es_and_keeps_its_code(
    ws: OpenSocket, own_redis_namespace: str, user: Any, chat: SupportChat
) -> None:
    english = await ws(chat_path(chat.id), user)
    spanish = await ws(chat_path(chat.id), user, query="lang=es&tz=Europe%2FMadrid")
    for socket in (english, spanish):
        await socket.send_text("hello?")

    said, dicho = await english.event(), await spanish.event()

    assert (said["type"], said["code"]) == ("error", "invalid_json")
    assert (dicho["type"], dicho["code"]) == ("error", "invalid_json")
    assert said["detail"] == FRAME_NOT_AN_OBJECT % {"example": '{"action": "sync"}'}
    assert dicho["detail"] == catalog_text("es", FRAME_NOT_AN_OBJECT) % {
        "example": '{"action": "sync"}'
    }


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_without_lang_answers_in_its_accept_language(
    ws: OpenSocket, own_redis_namespace: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user, extra_headers=((b"accept-language", b"de"),))
    await socket.send(action="typing", is_typing="yes")

    event = await socket.event()

    assert (event["code"], event["field"]) == ("invalid", "is_typing")
    assert event["detail"] == catalog_text("de", "is_typing must be true or false.")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_services_error_on_a_socket_is_in_the_sockets_language(
    ws: OpenSocket, own_redis_namespace: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user, query="lang=fr")
    await socket.send(action="send_message", content="   ", request_id="r-1")

    event = await socket.event()

    assert (event["code"], event["field"], event["request_id"]) == ("invalid", "content", "r-1")
    assert event["detail"] == catalog_text("fr", CONTENT_EMPTY)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_message_over_a_socket_keeps_the_language_and_zone_it_states(
    ws: OpenSocket, own_redis_namespace: str, user: Any, chat: SupportChat
) -> None:
    socket = await ws(chat_path(chat.id), user, query="lang=ar&tz=Asia%2FDubai")
    await socket.send(action="send_message", content="مرحبا")
    assert (await socket.event())["type"] == "new_message"

    stored = await database_sync_to_async(SupportChat.objects.get)(id=chat.id)

    assert (stored.language, stored.time_zone) == ("ar", "Asia/Dubai")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_dashboard_socket_records_its_language_for_staff_alerts(
    ws: OpenSocket, own_redis_namespace: str, admin: Any
) -> None:
    await ws(
        "/ws/admin/notifications/", admin, extra_headers=((b"accept-language", b"ru-RU,ru;q=0.9"),)
    )

    preference = await database_sync_to_async(StaffAlertPreference.objects.get)(user=admin)
    assert preference.language == "ru"
