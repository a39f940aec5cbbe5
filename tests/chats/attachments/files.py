"""Files for the attachments' tests, made here byte by byte or with Pillow: honest ones of every
accepted type, and hostile ones (polyglots, bombs, markup in disguise)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import ExifTags, Image

HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script></svg>"
)
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (55.0, 45.0, 21.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (37.0, 37.0, 4.0),
}


def png(width: int = 40, height: int = 30, *, mode: str = "RGB", color: object = "teal") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, "PNG")  # type: ignore[arg-type]
    return out.getvalue()


def jpeg(width: int = 64, height: int = 48, *, gps: bool = False, orientation: int = 0) -> bytes:
    """A JPEG; with `gps`, EXIF holding a camera make and a GPS position (as a phone writes)."""
    exif = Image.Exif()
    if gps:
        exif[ExifTags.Base.Make] = "PhoneMaker"
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(out, "JPEG", exif=exif)
    return out.getvalue()


def gif(frames: int = 1, *, width: int = 20, height: int = 20) -> bytes:
    # Frames of different colours: Pillow merges frames that look the same.
    images = [
        Image.new("RGB", (width, height), ((index * 37) % 256, (index * 91) % 256, index % 256))
        for index in range(frames)
    ]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=frames > 1, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def webp(width: int = 30, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 200, 30, 128)).save(out, "WEBP")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares `width` x `height` pixels: a
    decompression bomb as far as its header goes (its data is a single byte of zlib)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00"))
        + _chunk(b"IEND", b"")
    )


def png_html_polyglot() -> bytes:
    """A valid PNG with an HTML page in a text chunk and another after its end: a browser that
    sniffed it would find markup."""
    image = png()
    end = image.rindex(b"\x00\x00\x00\x00IEND")
    text = _chunk(b"tEXt", b"Comment\x00" + HTML_PAGE)
    return image[:end] + text + image[end:] + HTML_PAGE


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def zipped(entries: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(entries):
            method = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/"/>'


def ooxml(main_part: str, *extra: tuple[str, bytes]) -> bytes:
    """docx (word/document.xml), xlsx (xl/workbook.xml) or pptx (ppt/presentation.xml)."""
    return zipped(
        [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", b"<Relationships/>"),
            (main_part, b"<document>hello</document>"),
            *extra,
        ]
    )


def docx(*extra: tuple[str, bytes]) -> bytes:
    return ooxml("word/document.xml", *extra)


def odf(kind: str) -> bytes:
    """odt, ods or odp: the stored `mimetype` entry first, as OpenDocument requires."""
    mimetype = f"application/vnd.oasis.opendocument.{kind}".encode()
    return zipped(
        [("mimetype", mimetype), ("content.xml", b"<office:document-content/>")],
        stored_first=True,
    )


def zip_bomb_docx(expanded: int = 50 * 1024 * 1024) -> bytes:
    """A docx by its central directory, with one entry of `expanded` zero bytes compressed about
    a thousand to one."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", b"<document/>")
        with archive.open("word/media/image1.bmp", "w") as entry:
            block = b"\x00" * (1024 * 1024)
            for _ in range(expanded // len(block)):
                entry.write(block)
    return out.getvalue()


def ole(*streams: str) -> bytes:
    """A minimal OLE compound file (MS-CFB v3, 512-byte sectors) whose directory holds these
    stream names: "WordDocument" makes a .doc, "Workbook" an .xls, "PowerPoint Document" a .ppt.
    Sector 0 is the FAT, sector 1 the directory."""
    header = bytearray(512)
    header[0:8] = bytes.fromhex("d0cf11e0a1b11ae1")
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<III", header, 0x2C, 1, 1, 0)  # one FAT sector; directory at sector 1
    struct.pack_into("<IIIII", header, 0x38, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([0xFFFFFFFF] * 108))
    fat = struct.pack("<128I", 0xFFFFFFFD, 0xFFFFFFFE, *([0xFFFFFFFF] * 126))
    entries = [("Root Entry", 5), *((name, 2) for name in streams)]
    assert len(entries) <= 4
    directory = bytearray(512)
    for index, (name, kind) in enumerate(entries):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        offset = index * 128
        directory[offset : offset + len(raw)] = raw
        struct.pack_into("<HB", directory, offset + 64, len(raw), kind)
    return bytes(header) + fat + bytes(directory)


def executable() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"PE\x00\x00"
