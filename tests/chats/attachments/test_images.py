"""Images are decoded and re-encoded with Pillow: metadata and anything hidden around the pixels
are dropped, bombs are refused before decoding, a thumbnail is made."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image

from chats.attachments import storage
from chats.models import Attachment
from tests.chats.attachments import files
from tests.chats.attachments.conftest import Make, attachment, body, fetch, stored

pytestmark = pytest.mark.django_db


def stored_bytes(kept: Attachment, *, thumbnail: bool = False) -> bytes:
    name = kept.thumbnail_name if thumbnail else kept.storage_name
    return b"".join(storage.file_chunks(name))


def test_gps_and_camera_exif_are_stripped_from_a_jpeg(uploader: Make, user: Any) -> None:
    original = files.jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    kept = attachment(uploader(user).upload(original, "holiday.jpg"))
    cleaned = stored_bytes(kept)
    image = Image.open(io.BytesIO(cleaned))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"Exif\x00\x00" not in cleaned
    assert b"PhoneMaker" not in cleaned


def test_the_thumbnail_has_no_exif_either(uploader: Make, user: Any) -> None:
    kept = attachment(uploader(user).upload(files.jpeg(gps=True), "holiday.jpg"))
    thumbnail = stored_bytes(kept, thumbnail=True)
    assert b"Exif\x00\x00" not in thumbnail
    assert dict(Image.open(io.BytesIO(thumbnail)).getexif()) == {}


def test_a_photos_orientation_is_applied_to_its_pixels(uploader: Make, user: Any) -> None:
    # Orientation 6: the camera was turned; the stored image is upright without EXIF.
    kept = attachment(uploader(user).upload(files.jpeg(64, 48, orientation=6), "turned.jpg"))
    assert (kept.width, kept.height) == (48, 64)
    assert Image.open(io.BytesIO(stored_bytes(kept))).size == (48, 64)


def test_an_images_size_and_thumbnail_are_recorded(uploader: Make, user: Any) -> None:
    response = uploader(user).upload(files.png(1000, 500), "wide.png")
    answer = response.json()
    assert (answer["width"], answer["height"]) == (1000, 500)
    assert answer["thumbnail_url"].startswith("http")
    kept = Attachment.objects.get()
    assert Image.open(io.BytesIO(stored_bytes(kept, thumbnail=True))).size == (320, 160)
    assert kept.thumbnail_content_type == "image/jpeg"


def test_a_transparent_images_thumbnail_is_a_png(uploader: Make, user: Any) -> None:
    kept = attachment(
        uploader(user).upload(files.png(50, 50, mode="RGBA", color=(0, 0, 0, 0)), "icon.png")
    )
    thumbnail = Image.open(io.BytesIO(stored_bytes(kept, thumbnail=True)))
    assert (thumbnail.format, thumbnail.mode) == ("PNG", "RGBA")


def test_a_png_html_polyglot_is_stored_as_a_plain_png(uploader: Make, user: Any) -> None:
    polyglot = files.png_html_polyglot()
    assert b"<script>" in polyglot
    assert Image.open(io.BytesIO(polyglot)).format == "PNG"
    response = uploader(user).upload(polyglot, "innocent.png")
    kept = attachment(response)
    cleaned = stored_bytes(kept)
    assert b"<script" not in cleaned
    assert b"<html" not in cleaned
    assert Image.open(io.BytesIO(cleaned)).size == (40, 30)


def test_a_png_html_polyglot_is_served_as_an_image_that_no_browser_sniffs(
    uploader: Make, user: Any
) -> None:
    response = uploader(user).upload(files.png_html_polyglot(), "innocent.html")
    served = fetch(response.json()["url"])
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"<script" not in body(served)


def test_a_small_png_declaring_huge_dimensions_is_refused_before_decoding(
    uploader: Make, user: Any, storage_dir: Path
) -> None:
    bomb = files.png_declaring(100_000, 100_000)
    assert len(bomb) < 100
    response = uploader(user).upload(bomb, "bomb.png")
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "file"]
    assert "too many pixels" in error["msg"]
    assert stored(storage_dir) == []


def test_an_image_over_desks_pixel_limit_but_under_pillows_is_refused(
    uploader: Make, user: Any
) -> None:
    # 7,000 x 7,000 = 49 million pixels: over DESK_ATTACHMENT_MAX_PIXELS (40 million), under
    # Pillow's own warning threshold (about 89 million).
    response = uploader(user).upload(files.png_declaring(7000, 7000), "big.png")
    assert response.status_code == 422
    assert "(7000 x 7000)" in response.json()["detail"][0]["msg"]


def test_a_damaged_image_is_422(uploader: Make, user: Any) -> None:
    truncated = files.jpeg(200, 200)[:300]
    response = uploader(user).upload(truncated, "broken.jpg")
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "This image is damaged or cannot be read."


def test_an_animated_gif_keeps_its_frames(uploader: Make, user: Any) -> None:
    kept = attachment(uploader(user).upload(files.gif(frames=5), "dance.gif"))
    image = Image.open(io.BytesIO(stored_bytes(kept)))
    assert image.format == "GIF"
    assert image.n_frames == 5


def test_an_animated_gif_with_too_many_frames_is_422(uploader: Make, user: Any) -> None:
    response = uploader(user).upload(files.gif(frames=101, width=4, height=4), "long.gif")
    assert response.status_code == 422
    assert "at most 100 frames" in response.json()["detail"][0]["msg"]


def test_an_animation_over_the_pixel_limit_in_all_its_frames_is_422(
    uploader: Make, user: Any, settings: Any
) -> None:
    settings.DESK_ATTACHMENT_MAX_PIXELS = 20 * 20 * 3
    response = uploader(user).upload(files.gif(frames=4), "dance.gif")
    assert response.status_code == 422


def test_a_webp_keeps_its_transparency(uploader: Make, user: Any) -> None:
    kept = attachment(uploader(user).upload(files.webp(), "sticker.webp"))
    image = Image.open(io.BytesIO(stored_bytes(kept)))
    assert (image.format, image.mode) == ("WEBP", "RGBA")


def test_the_size_recorded_is_the_re_encoded_files(uploader: Make, user: Any) -> None:
    kept = attachment(uploader(user).upload(files.jpeg(gps=True), "a.jpg"))
    assert kept.size == len(stored_bytes(kept))
    assert kept.thumbnail_size == len(stored_bytes(kept, thumbnail=True))
