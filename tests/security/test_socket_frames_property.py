"""Property: whatever frames a client sends, the socket answers as documented and stays open.

Hypothesis generates sequences of frames: well-formed actions with hostile fields (any JSON value,
NUL, lone surrogates, long text), arbitrary JSON, text that is not JSON, and binary frames. After
each sequence a probe (`sync` with a request id) must be answered, so the socket is still open and
serving; every frame received until then must be a documented event, and no error may be
`internal_error` (a failure on desk's side). Derandomized: each run sends the same frames.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chats import ratelimit, services
from chats.models import SupportChat
from chats.realtime.protocol import ErrorCode, EventType
from tests.conftest import channel_layers_forget
from tests.realtime.conftest import ORIGIN, WebsocketCommunicator, session_cookie
from tests.security.conftest import FIGURES

EXAMPLES = 150
ACTIONS = ["send_message", "mark_read", "viewed", "typing", "sync"]

# Any character at all, lone surrogates and NUL included (json.dumps escapes them).
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_text, children,
                                                                      max_size=3),
    max_leaves=8,
)  # fmt: skip
actions = st.sampled_from(ACTIONS) | any_text | json_values
action_frames = st.fixed_dictionaries(
    {"action": actions},
    optional={
        "content": any_text | st.text(min_size=4990, max_size=5010) | json_values,
        "request_id": any_text | json_values,
        "after": st.uuids().map(str) | json_values,
        "is_typing": json_values,
    },
).map(json.dumps)
frames = st.one_of(
    action_frames,
    json_values.map(json.dumps),
    any_text,
    st.binary(max_size=40),
)

DOCUMENTED_TYPES = {str(t) for t in EventType}
DOCUMENTED_CODES = {str(c) for c in ErrorCode} - {ErrorCode.INTERNAL_ERROR}


@pytest.fixture
def generous_limits(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Rate limits would answer most frames with rate_limited and hide the handlers behind them.
    settings.DESK_MESSAGES_PER_MINUTE = 1_000_000
    monkeypatch.setattr(ratelimit, "SOCKET_FRAMES", ratelimit.Limit("socket-frames", 10**6, 60))


async def exchange(path: str, cookie: str, sent: list[str | bytes], anchor: str) -> list[Any]:
    """Send the frames, then the probe; every frame received until the probe's answer."""
    from desk.asgi import application

    communicator = WebsocketCommunicator(
        application,
        path,
        headers=[(b"origin", ORIGIN.encode()), (b"cookie", f"sessionid={cookie}".encode())],
    )
    assert (await communicator.connect(within=5))[0]
    received: list[Any] = []
    try:
        for frame in sent:
            key = "bytes" if isinstance(frame, bytes) else "text"
            await communicator.send_input({"type": "websocket.receive", key: frame})
        probe = {"action": "sync", "after": anchor, "request_id": "probe"}
        await communicator.send_input({"type": "websocket.receive", "text": json.dumps(probe)})
        while True:
            output = await communicator.receive_output(10)
            assert output["type"] == "websocket.send", f"the socket was closed: {output}"
            event = json.loads(output["text"])
            received.append(event)
            if event.get("request_id") == "probe":
                return received
    finally:
        await communicator.disconnect(within=5)
        await ratelimit.close()
        # Each example runs in an event loop of its own (async_to_sync).
        channel_layers_forget()


def check(received: list[Any]) -> None:
    for event in received:
        assert isinstance(event, dict), event
        assert event.get("type") in DOCUMENTED_TYPES, event
        if event["type"] == EventType.ERROR:
            assert event["code"] in DOCUMENTED_CODES, event
    assert received[-1]["type"] == EventType.SYNC, received[-1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("side", ["user", "admin"])
def test_any_frames_get_documented_answers_and_the_socket_stays_open(
    side: str, user: Any, admin: Any, chat: SupportChat, generous_limits: None
) -> None:
    anchor = str(services.user_message_post(user=user, content="first").id)
    cookie = session_cookie(user if side == "user" else admin)
    path = f"/ws/support_chat/{chat.id}/"

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(frames, min_size=1, max_size=4))
    def property_holds(sent: list[str | bytes]) -> None:
        FIGURES["socket frames property: frames sent"] += len(sent)
        check(async_to_sync(exchange)(path, cookie, sent, anchor))

    property_holds()
