"""`make run`'s start-up banner (desk/run.py): its URLs, what it says about DEBUG and the docs."""

from __future__ import annotations

from typing import Any

import pytest

from desk import run


def banner(capsys: pytest.CaptureFixture[str]) -> str:
    run._print_banner("127.0.0.1", 8000)
    return capsys.readouterr().out


def test_with_debug_on_the_banner_says_it_is_for_a_laptop_only(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.DEBUG = True

    assert "DEBUG is on: for a laptop only." in banner(capsys)


def test_with_debug_off_the_banner_has_no_debug_warning(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.DEBUG = False

    output = banner(capsys)
    assert "DEBUG" not in output
    assert "http://127.0.0.1:8000/" in output


def test_staff_only_docs_are_listed_as_such(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.DESK_API_DOCS = "staff"

    assert "/api/docs (support staff only)" in banner(capsys)


def test_docs_that_are_off_are_not_listed(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.DESK_API_DOCS = "off"

    output = banner(capsys)
    assert "/api/docs" not in output
    assert "/api/openapi.json" not in output


def test_the_banner_lists_the_support_dashboard(capsys: pytest.CaptureFixture[str]) -> None:
    assert "  dashboard     http://127.0.0.1:8000/desk/\n" in banner(capsys)
