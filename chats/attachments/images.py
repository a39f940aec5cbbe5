"""Images are decoded and encoded again with Pillow before desk keeps them.

What a new encoding leaves behind: EXIF (a phone's GPS position, the camera's serial number),
XMP, comments, text chunks, and anything after the image's data (an HTML page appended to a PNG).
Only the pixels, the colour profile and a palette's transparency survive; a photo's EXIF
orientation is applied to its pixels first, so it still shows the right way up.

- Decompression bombs: an image declaring more than DESK_ATTACHMENT_MAX_PIXELS pixels is refused
  from its header, before a pixel is decoded (422; Pillow's own DecompressionBomb check, at about
  twice its MAX_IMAGE_PIXELS, stays behind it).
- Animated GIFs keep their animation up to GIF_MAX_FRAMES frames, and as long as all their frames
  together stay within the pixel limit; beyond either, 422. Animated PNG and WebP keep their first
  frame only.
- A thumbnail (THUMBNAIL_SIZE pixels on its longer side at most, the first frame for an animation)
  is made for every image: JPEG, or PNG when the image has transparency.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_lazy, ngettext
from PIL import Image, ImageOps, ImageSequence

from chats.attachments.filetypes import GIF, JPEG, PNG, WEBP, FileType
from chats.errors import InvalidInputError

THUMBNAIL_SIZE = 320
GIF_MAX_FRAMES = 100
JPEG_QUALITY = 90
WEBP_QUALITY = 90
THUMBNAIL_QUALITY = 80
# What a re-encoded image keeps of the original's metadata: a palette's transparent colour.
KEPT_INFO = ("transparency",)


@dataclass(frozen=True)
class ProcessedImage:
    content: bytes
    width: int
    height: int
    thumbnail: bytes
    thumbnail_type: str


def image_process(file: IO[bytes], found: FileType, *, max_pixels: int) -> ProcessedImage:
    """`file` (the upload, of type `found`, an image type) decoded and encoded again, with its
    thumbnail. Raises InvalidInputError (field `file`) for an image that does not decode, or
    declares too many pixels or frames."""
    assert found.image_format is not None
    file.seek(0)
    width = height = 0
    try:
        with Image.open(file, formats=[found.image_format]) as source:
            width, height = source.size
            if width * height > max_pixels:
                raise _too_many_pixels(width, height, max_pixels)
            frames = _frames(source, found, max_pixels=max_pixels)
            icc_profile = source.info.get("icc_profile")
            loop = source.info.get("loop")
    except InvalidInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit, past ours: an error beyond twice MAX_IMAGE_PIXELS, a warning (an
        # error under the test suite's warning filter) beyond it.
        raise _too_many_pixels(width, height, max_pixels) from None
    except Exception:
        # Pillow meets a damaged file with any of OSError, SyntaxError, ValueError, EOFError,
        # struct.error, IndexError...: for an upload each means the same thing.
        raise InvalidInputError(
            "file", gettext_lazy("This image is damaged or cannot be read.")
        ) from None
    first = frames[0][0]
    content = _encode(frames, found, icc_profile=icc_profile, loop=loop)
    thumbnail, thumbnail_type = _thumbnail(first)
    return ProcessedImage(content, first.width, first.height, thumbnail, thumbnail_type)


def _frames(
    source: Image.Image, found: FileType, *, max_pixels: int
) -> list[tuple[Image.Image, int | None]]:
    """The decoded frames to keep, each with its duration (ms): one, but for an animated GIF."""
    if found is not GIF:
        source.load()
        return [(_upright(source), None)]
    frames: list[tuple[Image.Image, int | None]] = []
    pixels = source.width * source.height
    for index, frame in enumerate(ImageSequence.Iterator(source)):
        if index >= GIF_MAX_FRAMES:
            raise InvalidInputError(
                "file",
                ngettext(
                    "Animated images may have at most %(count)s frame.",
                    "Animated images may have at most %(count)s frames.",
                    GIF_MAX_FRAMES,
                )
                % {"count": GIF_MAX_FRAMES},
            )
        if (index + 1) * pixels > max_pixels:
            raise InvalidInputError(
                "file", gettext_lazy("This animation has too many pixels in all.")
            )
        frame.load()
        frames.append((_clean(frame.copy()), frame.info.get("duration")))
    return frames


def _upright(image: Image.Image) -> Image.Image:
    # The EXIF orientation applied to the pixels (the EXIF itself is not kept).
    return _clean(ImageOps.exif_transpose(image))


def _clean(image: Image.Image) -> Image.Image:
    image.info = {key: image.info[key] for key in KEPT_INFO if key in image.info}
    return image


def _encode(
    frames: list[tuple[Image.Image, int | None]],
    found: FileType,
    *,
    icc_profile: bytes | None,
    loop: int | None,
) -> bytes:
    out = io.BytesIO()
    image = frames[0][0]
    options: dict[str, Any] = {}
    if icc_profile and found is not GIF:
        options["icc_profile"] = icc_profile
    if found is JPEG:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY, **options)
    elif found is PNG:
        if image.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "PNG", **options)
    elif found is WEBP:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if _has_alpha(image) else "RGB")
        image.save(out, "WEBP", quality=WEBP_QUALITY, **options)
    elif len(frames) == 1:
        image.save(out, "GIF")
    else:
        if loop is not None:
            options["loop"] = loop
        image.save(
            out,
            "GIF",
            save_all=True,
            append_images=[frame for frame, _ in frames[1:]],
            duration=[duration or 100 for _, duration in frames],
            **options,
        )
    return out.getvalue()


def _thumbnail(image: Image.Image) -> tuple[bytes, str]:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    out = io.BytesIO()
    if _has_alpha(thumb):
        thumb.convert("RGBA").save(out, "PNG")
        return out.getvalue(), PNG.content_type
    thumb.convert("RGB").save(out, "JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue(), JPEG.content_type


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _too_many_pixels(width: int, height: int, max_pixels: int) -> InvalidInputError:
    limit = number_format(max_pixels, force_grouping=True)
    if width and height:
        # Translators: the image's width and height in pixels, then the largest area accepted.
        text = gettext(
            "This image has too many pixels (%(width)s x %(height)s): at most %(limit)s are "
            "accepted."
        ) % {"width": width, "height": height, "limit": limit}
    else:
        text = gettext("This image has too many pixels: at most %(limit)s are accepted.") % {
            "limit": limit
        }
    return InvalidInputError("file", text)
