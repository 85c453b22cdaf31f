"""Telegram's text rules as the emulator applies them: parse modes, entity offsets in UTF-16,
whitespace stripping and the "can't parse entities" refusals."""

from __future__ import annotations

import pytest

from bot.emulator.errors import ApiError
from bot.emulator.formatting import render


def spans(text: str, parse_mode: str | None) -> tuple[str, list[tuple[str, int, int]]]:
    rendered = render(text, parse_mode)
    return rendered.text, [(e["type"], e["offset"], e["length"]) for e in rendered.entities]


def test_plain_text_is_only_stripped() -> None:
    assert spans("  <b>not markup</b>\n", None) == ("<b>not markup</b>", [])


def test_html_entities_count_utf16_units() -> None:
    text, entities = spans("😀 <b>hi</b> <a href='https://x.org'>link</a>", "HTML")
    assert text == "😀 hi link"
    assert entities == [("bold", 3, 2), ("text_link", 6, 4)]


def test_html_pre_with_language() -> None:
    rendered = render('<pre><code class="language-python">x = 1</code></pre>', "HTML")
    assert rendered.text == "x = 1"
    assert rendered.entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ("<blink>x</blink>", 'Unsupported start tag "blink"'),
        ("1 < 2", "Unsupported start tag"),
    ],
)
def test_html_errors(source: str, detail: str) -> None:
    with pytest.raises(ApiError) as raised:
        render(source, "HTML")
    assert raised.value.status == 400
    assert raised.value.description.startswith("Bad Request: can't parse entities: ")
    assert detail in raised.value.description


def test_html_escapes_are_decoded() -> None:
    assert spans("1 &lt; 2 &amp;&amp; 3 &gt; 2 &#33;", "HTML")[0] == "1 < 2 && 3 > 2 !"


def test_markdown_v2_formatting() -> None:
    text, entities = spans(r"*bold* _it_ __under__ ||spoil|| `code` [site](https://x.org) 1\.5", "MarkdownV2")
    assert text == "bold it under spoil code site 1.5"
    assert entities == [
        ("bold", 0, 4),
        ("italic", 5, 2),
        ("underline", 8, 5),
        ("spoiler", 14, 5),
        ("code", 20, 4),
        ("text_link", 25, 4),
    ]


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("Price: 1.5", "Character '.' is reserved"),
        ("a-b", "Character '-' is reserved"),
        ("*never closed", "Can't find end of Bold entity"),
        ("`code", "Can't find end of Code entity"),
    ],
)
def test_markdown_v2_errors(source: str, detail: str) -> None:
    with pytest.raises(ApiError, match="can't parse entities") as raised:
        render(source, "MarkdownV2")
    assert detail in raised.value.description


def test_legacy_markdown() -> None:
    assert spans("*bold* and [link](https://x.org)", "Markdown") == (
        "bold and link",
        [("bold", 0, 4), ("text_link", 9, 4)],
    )
    with pytest.raises(ApiError, match="Can't find end of the entity"):
        render("*open", "Markdown")


def test_unknown_parse_mode_is_refused() -> None:
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        render("x", "BBCode")
