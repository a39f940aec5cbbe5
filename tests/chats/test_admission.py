"""Admission of a new message: the posting services clean it and take it from the allowance.

Whatever calls `user_message_post` or `admin_reply_post` (REST, a socket, the dashboard's form, an
edge not written yet) gets the same rules: invalid content refused at no cost, then one message
from the sender's DESK_MESSAGES_PER_MINUTE, then the transaction.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from chats import services, validation
from chats.errors import InvalidInputError, PermissionDeniedError, RateLimitedError
from chats.models import SupportChat, SupportMessage

pytestmark = pytest.mark.django_db

EDGES = ["chats/api.py", "chats/consumers.py", "chats/dashboard.py"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_a_minute(settings: Any) -> int:
    settings.DESK_MESSAGES_PER_MINUTE = 2
    return 2


def stored() -> list[str]:
    return list(SupportMessage.objects.values_list("content", flat=True))


def test_a_caller_of_the_user_service_gets_the_allowance_without_asking(
    user: Any, two_a_minute: int
) -> None:
    services.user_message_post(user=user, content="one")
    services.user_message_post(user=user, content="two")
    with pytest.raises(RateLimitedError) as refused:
        services.user_message_post(user=user, content="three")
    assert 0 < refused.value.retry_after <= 30
    assert stored() == ["one", "two"]


def test_a_caller_of_the_reply_service_gets_the_admins_allowance_without_asking(
    admin: Any, chat: SupportChat, two_a_minute: int
) -> None:
    for content in ["one", "two"]:
        services.admin_reply_post(admin=admin, chat_id=chat.id, content=content)
    with pytest.raises(RateLimitedError):
        services.admin_reply_post(admin=admin, chat_id=chat.id, content="three")
    assert stored() == ["one", "two"]


def test_invalid_messages_cost_nothing_of_the_allowance(user: Any, two_a_minute: int) -> None:
    for content in ["", "  ", "\x00", "x" * 5001, None]:
        with pytest.raises(InvalidInputError):
            services.user_message_post(user=user, content=content)
    services.user_message_post(user=user, content="one")
    services.user_message_post(user=user, content="two")
    assert stored() == ["one", "two"]


def test_a_non_admins_refused_reply_costs_nothing_of_their_allowance(
    other_user: Any, chat: SupportChat, settings: Any
) -> None:
    settings.DESK_MESSAGES_PER_MINUTE = 1
    with pytest.raises(PermissionDeniedError):
        services.admin_reply_post(admin=other_user, chat_id=chat.id, content="hi")
    services.user_message_post(user=other_user, content="my own question")
    assert stored() == ["my own question"]


def test_a_message_over_the_allowance_is_refused_before_any_query(
    user: Any, chat: SupportChat, two_a_minute: int, django_assert_num_queries: Any
) -> None:
    services.user_message_post(user=user, content="one")
    services.user_message_post(user=user, content="two")
    with django_assert_num_queries(0), pytest.raises(RateLimitedError):
        services.user_message_post(user=user, content="three")


def test_the_content_is_cleaned_once_by_the_service_for_a_rest_post(
    api: Any, user: Any, chat: SupportChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    def counted(content: object) -> str:
        calls.append(content)
        return validation.clean_content(content)

    monkeypatch.setattr(services, "clean_content", counted)
    response = api(user).post("/support_chat/messages", {"content": "  hello \n"})
    assert response.status_code == 201
    assert response.json()["content"] == "hello"
    # The edge handed over what the client sent; the service cleaned it, once.
    assert calls == ["  hello \n"]


def test_without_redis_the_service_still_posts_and_warns(
    user: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A flood is a lesser harm than support going silent (chats/ratelimit.py).
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    services.user_message_post(user=user, content="hello")
    assert stored() == ["hello"]
    assert "rate limiter unavailable" in caplog.text


@pytest.mark.parametrize("path", EDGES)
def test_the_edges_leave_validation_and_the_allowance_to_the_services(path: str) -> None:
    # An edge that cleaned or limited a message itself would clean it twice, or charge a
    # message the service then refuses; one that did so instead of the service is the bug this
    # guards against, an edge without the allowance.
    tree = ast.parse((ROOT / path).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "chats.validation"
        for alias in node.names
    }
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    limiter_calls = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ratelimit"
    }
    assert not imported
    assert "clean_content" not in names
    assert limiter_calls <= {"take", "SOCKET_FRAMES"}, "only the socket's frame limit"
