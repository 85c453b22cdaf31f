"""parse_mode=MarkdownV2 (strict: reserved characters must be escaped) and the legacy
Markdown mode, as Telegram parses them."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

from bot.emulator.errors import ApiError
from bot.emulator.textbuild import Rendered, TextBuilder, byte_offset, parse_error

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = MappingProxyType(
    {
        "*": "Bold",
        "_": "Italic",
        "__": "Underline",
        "~": "Strikethrough",
        "||": "Spoiler",
    }
)
_MDV2_KINDS = MappingProxyType(
    {
        "*": "bold",
        "_": "italic",
        "__": "underline",
        "~": "strikethrough",
        "||": "spoiler",
    }
)


def _find_unescaped(text: str, marker: str, start: int) -> int:
    pos = start
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text.startswith(marker, pos):
            return pos
        pos += 1
    return -1


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


class _MarkdownV2Parser:
    """A single left-to-right pass; state lives on the instance to keep each step small."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.out = TextBuilder()
        self.stack: list[tuple[str, int, int]] = []
        self.link: tuple[int, int, bool] | None = None
        self.quote_start: int | None = None
        self.quote_kind = "blockquote"
        self.pos = 0

    def reserved(self, char: str) -> ApiError:
        return parse_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")

    def parse(self) -> Rendered:
        text = self.text
        while self.pos < len(text):
            self.step(text[self.pos])
        if self.stack:
            marker, _, byte_offset = self.stack[-1]
            raise parse_error(f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset {byte_offset}")
        if self.link is not None:
            raise parse_error(f"Can't find end of TextUrl entity at byte offset {self.link[1]}")
        self.close_quote()
        return self.out.result()

    def step(self, char: str) -> None:
        text, pos = self.text, self.pos
        line_start = pos == 0 or text[pos - 1] == "\n"
        if char == "\\" and pos + 1 < len(text) and 1 <= ord(text[pos + 1]) <= 126:
            self.out.add(text[pos + 1])
            self.pos += 2
        elif char == "`":
            self.code()
        elif line_start and (char == ">" or text.startswith("**>", pos)):
            if self.quote_start is None:
                self.quote_start = self.out.length
                self.quote_kind = "blockquote" if char == ">" else "expandable_blockquote"
            self.pos += 1 if char == ">" else 3
        elif char in "*~_|":
            self.toggle(char)
        elif char == "!" and text.startswith("![", pos):
            self.link = (self.out.length, byte_offset(text, pos), True)
            self.pos += 2
        elif char == "[":
            if self.link is not None:
                raise self.reserved(char)
            self.link = (self.out.length, byte_offset(text, pos), False)
            self.pos += 1
        elif char == "]":
            self.close_link()
        elif char in _MDV2_RESERVED:
            raise self.reserved(char)
        else:
            if char == "\n" and self.quote_start is not None:
                rest = text[pos + 1 :]
                if not (rest.startswith((">", "**>"))):
                    self.close_quote()
            self.out.add(char)
            self.pos += 1

    def code(self) -> None:
        text, pos = self.text, self.pos
        fence = "```" if text.startswith("```", pos) else "`"
        end = _find_unescaped(text, fence, pos + len(fence))
        if end < 0:
            kind = "Pre" if fence == "```" else "Code"
            raise parse_error(f"Can't find end of {kind} entity at byte offset {byte_offset(text, pos)}")
        inner = text[pos + len(fence) : end]
        extra: dict[str, Any] = {}
        if fence == "```" and "\n" in inner:
            first, rest = inner.split("\n", 1)
            if first.strip():
                extra["language"] = first.strip()
                inner = rest
        start = self.out.length
        self.out.add(_unescape(inner))
        self.out.entity("pre" if fence == "```" else "code", start, **extra)
        self.pos = end + len(fence)

    def toggle(self, char: str) -> None:
        text, pos = self.text, self.pos
        marker = char
        if char in "_|" and text.startswith(char * 2, pos):
            marker = char * 2
        elif char == "|":
            raise self.reserved(char)
        open_markers = [entry[0] for entry in self.stack]
        if marker in open_markers:
            index = len(open_markers) - 1 - open_markers[::-1].index(marker)
            _, start, _ = self.stack.pop(index)
            self.out.entity(_MDV2_KINDS[marker], start)
        else:
            self.stack.append((marker, self.out.length, byte_offset(text, pos)))
        self.pos += len(marker)

    def close_link(self) -> None:
        text, pos = self.text, self.pos
        if self.link is None:
            raise self.reserved("]")
        start, byte_offset, emoji = self.link
        self.link = None
        if not text.startswith("(", pos + 1):
            self.pos += 1
            return
        end = _find_unescaped(text, ")", pos + 2)
        if end < 0:
            raise parse_error(f"Can't find end of a URL at byte offset {byte_offset}")
        url = _unescape(text[pos + 2 : end])
        if emoji:
            self.out.entity("custom_emoji", start, custom_emoji_id=url.rsplit("=", 1)[-1])
        else:
            self.out.entity("text_link", start, url=url)
        self.pos = end + 1

    def close_quote(self) -> None:
        if self.quote_start is not None:
            self.out.entity(self.quote_kind, self.quote_start)
            self.quote_start = None


def parse_markdown_v2(text: str) -> Rendered:
    return _MarkdownV2Parser(text).parse()


# --- legacy Markdown --------------------------------------------------------------------------

_LEGACY_KINDS = MappingProxyType({"*": "bold", "_": "italic", "`": "code", "```": "pre"})


def parse_markdown(text: str) -> Rendered:
    out = TextBuilder()
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in "_*`[":
            out.add(text[pos + 1])
            pos += 2
            continue
        marker = "```" if text.startswith("```", pos) else char
        if marker in _LEGACY_KINDS or char == "[":
            closing = "]" if char == "[" else marker
            end = text.find(closing, pos + len(marker))
            if end < 0:
                raise parse_error(
                    f"Can't find end of the entity starting at byte offset {byte_offset(text, pos)}"
                )
            start = out.length
            out.add(text[pos + len(marker) : end])
            pos = end + len(closing)
            if char == "[":
                url_end = text.find(")", pos) if text.startswith("(", pos) else -1
                if url_end >= 0:
                    out.entity("text_link", start, url=text[pos + 1 : url_end])
                    pos = url_end + 1
            else:
                out.entity(_LEGACY_KINDS[marker], start)
            continue
        out.add(char)
        pos += 1
    return out.result()
