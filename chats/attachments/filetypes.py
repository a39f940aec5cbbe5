"""What an uploaded file is, from its bytes alone: never its name, never its declared type.

Accepted: images (PNG, JPEG, GIF, WebP), PDF, plain text (UTF-8 without NUL), CSV, and office
documents: docx, xlsx and pptx (a zip whose central directory lists `[Content_Types].xml` and the
format's main part), odt, ods and odp (a zip whose first entry is the stored `mimetype`), and
legacy doc, xls and ppt (an OLE compound file holding the format's main stream). Anything else
is UnsupportedFileTypeError (415).

Refused although they would pass a looser test:
- text that is markup (it starts with a tag, or holds `<script`, `<svg`, ...): an HTML or SVG file,
  whatever its name, is never taken as text. Served with nosniff and a sandbox it would be harmless
  anyway; refusing it keeps desk from ever holding a page;
- office files with macros (a `vbaProject.bin`, a `Macros` or `_VBA_PROJECT_CUR` storage);
- a zip that declares it would expand to more than MAX_EXPANDED_BYTES, or an entry over 1 MiB
  compressed more than MAX_EXPANSION_RATIO to one (InvalidInputError, 422: a zip bomb). Only the
  central directory is read, never an entry's data (but the ODF `mimetype`, stored, 100 bytes at
  most): a bomb that lies about its sizes is stored as it is and served as a download, which desk
  itself never opens.

No libmagic (a fresh machine has only Python): each signature is a few lines below.
"""

from __future__ import annotations

import codecs
import csv
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from django.utils.translation import gettext_lazy

from chats.attachments.errors import UnsupportedFileTypeError
from chats.errors import InvalidInputError
from chats.models import ATTACHMENT_NAME_MAX_LENGTH

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class FileType:
    content_type: str
    # The extension a download gets when its name has none of `extensions`.
    extension: str
    extensions: frozenset[str]
    # Pillow's name for an image format; None for everything served as a download.
    image_format: str | None = None

    @property
    def is_image(self) -> bool:
        return self.image_format is not None

    @property
    def is_text(self) -> bool:
        return self.content_type.startswith("text/")


def _type(content_type: str, *extensions: str, image_format: str | None = None) -> FileType:
    return FileType(content_type, extensions[0], frozenset(extensions), image_format)


PNG = _type("image/png", "png", image_format="PNG")
JPEG = _type("image/jpeg", "jpg", "jpeg", "jpe", "jfif", image_format="JPEG")
GIF = _type("image/gif", "gif", image_format="GIF")
WEBP = _type("image/webp", "webp", image_format="WEBP")
PDF = _type("application/pdf", "pdf")
TEXT = _type("text/plain", "txt", "text", "log", "md")
CSV = _type("text/csv", "csv")
DOCX = _type("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
XLSX = _type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
PPTX = _type("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")
ODT = _type("application/vnd.oasis.opendocument.text", "odt")
ODS = _type("application/vnd.oasis.opendocument.spreadsheet", "ods")
ODP = _type("application/vnd.oasis.opendocument.presentation", "odp")
DOC = _type("application/msword", "doc")
XLS = _type("application/vnd.ms-excel", "xls")
PPT = _type("application/vnd.ms-powerpoint", "ppt")


MACROS = gettext_lazy("Office documents with macros are not accepted.")

HEAD_BYTES = 4096
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
ZIP_MAGIC = b"PK\x03\x04"

# A zip bomb, as its central directory declares it.
MAX_EXPANDED_BYTES = 256 * 1024 * 1024
MAX_EXPANSION_RATIO = 200
RATIO_CHECKED_ABOVE = 1024 * 1024
MAX_ZIP_ENTRIES = 10_000

# Office Open XML: the main part each format has (with [Content_Types].xml beside it).
OOXML_MAIN_PARTS = {
    "word/document.xml": DOCX,
    "xl/workbook.xml": XLSX,
    "ppt/presentation.xml": PPTX,
}
ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": ODS,
    b"application/vnd.oasis.opendocument.presentation": ODP,
}
# OLE compound files: the stream each legacy format keeps its content in.
OLE_MAIN_STREAMS = {
    "worddocument": DOC,
    "workbook": XLS,
    "book": XLS,
    "powerpoint document": PPT,
}
OLE_MACRO_ENTRIES = frozenset({"macros", "_vba_project_cur", "vba"})

# Text that a browser would take for a page, or that is one: refused, whatever its name.
MARKUP_START = re.compile(r"\A[\s\ufeff]*<[a-zA-Z!?/]")
MARKUP_ANYWHERE = re.compile(
    r"<(?:script|html|head|body|svg|iframe|frame|object|embed|!doctype|\?xml|meta|base|style"
    r"|link|form)[\s>/]",
    re.IGNORECASE,
)
# The longest MARKUP_ANYWHERE match, less one: carried from one chunk of text to the next.
MARKUP_CARRY = 16
CSV_SAMPLE_CHARS = 64 * 1024
CSV_SAMPLE_LINES = 20
CSV_DELIMITERS = (",", ";", "\t")


def detect(file: IO[bytes]) -> FileType:
    """The type of `file` (seekable, read from its start); raises UnsupportedFileTypeError, or
    InvalidInputError for an empty file or a zip bomb. Leaves `file` at its start."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    if not head:
        raise InvalidInputError("file", gettext_lazy("The file is empty."))
    try:
        found = _by_signature(head, file)
        if found is None:
            found = _as_text(head, file)
    finally:
        file.seek(0)
    return found


def _by_signature(head: bytes, file: IO[bytes]) -> FileType | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(ZIP_MAGIC):
        return _zip_document(file)
    if head.startswith(OLE_MAGIC):
        return _ole_document(file)
    return None


# --- Zip containers: Office Open XML and OpenDocument --------------------------------------------


def _zip_document(file: IO[bytes]) -> FileType:
    file.seek(0)
    try:
        # Reads the end record and the central directory only; no entry is decompressed.
        archive = zipfile.ZipFile(file)
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _unsupported(
            gettext_lazy("This zip archive is damaged or not an office document.")
        ) from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _bomb()
    expanded = 0
    for entry in entries:
        expanded += entry.file_size
        ratio_too_high = entry.file_size > MAX_EXPANSION_RATIO * max(entry.compress_size, 1)
        if entry.file_size > RATIO_CHECKED_ABOVE and ratio_too_high:
            raise _bomb()
    if expanded > MAX_EXPANDED_BYTES:
        raise _bomb()
    names = {entry.filename for entry in entries}
    if any(name.lower().rsplit("/", 1)[-1] == "vbaproject.bin" for name in names):
        raise _unsupported(MACROS)
    if "[Content_Types].xml" in names:
        for part, found in OOXML_MAIN_PARTS.items():
            if part in names:
                return found
    first = entries[0] if entries else None
    if (
        first is not None
        and first.filename == "mimetype"
        and first.compress_type == zipfile.ZIP_STORED
        and first.file_size <= 100
    ):
        try:
            with archive.open(first) as stored:
                mimetype = stored.read(101).strip()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            mimetype = b""
        if mimetype in ODF_MIMETYPES:
            return ODF_MIMETYPES[mimetype]
    raise _unsupported(gettext_lazy("Zip archives are accepted only as office documents."))


def _bomb() -> InvalidInputError:
    return InvalidInputError(
        "file",
        gettext_lazy(
            "This document would expand to far more than its size (a zip bomb?): it is refused."
        ),
    )


# --- OLE compound files: legacy doc, xls, ppt ----------------------------------------------------

# At most this many sectors of the directory are read (each holds 4 or 32 entries).
OLE_MAX_DIRECTORY_SECTORS = 256
OLE_FREE_SECTORS = frozenset({0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC})


def _ole_document(file: IO[bytes]) -> FileType:
    names = _ole_entry_names(file)
    if names & OLE_MACRO_ENTRIES:
        raise _unsupported(MACROS)
    for stream, found in OLE_MAIN_STREAMS.items():
        if stream in names:
            return found
    raise _unsupported(
        gettext_lazy("This compound file is not a Word, Excel or PowerPoint document.")
    )


def _ole_entry_names(file: IO[bytes]) -> set[str]:
    """The lower-cased names in a compound file's directory (MS-CFB), following the directory's
    sector chain through the FAT; a damaged file is refused."""
    file.seek(0)
    header = file.read(512)
    damaged = _unsupported(gettext_lazy("This compound file is damaged."))
    if len(header) < 512:
        raise damaged
    sector_shift = struct.unpack_from("<H", header, 0x1E)[0]
    if sector_shift not in (9, 12):
        raise damaged
    sector_size = 1 << sector_shift
    fat_sector_count, first_directory = struct.unpack_from("<II", header, 0x2C)
    fat_sectors = struct.unpack_from("<109I", header, 0x4C)[: min(fat_sector_count, 109)]

    def sector(number: int) -> bytes:
        file.seek((number + 1) * sector_size)
        data = file.read(sector_size)
        if len(data) != sector_size:
            raise damaged
        return data

    fat: list[int] = []
    for number in fat_sectors:
        if number in OLE_FREE_SECTORS:
            break
        data = sector(number)
        fat.extend(struct.unpack(f"<{sector_size // 4}I", data))
    names: set[str] = set()
    current, visited = first_directory, set[int]()
    while current not in OLE_FREE_SECTORS and len(visited) < OLE_MAX_DIRECTORY_SECTORS:
        if current in visited or current >= len(fat):
            raise damaged
        visited.add(current)
        data = sector(current)
        for offset in range(0, sector_size, 128):
            length, kind = struct.unpack_from("<HB", data, offset + 64)
            if kind in (1, 2) and 2 <= length <= 64:
                raw = data[offset : offset + length - 2]
                names.add(raw.decode("utf-16-le", errors="replace").lower())
        current = fat[current]
    return names


# --- Text ----------------------------------------------------------------------------------------


def _as_text(head: bytes, file: IO[bytes]) -> FileType:
    """TEXT or CSV, for valid UTF-8 without NUL that is no markup; else unsupported."""
    not_accepted = _unsupported(
        gettext_lazy(
            "This type of file is not accepted: send images (PNG, JPEG, GIF, WebP), PDF, plain "
            "text, CSV and office documents."
        )
    )
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    file.seek(0)
    sample = ""
    carry = ""
    first = True
    while chunk := file.read(64 * 1024):
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError:
            raise not_accepted from None
        if "\x00" in text:
            raise not_accepted
        if first and MARKUP_START.match(text):
            raise _markup()
        first = False
        if MARKUP_ANYWHERE.search(carry + text):
            raise _markup()
        carry = text[-MARKUP_CARRY:]
        if len(sample) < CSV_SAMPLE_CHARS:
            sample += text[: CSV_SAMPLE_CHARS - len(sample)]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise not_accepted from None
    return CSV if _looks_like_csv(sample, complete=len(sample) < CSV_SAMPLE_CHARS) else TEXT


def _markup() -> UnsupportedFileTypeError:
    return _unsupported(gettext_lazy("HTML, SVG and other markup files are not accepted."))


def _looks_like_csv(sample: str, *, complete: bool) -> bool:
    # Rows of the same number (2 or more) of fields, under one of the usual delimiters.
    lines = sample.lstrip("\ufeff").splitlines()
    if not complete:
        lines = lines[:-1]  # the sample may have cut the last line short
    lines = [line for line in lines[:CSV_SAMPLE_LINES] if line.strip()]
    if len(lines) < 2:
        return False
    for delimiter in CSV_DELIMITERS:
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False


def _unsupported(detail: StrOrPromise) -> UnsupportedFileTypeError:
    return UnsupportedFileTypeError(detail)


# --- The name a download gets --------------------------------------------------------------------


def safe_name(given: str | None, found: FileType) -> str:
    """The uploader's file name as a download may carry it: its last path segment, without
    control or formatting characters (a right-to-left override can make "cod.exe" read
    "exe.doc"), no leading dots, at most ATTACHMENT_NAME_MAX_LENGTH characters, and ending in an
    extension of the type the content is: "run.bat" holding text is downloaded as "run.bat.txt",
    so that no file desk serves opens as something other than what it is."""
    name = unicodedata.normalize("NFC", given or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable() and char not in '"<>:|?*')
    name = name.strip().lstrip(".").strip()
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem and extension.lower() in found.extensions):
        stem, extension = name or "file", found.extension
    room = ATTACHMENT_NAME_MAX_LENGTH - len(extension) - 1
    return f"{stem[:room].rstrip()}.{extension}"
