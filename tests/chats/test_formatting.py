"""Light formatting of messages (chats/formatting.py), where the server renders it.

tests/formatting_cases.json is the one table of what each source renders to, written as a browser
serialises the elements (innerHTML). The same table runs against widget.js's formatter in Chromium
(tests/browser/test_formatting.py): together they prove the widget, the dashboard and the reply
email render a message the same way.
"""

from __future__ import annotations

import dataclasses
import json
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chats.formatting import format_message
from chats.models import SupportChat, SupportMessage
from notifications import emails
from tests.chats.test_dashboard import browser, detail
from tests.notifications.test_email import SAMPLE

CASES = json.loads((Path(__file__).parent.parent / "formatting_cases.json").read_text("utf-8"))
ELEMENTS = {"strong", "em", "code", "pre", "ul", "ol", "li", "a", "br"}
LINK = {"target": "_blank", "rel": "noopener noreferrer nofollow"}
VOID = {"br"}


class Serialiser(HTMLParser):
    """HTML as a browser's innerHTML writes it back: text and attributes unescaped, then escaped
    the way the HTML serialisation algorithm does. Records what it met on the way."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        written = "".join(f' {name}="{_attribute(value or "")}"' for name, value in attrs)
        self.out.append(f"<{tag}{written}>")

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(_text(data))


def _text(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\u00a0", "&nbsp;")
    )


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("\u00a0", "&nbsp;")


def serialised(html: str) -> Serialiser:
    parser = Serialiser()
    parser.feed(html)
    parser.close()
    return parser


def as_browser_writes_it(html: str) -> str:
    return "".join(serialised(html).out)


# --- The shared table ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_source_renders_as_the_shared_table_says(case: dict[str, str]) -> None:
    assert as_browser_writes_it(format_message(case["source"])) == case["html"]


def test_the_table_covers_every_element_and_the_hostile_sources() -> None:
    rendered = "".join(case["html"] for case in CASES)
    sources = "\n".join(case["source"] for case in CASES)

    assert {tag for tag, _ in serialised(rendered).tags} == ELEMENTS
    for hostile in ("<script>", "onerror", "javascript:", "JaVaScRiPt:", "java\nscript:", "data:"):
        assert hostile in sources, hostile


# --- Safety --------------------------------------------------------------------------------------


def test_markup_in_a_message_is_escaped_never_marked_safe() -> None:
    html = format_message('<script>alert("x")</script><img src=x onerror=alert(1)> **b**')

    assert html == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; "
        "<strong>b</strong>"
    )


@pytest.mark.parametrize(
    "source",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "[x](javascript:alert(1))",
        "<a href=javascript:alert(1)>x</a>",
        "\x01javascript:alert(1)",
    ],
)
def test_no_scheme_but_http_https_and_mailto_becomes_a_link(source: str) -> None:
    assert "<a" not in format_message(source)


ALPHABET = st.sampled_from(
    [*"*_`-.@:/()[]<>\"'&#1 \t\n", "http://", "https://", "www.", "mailto:", "```", "a", "é"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_any_source_renders_only_the_formatting_elements_and_safe_links(source: str) -> None:
    tags = serialised(format_message(source)).tags

    for tag, attributes in tags:
        assert tag in ELEMENTS
        if tag == "a":
            href = attributes.pop("href") or ""
            assert href.startswith(("http://", "https://", "mailto:")), href
            assert attributes == LINK
        elif tag == "ol":
            assert set(attributes) <= {"start"}
        else:
            assert attributes == {}


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_characters="*_`-@:.)\r\n")))
def test_a_line_without_markers_or_addresses_is_shown_as_it_was_typed(source: str) -> None:
    expected = _text(source) if source.strip(" \t") else ""

    assert as_browser_writes_it(format_message(source)) == expected


# --- Time: linear in the length, for hostile inputs too -----------------------------------------

ADVERSARIAL = {
    "openers": "*a " * 1666,
    "nested": "*a " * 833 + "b* " * 833,
    "stars and underscores": "*_" * 2500,
    "backtick runs of every length": "".join("`" * n + " " for n in range(1, 99)),
    "lone backticks": "` " * 2500,
    "an address's local part": "a." * 2500,
    "at signs": "a@" * 2500,
    "closing parentheses": "https://x.example/" + ")" * 4982,
    "www": "www." * 1250,
    "unclosed fences": "```\nx\n" * 833,
    "list items": "- *a\n" * 1000,
    "spaces": " " * 4999 + "x",
    "links": "https://a.example " * 277,
    "addresses": "a@b.example " * 416,
}


@pytest.mark.parametrize("source", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_a_5000_character_hostile_message_renders_in_a_fraction_of_a_second(source: str) -> None:
    assert 4900 <= len(source) <= 5000
    format_message(source)  # warmed up: the first call pays for imports and caches

    # This process's CPU time, not the wall clock: a machine busy with other work (a parallel
    # test run, a browser) must not make a linear formatter look slow. Catastrophic backtracking
    # costs seconds of CPU here; the cases take about 50 ms at most.
    started = time.process_time()
    format_message(source)

    assert time.process_time() - started < 0.5


def test_emphasis_nested_a_thousand_deep_renders_without_recursion() -> None:
    html = format_message("*a " * 1200 + "b" + " c*" * 1200)

    assert html.count("<em>") == 1200
    assert html.count("</em>") == 1200


# --- Where the server renders it ----------------------------------------------------------------


def test_the_dashboards_chat_page_shows_messages_formatted(
    admin: Any, say: Any, chat: SupportChat
) -> None:
    message: SupportMessage = say("**Order 1042** is late: https://shop.example/orders/1042")
    page = browser(admin).get(detail(chat)).text

    assert (
        '<div class="bubble" dir="auto" data-field="content"><strong>Order 1042</strong> is late: '
        '<a href="https://shop.example/orders/1042" target="_blank" '
        'rel="noopener noreferrer nofollow">https://shop.example/orders/1042</a></div>'
    ) in page
    assert message.content == "**Order 1042** is late: https://shop.example/orders/1042"


def test_the_dashboards_list_shows_the_last_message_as_plain_text(
    admin: Any, say: Any, chat: SupportChat
) -> None:
    say("**Order 1042** is late")
    page = browser(admin).get("/desk/").text

    assert '<span data-field="preview">**Order 1042** is late</span>' in page


FORMATTED_REPLY = (
    "Your order **shipped**: track it at https://carrier.example/t/42.\n"
    "- keep the box\n"
    "- write to returns@shop.example\n"
    "Or `javascript:alert(1)`, which is no link."
)


def reply_email(replies: list[str]) -> Any:
    return emails.reply_email_build(dataclasses.replace(SAMPLE, replies=replies))


def test_the_reply_emails_html_shows_each_reply_formatted_with_its_links() -> None:
    html = reply_email([FORMATTED_REPLY]).alternatives[0].content

    assert format_message(FORMATTED_REPLY) in html
    assert (
        'Your order <strong>shipped</strong>: track it at <a href="https://carrier.example/t/42" '
        'target="_blank" rel="noopener noreferrer nofollow">https://carrier.example/t/42</a>.'
    ) in html
    assert '<li>write to <a href="mailto:returns@shop.example"' in html
    assert "<code>javascript:alert(1)</code>" in html
    assert 'href="javascript' not in html


def test_the_reply_emails_text_keeps_the_source_of_each_reply() -> None:
    body = reply_email([FORMATTED_REPLY]).body

    assert f"> {emails.reply_preview(FORMATTED_REPLY)}\n" in body
    assert "**shipped**" in body
    assert "<" not in body.split("Open the conversation")[0]
