"""Uploads through a real desk server (uvicorn, desk's ASGI stack and request thread pool), where a
body is read, and counted, before Django sees it: a file up to DESK_ATTACHMENT_MAX_BYTES gets
through, one byte more is 413, and the JSON endpoints keep their 2.5 MB limit."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.live import CSRF, Server, live_desk

pytestmark = pytest.mark.slow

LIMIT = 3 * 1024 * 1024  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE of 2.5 MB


def upload(server: Server, cookie: str, data: bytes, name: str) -> tuple[int, Any]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{server.origin}/api/support_chat/attachments",
        method="POST",
        data=body,
        headers={
            "Cookie": f"sessionid={cookie}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": server.origin,
            "Referer": server.origin + "/",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_a_real_server_takes_a_file_up_to_the_limit_and_refuses_one_byte_more(
    tmp_path: Path,
) -> None:
    env = {"DESK_ATTACHMENT_MAX_BYTES": str(LIMIT)}
    with live_desk(tmp_path, servers=1, users=["ann"], env=env) as desk:
        cookie = desk.cookies["ann"]
        status, answer = upload(desk.a, cookie, b"a" * LIMIT, "exact.txt")
        assert status == 201, answer
        assert answer["size"] == LIMIT
        status, answer = upload(desk.a, cookie, b"a" * (LIMIT + 1), "over.txt")
        assert status == 413
        assert answer["detail"].startswith("The file is too large")
