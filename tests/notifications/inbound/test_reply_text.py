"""What a person wrote, read out of real mail clients' replies; which emails a machine sent."""

from __future__ import annotations

import pytest
from anymail.inbound import AnymailInboundMessage

from notifications import replies
from tests.notifications.inbound.samples import IGNORED, REPLIES, Sample

QUOTE = "On Tue, Dec 1, 2026 at 10:15 AM Support <help@shop.example> wrote:\n> Your parcel left.\n"


def parsed(sample: Sample) -> AnymailInboundMessage:
    return AnymailInboundMessage.parse_raw_mime_bytes(sample.raw())


def written(text: str) -> str:
    return replies.reply_text(AnymailInboundMessage.construct(text=text)).new


@pytest.mark.parametrize("sample", REPLIES, ids=lambda s: f"{s.client} ({s.language})")
def test_the_new_text_is_what_the_person_wrote(sample: Sample) -> None:
    assert replies.reply_text(parsed(sample)).new == sample.text


@pytest.mark.parametrize("sample", REPLIES, ids=lambda s: f"{s.client} ({s.language})")
def test_a_persons_reply_is_not_taken_for_automatic_mail(sample: Sample) -> None:
    assert replies.automatic_reason(parsed(sample)) is None


@pytest.mark.parametrize("sample", IGNORED, ids=lambda s: s.file.removesuffix(".eml"))
def test_mail_a_machine_sent_is_recognised(sample: Sample) -> None:
    assert replies.automatic_reason(parsed(sample)) == sample.ignored


def test_the_whole_text_is_kept_for_the_record() -> None:
    text = replies.reply_text(parsed(REPLIES[0]))

    assert text.new in text.whole
    assert "Your parcel left our warehouse this morning." in text.whole


def test_a_line_that_only_begins_like_a_sign_off_is_kept() -> None:
    assert written("Sure.\nThanks, that is all I needed.\n\n" + QUOTE) == (
        "Sure.\nThanks, that is all I needed."
    )


def test_a_sign_off_is_kept_and_the_signature_after_the_delimiter_is_cut() -> None:
    assert written("It came.\n\nBest regards,\nAnn\n-- \nAnn Smith\nAcme\n\n" + QUOTE) == (
        "It came.\n\nBest regards,\nAnn"
    )


def test_a_bulleted_list_is_kept() -> None:
    assert written("Two things:\n- the box\n- the receipt\n\n" + QUOTE) == (
        "Two things:\n- the box\n- the receipt"
    )


def test_a_french_line_starting_with_le_is_not_a_quote_header() -> None:
    text = "Le colis est arrivé.\nLe livreur était aimable.\n\n"
    header = "Le mar. 1 déc. 2026 à 11:15, Support <notices@shop.example> a écrit :\n> Bonjour\n"

    assert written(text + header) == "Le colis est arrivé.\nLe livreur était aimable."


def test_an_arabic_line_starting_with_fi_is_not_a_quote_header() -> None:
    text = "في البداية، شكراً لكم.\nوصل الطرد في الموعد.\n\n"
    header = "في الثلاثاء، 1 ديسمبر 2026 في 1:15 م، Support <notices@shop.example> كتب:\n> مرحبا\n"

    assert written(text + header) == "في البداية، شكراً لكم.\nوصل الطرد في الموعد."


def test_answers_between_quoted_lines_are_kept() -> None:
    text = QUOTE + "\nYes, it came.\n> Anything else?\nNo, thanks!\n"

    assert written(text) == "Yes, it came.\nNo, thanks!"


def test_an_email_that_only_quotes_has_nothing_new() -> None:
    assert written(QUOTE) == ""


def test_an_html_only_email_is_read_without_its_quote_styles_or_scripts() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>It came &amp; it's fine.</p>"
        "<script>alert(1)</script><blockquote><p>Your parcel left.</p></blockquote></body></html>"
    )

    assert replies.reply_text(AnymailInboundMessage.construct(html=html)).new == (
        "It came & it's fine."
    )
