"""Attachments on an S3-compatible store: a real one, moto's server mode in a subprocess
(tests/s3_server.py), configured from the environment exactly as a deployment is."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chats import services
from chats.models import Attachment, SupportChat
from tests.chats.attachments import files
from tests.chats.attachments.conftest import Make, attachment, body, fetch, stored
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, moto_server
from tests.settings_env import FreshDesk

pytestmark = pytest.mark.django_db

PREFIX = "desk-files"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def s3_settings(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """desk's settings, loaded by a fresh process from a deployment's S3 environment."""
    bucket = f"desk-test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    ).create_bucket(Bucket=bucket)
    return FreshDesk(tmp_path_factory.mktemp("desk")).settings(
        DEBUG="true",
        DESK_ATTACHMENTS_S3_BUCKET=bucket,
        DESK_ATTACHMENTS_S3_ENDPOINT_URL=s3_endpoint,
        DESK_ATTACHMENTS_S3_REGION=REGION,
        DESK_ATTACHMENTS_S3_ACCESS_KEY_ID=ACCESS_KEY,
        DESK_ATTACHMENTS_S3_SECRET_ACCESS_KEY=SECRET_KEY,
        DESK_ATTACHMENTS_S3_PREFIX=f"/{PREFIX}/",
    )


@pytest.fixture
def on_s3(settings: Any, s3_settings: dict[str, Any], storage_dir: Path) -> Any:
    """This test's attachments go to the bucket; the bucket's client to look inside it."""
    settings.STORAGES = {**settings.STORAGES, "attachments": s3_settings["STORAGES"]["attachments"]}
    options = s3_settings["STORAGES"]["attachments"]["OPTIONS"]
    return boto3.resource(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    ).Bucket(options["bucket_name"])


def keys(bucket: Any) -> set[str]:
    return {summary.key for summary in bucket.objects.all()}


def test_the_s3_environment_makes_a_private_s3_storage(
    s3_settings: dict[str, Any], s3_endpoint: str
) -> None:
    config = s3_settings["STORAGES"]["attachments"]
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    assert config["OPTIONS"]["endpoint_url"] == s3_endpoint
    assert config["OPTIONS"]["location"] == PREFIX
    assert config["OPTIONS"]["addressing_style"] == "path"
    assert config["OPTIONS"]["default_acl"] is None


def test_an_upload_goes_to_the_bucket_and_comes_back_through_the_signed_url(
    on_s3: Any, uploader: Make, user: Any, storage_dir: Path
) -> None:
    response = uploader(user).upload(files.jpeg(gps=True), "photo.jpg")
    kept = attachment(response)
    assert keys(on_s3) == {
        f"{PREFIX}/{kept.storage_name}",
        f"{PREFIX}/{kept.thumbnail_name}",
    }
    assert stored(storage_dir) == []  # nothing on the local disk
    served = fetch(response.json()["url"])
    assert served.status_code == 200
    data = body(served)
    assert len(data) == kept.size
    assert data.startswith(b"\xff\xd8\xff")
    assert b"PhoneMaker" not in data
    assert body(fetch(response.json()["thumbnail_url"])).startswith(b"\xff\xd8\xff")


def test_a_larger_file_streams_back_whole_in_chunks(
    on_s3: Any, uploader: Make, user: Any, settings: Any
) -> None:
    settings.DESK_ATTACHMENT_MAX_BYTES = 1024 * 1024
    text = b"".join(b"line %06d of a long log\n" % n for n in range(30_000))
    response = uploader(user).upload(text, "server.log")
    served = fetch(response.json()["url"])
    assert served.streaming
    assert body(served) == text


def test_deleting_a_chat_deletes_its_objects_from_the_bucket(
    on_s3: Any,
    uploader: Make,
    user: Any,
    chat: SupportChat,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = uploader(user)
    sent = attachment(client.upload(files.png(), "a.png"))
    services.user_message_post(user=user, content="", attachment_ids=[sent.id])
    waiting = attachment(client.upload(files.pdf(), "b.pdf"))
    mine = {f"{PREFIX}/{name}" for kept in (sent, waiting) for name in kept.stored_names()}
    assert mine <= keys(on_s3)
    with django_capture_on_commit_callbacks(execute=True):
        SupportChat.objects.filter(id=chat.id).delete()
    assert not mine & keys(on_s3)
    assert not Attachment.objects.exists()


def test_a_bucket_that_cannot_take_the_file_is_503_and_keeps_nothing(
    settings: Any, s3_settings: dict[str, Any], uploader: Make, user: Any
) -> None:
    config = s3_settings["STORAGES"]["attachments"]
    missing = {**config, "OPTIONS": {**config["OPTIONS"], "bucket_name": "no-such-bucket"}}
    settings.STORAGES = {**settings.STORAGES, "attachments": missing}
    response = uploader(user).upload(files.pdf(), "a.pdf")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert not Attachment.objects.exists()


def test_an_object_lost_from_the_bucket_is_503_not_a_cut_off_response(
    on_s3: Any, uploader: Make, user: Any
) -> None:
    response = uploader(user).upload(files.pdf(), "a.pdf")
    kept = attachment(response)
    on_s3.Object(f"{PREFIX}/{kept.storage_name}").delete()
    served = fetch(response.json()["url"])
    assert served.status_code == 503
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
