"""Messages carry attachments: `attachment_ids` when posting (REST here; sockets in
test_sockets.py), `attachments` wherever a message is read, in a fixed number of queries."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chats import selectors, services
from chats.models import Attachment, SupportChat, SupportMessage
from chats.realtime import builders
from tests.chats.attachments import files
from tests.chats.attachments.conftest import Make, fetch, upload_id

pytestmark = pytest.mark.django_db


def viewer_in(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["u"][0])


def error_field(response: Any) -> str:
    """The field a 422 names (ninja's own check adds the list index after it)."""
    assert response.status_code == 422, response.content
    return next(
        str(part) for part in reversed(response.json()["detail"][0]["loc"]) if isinstance(part, str)
    )


def test_a_message_with_attachments_answers_them_signed_for_the_sender(
    uploader: Make, user: Any
) -> None:
    client = uploader(user)
    ids = [upload_id(client.upload(files.png(), "a.png")), upload_id(client.upload(files.pdf()))]
    response = client.post_message(
        {"content": "See these", "attachment_ids": [str(i) for i in ids]}
    )
    assert response.status_code == 201
    attachments = response.json()["attachments"]
    assert [a["id"] for a in attachments] == [str(i) for i in ids]
    image, document = attachments
    assert set(image) == {
        "id",
        "name",
        "size",
        "content_type",
        "url",
        "thumbnail_url",
        "width",
        "height",
    }
    assert (image["width"], image["height"]) == (40, 30)
    assert viewer_in(image["url"]) == user.pk
    assert (document["thumbnail_url"], document["width"], document["height"]) == (None,) * 3
    assert fetch(document["url"]).status_code == 200


def test_a_message_of_attachments_alone_needs_no_content(uploader: Make, user: Any) -> None:
    client = uploader(user)
    kept = upload_id(client.upload(files.pdf(), "a.pdf"))
    response = client.post_message({"attachment_ids": [str(kept)]})
    assert response.status_code == 201
    assert response.json()["content"] == ""
    assert SupportMessage.objects.get().content == ""


def test_a_blank_message_without_attachments_is_still_422(uploader: Make, user: Any) -> None:
    response = uploader(user).post_message({"content": "   ", "attachment_ids": []})
    assert error_field(response) == "content"


def test_an_upload_of_someone_else_is_422_naming_attachment_ids(
    uploader: Make, user: Any, other_user: Any
) -> None:
    theirs = upload_id(uploader(other_user).upload(files.pdf(), "theirs.pdf"))
    response = uploader(user).post_message({"content": "mine?", "attachment_ids": [str(theirs)]})
    assert error_field(response) == "attachment_ids"
    assert not SupportMessage.objects.filter(chat__user=user).exists()
    assert Attachment.objects.get(id=theirs).message_id is None


def test_an_upload_already_attached_is_422(uploader: Make, user: Any) -> None:
    client = uploader(user)
    kept = upload_id(client.upload(files.pdf(), "a.pdf"))
    assert client.post_message({"attachment_ids": [str(kept)]}).status_code == 201
    again = client.post_message({"content": "again", "attachment_ids": [str(kept)]})
    assert error_field(again) == "attachment_ids"
    assert SupportMessage.objects.count() == 1


def test_more_than_ten_attachments_is_422(uploader: Make, user: Any) -> None:
    client = uploader(user)
    ids = [str(upload_id(client.upload(b"note %d\n" % n, f"{n}.txt"))) for n in range(11)]
    assert error_field(client.post_message({"attachment_ids": ids})) == "attachment_ids"
    assert client.post_message({"attachment_ids": ids[:10]}).status_code == 201


def test_an_id_that_names_no_upload_is_422(uploader: Make, user: Any) -> None:
    response = uploader(user).post_message({"attachment_ids": [str(uuid.uuid4())]})
    assert error_field(response) == "attachment_ids"


def test_an_id_that_is_no_uuid_is_422(uploader: Make, user: Any) -> None:
    response = uploader(user).post_message({"attachment_ids": ["../../etc/passwd"]})
    assert error_field(response) == "attachment_ids"


def test_one_bad_id_refuses_the_whole_message_and_attaches_nothing(
    uploader: Make, user: Any
) -> None:
    client = uploader(user)
    kept = upload_id(client.upload(files.pdf(), "a.pdf"))
    response = client.post_message({"attachment_ids": [str(kept), str(uuid.uuid4())]})
    assert error_field(response) == "attachment_ids"
    assert Attachment.objects.get(id=kept).message_id is None


def test_an_id_given_twice_attaches_the_upload_once(uploader: Make, user: Any) -> None:
    client = uploader(user)
    kept = str(upload_id(client.upload(files.pdf(), "a.pdf")))
    response = client.post_message({"attachment_ids": [kept, kept]})
    assert [a["id"] for a in response.json()["attachments"]] == [kept]


def test_a_refused_attachment_costs_nothing_of_the_message_allowance(
    uploader: Make, user: Any, settings: Any
) -> None:
    settings.DESK_MESSAGES_PER_MINUTE = 1
    client = uploader(user)
    assert client.post_message({"attachment_ids": [str(uuid.uuid4())]}).status_code == 422
    assert client.post_message({"content": "hello"}).status_code == 201


def test_the_user_cannot_attach_supports_waiting_upload(
    uploader: Make, user: Any, admin: Any, chat: SupportChat
) -> None:
    supports = upload_id(uploader(admin).upload(files.pdf(), "x.pdf", chat_id=chat.id))
    response = uploader(user).post_message({"attachment_ids": [str(supports)]})
    assert error_field(response) == "attachment_ids"


def test_an_admin_replies_with_their_upload(
    uploader: Make, admin: Any, user: Any, chat: SupportChat
) -> None:
    client = uploader(admin)
    kept = upload_id(client.upload(files.png(), "steps.png", chat_id=chat.id))
    response = client.post_message({"attachment_ids": [str(kept)]}, chat_id=chat.id)
    assert response.status_code == 201
    assert viewer_in(response.json()["attachments"][0]["url"]) == admin.pk


def test_an_admin_cannot_attach_another_admins_upload(
    uploader: Make, admin: Any, other_admin: Any, chat: SupportChat
) -> None:
    kept = upload_id(uploader(other_admin).upload(files.pdf(), "x.pdf", chat_id=chat.id))
    response = uploader(admin).post_message({"attachment_ids": [str(kept)]}, chat_id=chat.id)
    assert error_field(response) == "attachment_ids"


def test_an_admin_cannot_attach_an_upload_into_another_chat(
    uploader: Make, admin: Any, chat: SupportChat, other_user: Any
) -> None:
    other_chat = services.chat_get_or_create(user=other_user)
    client = uploader(admin)
    kept = upload_id(client.upload(files.pdf(), "x.pdf", chat_id=other_chat.id))
    response = client.post_message({"attachment_ids": [str(kept)]}, chat_id=chat.id)
    assert error_field(response) == "attachment_ids"


# --- Reading -------------------------------------------------------------------------------------


@pytest.fixture
def sent(uploader: Make, user: Any, admin: Any, chat: SupportChat) -> SupportMessage:
    """A user's message with an image and a PDF."""
    client = uploader(user)
    ids = [
        upload_id(client.upload(files.png(), "a.png")),
        upload_id(client.upload(files.pdf(), "file.pdf")),
    ]
    return services.user_message_post(user=user, content="two files", attachment_ids=ids)


def test_every_way_of_reading_messages_shows_the_attachments(
    uploader: Make, user: Any, admin: Any, sent: SupportMessage, chat: SupportChat
) -> None:
    mine = uploader(user)
    support = uploader(admin)
    pages = [
        mine.get("/support_chat").json()["messages"],
        mine.get("/support_chat/messages").json()["messages"],
        support.get(f"/admin/chats/{chat.id}").json()["messages"],
        support.get(f"/admin/chats/{chat.id}/messages").json()["messages"],
    ]
    for messages in pages:
        [message] = messages
        assert [a["name"] for a in message["attachments"]] == ["a.png", "file.pdf"]


def test_each_reader_gets_urls_signed_for_themselves(
    uploader: Make, user: Any, admin: Any, sent: SupportMessage, chat: SupportChat
) -> None:
    users = uploader(user).get("/support_chat").json()["messages"][0]["attachments"][0]
    admins = uploader(admin).get(f"/admin/chats/{chat.id}").json()["messages"][0]["attachments"][0]
    assert (viewer_in(users["url"]), viewer_in(admins["url"])) == (user.pk, admin.pk)
    assert viewer_in(users["thumbnail_url"]) == user.pk


def test_messages_without_attachments_have_an_empty_list(
    uploader: Make, user: Any, say: Any
) -> None:
    say("plain")
    [message] = uploader(user).get("/support_chat").json()["messages"]
    assert message["attachments"] == []


def test_a_page_of_messages_reads_all_their_attachments_in_one_more_query(
    uploader: Make, user: Any, settings: Any
) -> None:
    settings.DESK_MESSAGES_PER_MINUTE = 1000
    settings.DESK_UPLOADS_PER_HOUR = 1000
    client = uploader(user)

    def post(count: int) -> None:
        for n in range(count):
            ids = [upload_id(client.upload(b"file %d\n" % k, f"{k}.txt")) for k in range(2)]
            services.user_message_post(user=user, content=f"message {n}", attachment_ids=ids)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/support_chat/messages", limit=200).json()
        assert all(len(message["attachments"]) == 2 for message in page["messages"])
        return len(captured)

    post(2)
    few = queries()
    post(20)
    many = queries()
    assert few == many
    # The user, the messages, their attachments (the session comes from Redis).
    assert many == 3


def test_the_admin_list_previews_a_message_of_attachments_by_the_first_ones_name(
    uploader: Make, user: Any, admin: Any
) -> None:
    client = uploader(user)
    kept = upload_id(client.upload(files.pdf(), "Contract.pdf"))
    client.post_message({"attachment_ids": [str(kept)]})
    [row] = uploader(admin).get("/admin/chats").json()["items"]
    assert row["last_message_preview"] == "\N{PAPERCLIP} Contract.pdf"


def test_the_admin_list_still_previews_text(
    uploader: Make, user: Any, admin: Any, say: Any
) -> None:
    say("hello there")
    [row] = uploader(admin).get("/admin/chats").json()["items"]
    assert row["last_message_preview"] == "hello there"


def test_a_messages_events_carry_its_attachments_and_cost_no_query(
    user: Any, sent: SupportMessage, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        event = builders.new_message_event(sent)
        feed = builders.admin_feed_message_event(sent)
    assert [a["name"] for a in event["message"]["attachments"]] == ["a.png", "file.pdf"]
    # Signed by each socket for its own user as it sends the event (test_sockets.py).
    assert event["message"]["attachments"][0]["url"] is None
    assert feed["message"]["attachments"] == event["message"]["attachments"]


def test_the_reply_email_can_load_its_replies_attachments_in_one_query(
    uploader: Make, admin: Any, chat: SupportChat, django_assert_num_queries: Any
) -> None:
    # What notifications needs to list attachments by name, for any number of replies.
    client = uploader(admin)
    for name in ("Guide.pdf", "Steps.pdf"):
        kept = upload_id(client.upload(files.pdf(), name, chat_id=chat.id))
        services.admin_reply_post(admin=admin, chat_id=chat.id, content="", attachment_ids=[kept])
    with django_assert_num_queries(2):
        replies = selectors.attachments_load(list(SupportMessage.objects.unread_replies()))
        names = [a.name for reply in replies for a in selectors.message_attachments(reply)]
    assert names == ["Guide.pdf", "Steps.pdf"]


def test_prefetching_a_messages_attachments_is_enough_for_its_schema(
    sent: SupportMessage, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):
        [message] = SupportMessage.objects.prefetch_related("attachments")
        names = [a.name for a in selectors.message_attachments(message)]
    assert names == ["a.png", "file.pdf"]
