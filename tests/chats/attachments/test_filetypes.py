"""What a file is comes from its bytes: every accepted type is recognised whatever its name, and
markup, executables and office files with macros are refused whatever their name says."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from chats.attachments import filetypes
from chats.attachments.errors import UnsupportedFileTypeError
from chats.errors import InvalidInputError
from chats.models import Attachment
from tests.chats.attachments import files
from tests.chats.attachments.conftest import Make, attachment, stored

pytestmark = pytest.mark.django_db


def detected(data: bytes) -> str:
    return filetypes.detect(io.BytesIO(data)).content_type


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (files.png(), "image/png"),
        (files.jpeg(), "image/jpeg"),
        (files.gif(), "image/gif"),
        (files.webp(), "image/webp"),
        (files.pdf(), "application/pdf"),
        ("Hello,\nthis is plain text: ünïcødé ✓\n".encode(), "text/plain"),
        (b"name,email,total\nAnn,ann@example.com,12\nBen,ben@example.com,7\n", "text/csv"),
        (b"a;b;c\n1;2;3\n", "text/csv"),
        (files.docx(), filetypes.DOCX.content_type),
        (files.ooxml("xl/workbook.xml"), filetypes.XLSX.content_type),
        (files.ooxml("ppt/presentation.xml"), filetypes.PPTX.content_type),
        (files.odf("text"), "application/vnd.oasis.opendocument.text"),
        (files.odf("spreadsheet"), "application/vnd.oasis.opendocument.spreadsheet"),
        (files.odf("presentation"), "application/vnd.oasis.opendocument.presentation"),
        (files.ole("WordDocument"), "application/msword"),
        (files.ole("Workbook"), "application/vnd.ms-excel"),
        (files.ole("PowerPoint Document"), "application/vnd.ms-powerpoint"),
    ],
)
def test_each_accepted_type_is_recognised_from_its_content(data: bytes, content_type: str) -> None:
    assert detected(data) == content_type


def test_the_declared_type_and_the_name_are_ignored(uploader: Make, user: Any) -> None:
    response = uploader(user).upload(files.pdf(), "photo.jpg", content_type="image/jpeg")
    assert response.json()["content_type"] == "application/pdf"
    # The download name ends in what the file is.
    assert response.json()["name"] == "photo.jpg.pdf"


def test_an_html_file_named_png_is_415(uploader: Make, user: Any, storage_dir: Path) -> None:
    response = uploader(user).upload(files.HTML_PAGE, "cat.png", content_type="image/png")
    assert response.status_code == 415
    assert response.json() == {"detail": "HTML, SVG and other markup files are not accepted."}
    assert stored(storage_dir) == []


def test_an_svg_with_a_script_is_415(uploader: Make, user: Any) -> None:
    response = uploader(user).upload(
        files.SVG_WITH_SCRIPT, "logo.svg", content_type="image/svg+xml"
    )
    assert response.status_code == 415
    assert not Attachment.objects.exists()


def test_an_svg_named_png_is_415(uploader: Make, user: Any) -> None:
    assert uploader(user).upload(files.SVG_WITH_SCRIPT, "logo.png").status_code == 415


def test_text_with_a_script_tag_after_some_prose_is_415(uploader: Make, user: Any) -> None:
    text = b"Dear support,\n" * 200 + b"<script>alert(1)</script>\n"
    assert uploader(user).upload(text, "letter.txt").status_code == 415


def test_a_script_tag_split_across_read_chunks_is_still_found() -> None:
    text = b"x" * (64 * 1024 - 3) + b"<script>alert(1)</script>"
    with pytest.raises(UnsupportedFileTypeError):
        filetypes.detect(io.BytesIO(text))


def test_an_executable_is_415(uploader: Make, user: Any) -> None:
    assert uploader(user).upload(files.executable(), "invoice.pdf").status_code == 415


def test_text_that_is_not_utf8_is_415(uploader: Make, user: Any) -> None:
    assert uploader(user).upload("café".encode("latin-1"), "menu.txt").status_code == 415


def test_text_with_a_nul_is_415(uploader: Make, user: Any) -> None:
    assert uploader(user).upload(b"hello\x00world", "a.txt").status_code == 415


def test_a_plain_zip_is_415(uploader: Make, user: Any) -> None:
    archive = files.zipped([("photos/cat.png", files.png())])
    assert uploader(user).upload(archive, "photos.docx").status_code == 415


def test_a_docx_with_macros_is_415(uploader: Make, user: Any) -> None:
    macro = files.docx(("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro"))
    response = uploader(user).upload(macro, "invoice.docx")
    assert response.status_code == 415
    assert "macros" in response.json()["detail"]


def test_a_legacy_doc_with_macros_is_415() -> None:
    with pytest.raises(UnsupportedFileTypeError):
        filetypes.detect(io.BytesIO(files.ole("WordDocument", "Macros")))


def test_an_ole_file_that_is_no_office_document_is_415() -> None:
    # An installer (.msi) or an Outlook message is a compound file too.
    with pytest.raises(UnsupportedFileTypeError):
        filetypes.detect(io.BytesIO(files.ole("SummaryInformation")))


def test_a_truncated_ole_file_is_415() -> None:
    with pytest.raises(UnsupportedFileTypeError):
        filetypes.detect(io.BytesIO(files.ole("WordDocument")[:700]))


def test_a_zip_bomb_disguised_as_a_docx_is_refused_from_its_central_directory(
    uploader: Make, user: Any, settings: Any, storage_dir: Path
) -> None:
    settings.DESK_ATTACHMENT_MAX_BYTES = 1024 * 1024
    bomb = files.zip_bomb_docx(expanded=50 * 1024 * 1024)
    assert len(bomb) < 100 * 1024
    response = uploader(user).upload(bomb, "report.docx")
    assert response.status_code == 422
    assert "zip bomb" in response.json()["detail"][0]["msg"]
    assert stored(storage_dir) == []


def test_a_zip_bomb_is_judged_without_decompressing_an_entry(monkeypatch: Any) -> None:
    import zipfile

    bomb = files.zip_bomb_docx(expanded=20 * 1024 * 1024)

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an entry was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    with pytest.raises(InvalidInputError):
        filetypes.detect(io.BytesIO(bomb))


def test_a_docx_is_stored_as_a_download_with_its_name(uploader: Make, user: Any) -> None:
    kept = attachment(uploader(user).upload(files.docx(), "Contract v2.docx"))
    assert (kept.name, kept.content_type, kept.width) == (
        "Contract v2.docx",
        filetypes.DOCX.content_type,
        None,
    )


@pytest.mark.parametrize(
    ("given", "content", "safe"),
    [
        ("run.bat", filetypes.TEXT, "run.bat.txt"),
        ("C:\\Users\\ann\\notes.txt", filetypes.TEXT, "notes.txt"),
        ("invoice\u202efdp.exe", filetypes.PDF, "invoicefdp.exe.pdf"),
        ("...hidden.pdf", filetypes.PDF, "hidden.pdf"),
        ("", filetypes.PNG, "file.png"),
        ('a"b<c>.pdf', filetypes.PDF, "abc.pdf"),
        ("Отчёт.pdf", filetypes.PDF, "Отчёт.pdf"),
        ("x" * 300 + ".pdf", filetypes.PDF, "x" * 196 + ".pdf"),
    ],
)
def test_the_download_name_is_made_safe(given: str, content: filetypes.FileType, safe: str) -> None:
    assert filetypes.safe_name(given, content) == safe
