"""Light formatting of message text, for the HTML of emails and desk's own pages.

The syntax (README.md, "Formatting"): `**bold**`, `*italic*` and `_italic_`, `` `code` ``, fenced
code blocks, `- ` / `* ` and `1. ` lists, line breaks; `http`, `https` and `mailto` URLs, `www.`
addresses and bare email addresses become links. Nothing else: headings, images, quotes and HTML
stay the text they were typed as.

This is the twin of `format` in chats/static/chats/widget.js (DeskLive), which builds the same
elements as DOM nodes for the widget and the dashboard. Both follow the same steps, function for
function, and tests/formatting_cases.json holds the cases both must render identically
(tests/chats/test_formatting.py runs them here, tests/browser/test_formatting.py in Chromium). A
change to one is a change to the other and to that table.

Each step is a single pass or a search that never goes back over what it has passed (no regular
expression that can backtrack over user text), so the time is linear in the message's length.
The result is built from escaped pieces only: user text is never marked safe.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString

# What an element opens with, closes with, or holds: ("open", tag, attributes),
# ("close", tag, ()), ("text", text, ()), ("br", "", ()). A flat list rather than a tree, so that
# emphasis nested a thousand deep renders without recursion.
type Attributes = tuple[tuple[str, str], ...]
type Event = tuple[str, str, Attributes]

LINK_ATTRIBUTES: Attributes = (("target", "_blank"), ("rel", "noopener noreferrer nofollow"))
SCHEMES = ("https://", "http://", "mailto:")
WWW = "www."
URL_INITIALS = frozenset("hHmMwW")
# Left off the end of a URL: the sentence's punctuation, not the address's.
TRAILING = ".,:;!?*_~'"
LOCAL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
DOMAIN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
LANGUAGE_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+#.-"
)
LANGUAGE_LENGTH = 32
FENCE = "```"


def format_message(source: str) -> SafeString:
    """The message as HTML: escaped text in <strong>, <em>, <code>, <pre>, <ul>, <ol>, <li>,
    <a> and <br> elements, with no whitespace between elements (bubbles keep `pre-wrap`)."""
    return format_html_join("", "{}", ((_html(event),) for event in message_events(source)))


def _html(event: Event) -> SafeString:
    kind, value, attributes = event
    if kind == "text":
        return escape(value)
    if attributes:
        return format_html("<{}{}>", value, format_html_join("", ' {}="{}"', attributes))
    return _MARKUP[kind, value]


# Every element a message may hold; each tag's markup made once.
ELEMENTS = ("strong", "em", "code", "pre", "a", "ul", "ol", "li", "br")
_MARKUP = {
    **{("open", tag): format_html("<{}>", tag) for tag in ELEMENTS if tag != "br"},
    **{("close", tag): format_html("</{}>", tag) for tag in ELEMENTS if tag != "br"},
    ("br", ""): format_html("<{}>", "br"),
}


# --- Characters: the same classes as widget.js, by Unicode category ---------------------------


def _is_space(character: str) -> bool:
    return character in " \t" or unicodedata.category(character) == "Zs"


def _is_word(character: str) -> bool:
    return unicodedata.category(character)[0] in "LN"


def _is_url_character(character: str) -> bool:
    return not (
        _is_space(character) or character in '<>"`' or ord(character) < 32 or character == "\x7f"
    )


def _strip(line: str) -> str:
    return line.strip(" \t")


def _starts_with(text: str, index: int, prefix: str) -> bool:
    """Whether `prefix` (lower-case ASCII) is at `index`, ignoring the case of ASCII letters."""
    if index + len(prefix) > len(text):
        return False
    for offset, expected in enumerate(prefix):
        character = text[index + offset]
        if "A" <= character <= "Z":
            character = character.lower()
        if character != expected:
            return False
    return True


# --- Blocks: code fences, lists, lines ----------------------------------------------------------


def message_events(source: str) -> list[Event]:
    """The message's elements, in document order."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    events: list[Event] = []
    text_lines: list[str] = []
    items: list[str] = []
    list_tag = ""
    list_start = 1
    # Once a fence has no closing line after it, no later fence has one either: each line is
    # looked at a bounded number of times.
    fences_may_close = True
    index = 0

    def end_list() -> None:
        nonlocal list_tag
        if not list_tag:
            return
        attributes: Attributes = (("start", str(list_start)),) if list_start != 1 else ()
        events.append(("open", list_tag, attributes))
        for item in items:
            events.append(("open", "li", ()))
            _inline(item, events)
            events.append(("close", "li", ()))
        events.append(("close", list_tag, ()))
        items.clear()
        list_tag = ""

    def end_text() -> None:
        start, end = 0, len(text_lines)
        while start < end and not _strip(text_lines[start]):
            start += 1
        while end > start and not _strip(text_lines[end - 1]):
            end -= 1
        for number, line in enumerate(text_lines[start:end]):
            if number:
                events.append(("br", "", ()))
            _inline(line, events)
        text_lines.clear()

    while index < len(lines):
        line = lines[index]
        info = _fence_info(line)
        if info is not None and fences_may_close:
            close = index + 1
            while close < len(lines) and _strip(lines[close]) != FENCE:
                close += 1
            if close < len(lines):
                end_list()
                end_text()
                code = lines[index + 1 : close]
                if info and not _is_language(info):
                    code.insert(0, info)
                events.append(("open", "pre", ()))
                events.append(("open", "code", ()))
                if code:
                    events.append(("text", "\n".join(code), ()))
                events.append(("close", "code", ()))
                events.append(("close", "pre", ()))
                index = close + 1
                continue
            fences_may_close = False
        item = _list_item(line)
        if item is None:
            end_list()
            text_lines.append(line)
        else:
            tag, start, content = item
            if tag != list_tag:
                end_list()
                end_text()
                list_tag, list_start = tag, start
            items.append(content)
        index += 1
    end_list()
    end_text()
    return events


def _fence_info(line: str) -> str | None:
    """What follows the ``` of a line that opens a code block, or None for any other line."""
    stripped = _strip(line)
    if not stripped.startswith(FENCE):
        return None
    rest = stripped[len(FENCE) :]
    if "`" in rest:
        return None  # ```code``` on one line: inline code
    return _strip(rest)


def _is_language(info: str) -> bool:
    return len(info) <= LANGUAGE_LENGTH and all(c in LANGUAGE_CHARACTERS for c in info)


def _list_item(line: str) -> tuple[str, int, str] | None:
    """(tag, start number, content) of a `- `, `* ` or `1. ` line, else None."""
    position = 0
    while position < len(line) and line[position] in " \t":
        position += 1
    if position == len(line):
        return None
    tag, number = "ul", 1
    if line[position] in "-*":
        position += 1
    else:
        digits = position
        while position < len(line) and "0" <= line[position] <= "9" and position - digits < 10:
            position += 1
        if position == digits or position - digits > 9:
            return None
        if position == len(line) or line[position] not in ".)":
            return None
        tag, number = "ol", int(line[digits:position])
        position += 1
    if position == len(line) or line[position] not in " \t":
        return None
    content = _strip(line[position:])
    return (tag, number, content) if content else None


# --- Inline: code spans, then links, then emphasis ----------------------------------------------


@dataclass
class _Delimiter:
    """A run of `*` (1 to 3) or `_` (1) that may open or close emphasis."""

    character: str
    start: int
    length: int
    can_open: bool
    can_close: bool
    order: int = 0
    remaining: int = 0
    opens: list[str] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.remaining = self.length


# A line's pieces, in order: text, a code span, a link, or a delimiter.
type _Piece = tuple[str, str, str] | _Delimiter


def _inline(line: str, events: list[Event]) -> None:
    pieces: list[_Piece] = []
    for kind, start, end, inner in _code_spans(line):
        if kind == "code":
            pieces.append(("code", inner, ""))
        else:
            _links(line, start, end, pieces)
    _emphasis(pieces)
    for piece in pieces:
        if isinstance(piece, _Delimiter):
            for tag in piece.closes:
                events.append(("close", tag, ()))
            if piece.remaining:
                events.append(("text", piece.character * piece.remaining, ()))
            for tag in reversed(piece.opens):
                events.append(("open", tag, ()))
            continue
        kind, value, href = piece
        if kind == "text":
            events.append(("text", value, ()))
        elif kind == "code":
            events.extend([("open", "code", ()), ("text", value, ()), ("close", "code", ())])
        else:
            events.append(("open", "a", (("href", href), *LINK_ATTRIBUTES)))
            events.append(("text", value, ()))
            events.append(("close", "a", ()))


def _code_spans(line: str) -> list[tuple[str, int, int, str]]:
    """The line as ("text", start, end, "") and ("code", start, end, content) parts.

    A run of backticks opens a code span closed by the next run of the same length; a run with
    no such partner is text. The partner of each run is found in one pass from the right.
    """
    runs: list[tuple[int, int]] = []
    position = 0
    while position < len(line):
        if line[position] == "`":
            start = position
            while position < len(line) and line[position] == "`":
                position += 1
            runs.append((start, position - start))
        else:
            position += 1
    partner: list[int] = [-1] * len(runs)
    last: dict[int, int] = {}
    for number in range(len(runs) - 1, -1, -1):
        length = runs[number][1]
        partner[number] = last.get(length, -1)
        last[length] = number
    parts: list[tuple[str, int, int, str]] = []
    text_start = 0
    number = 0
    while number < len(runs):
        closing = partner[number]
        if closing == -1:
            number += 1
            continue
        start, length = runs[number]
        end = runs[closing][0]
        if text_start < start:
            parts.append(("text", text_start, start, ""))
        content = line[start + length : end]
        if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip(" "):
            content = content[1:-1]
        parts.append(("code", start, end + length, content))
        text_start = end + length
        number = closing + 1
    if text_start < len(line):
        parts.append(("text", text_start, len(line), ""))
    return parts


def _links(line: str, start: int, end: int, pieces: list[_Piece]) -> None:
    """line[start:end] (no code in it) as text and link pieces."""
    pending = start
    position = start
    while position < end:
        link = None
        if line[position] == "@":
            link = _email_at(line, pending, position, end)
        elif line[position] in URL_INITIALS and (position == 0 or not _is_word(line[position - 1])):
            link = _url_at(line, position, end)
        if link is None:
            position += 1
            continue
        link_start, link_end, href = link
        _text_pieces(line, pending, link_start, pieces)
        pieces.append(("link", line[link_start:link_end], href))
        pending = position = link_end
    _text_pieces(line, pending, end, pieces)


def _url_at(line: str, start: int, end: int) -> tuple[int, int, str] | None:
    """The http(s)://, mailto: or www. address at `start`, if there is one."""
    for prefix in (*SCHEMES, WWW):
        if _starts_with(line, start, prefix):
            break
    else:
        return None
    body = start + len(prefix)
    if body >= end or not _is_word(line[body]):
        return None
    stop = body
    opened = closed = 0
    while stop < end and _is_url_character(line[stop]):
        if line[stop] == "(":
            opened += 1
        elif line[stop] == ")":
            closed += 1
        stop += 1
    while stop > body:
        last = line[stop - 1]
        if last in TRAILING:
            stop -= 1
        elif last == ")" and closed > opened:
            stop -= 1
            closed -= 1
        else:
            break
    if stop == body:
        return None
    text = line[start:stop]
    return start, stop, ("http://" + text if prefix == WWW else text)


def _email_at(line: str, pending: int, at: int, end: int) -> tuple[int, int, str] | None:
    """The bare address around the `@` at `at`, if there is one."""
    start = at
    while start > pending and line[start - 1] in LOCAL_CHARACTERS:
        start -= 1
    # Not the start of an address: the dot ending a sentence, the `_` of `_italic_`.
    while start < at and line[start] in "._":
        start += 1
    if start == at or (start > 0 and _is_word(line[start - 1])):
        return None
    stop = at + 1
    while stop < end and line[stop] in DOMAIN_CHARACTERS:
        stop += 1
    while stop > at + 1 and line[stop - 1] in ".-":
        stop -= 1
    if stop < len(line) and (line[stop] == "@" or _is_word(line[stop])):
        return None
    labels = line[at + 1 : stop].split(".")
    if len(labels) < 2 or len(labels[-1]) < 2 or not all(c in LETTERS for c in labels[-1]):
        return None
    if not all(label and label[0] != "-" and label[-1] != "-" for label in labels):
        return None
    return start, stop, "mailto:" + line[start:stop]


def _text_pieces(line: str, start: int, end: int, pieces: list[_Piece]) -> None:
    """line[start:end] as text pieces and the delimiter runs in it."""
    pending = start
    position = start
    while position < end:
        character = line[position]
        if character not in "*_":
            position += 1
            continue
        run = position
        while position < end and line[position] == character:
            position += 1
        length = position - run
        if length > (3 if character == "*" else 1):
            continue
        before = line[run - 1] if run > 0 else ""
        after = line[position] if position < len(line) else ""
        can_open = bool(after) and not _is_space(after) and not (before and _is_word(before))
        can_close = bool(before) and not _is_space(before) and not (after and _is_word(after))
        if not (can_open or can_close):
            continue
        if pending < run:
            pieces.append(("text", line[pending:run], ""))
        pieces.append(_Delimiter(character, run, length, can_open, can_close))
        pending = position
    if pending < end:
        pieces.append(("text", line[pending:end], ""))


def _emphasis(pieces: list[_Piece]) -> None:
    """Pairs the delimiters: each closer with the nearest opener of its character.

    One stack per character. A pair makes the openers of the other character between them plain
    text, so the elements nest; each delimiter is pushed and popped at most once.
    """
    stacks: dict[str, list[_Delimiter]] = {"*": [], "_": []}
    delimiters = [piece for piece in pieces if isinstance(piece, _Delimiter)]
    for order, delimiter in enumerate(delimiters):
        delimiter.order = order
        if delimiter.can_close:
            stack = stacks[delimiter.character]
            other = stacks["_" if delimiter.character == "*" else "*"]
            while delimiter.remaining and stack:
                opener = stack[-1]
                both = opener.remaining >= 2 and delimiter.remaining >= 2
                used = 2 if both and delimiter.character == "*" else 1
                tag = "strong" if used == 2 else "em"
                opener.remaining -= used
                delimiter.remaining -= used
                opener.opens.append(tag)
                delimiter.closes.append(tag)
                while other and other[-1].order > opener.order:
                    other.pop()
                if not opener.remaining:
                    stack.pop()
        if delimiter.can_open and delimiter.remaining:
            stacks[delimiter.character].append(delimiter)
