"""parse_mode=HTML as Telegram implements it: a fixed set of tags, strict nesting, the four
named entities plus numeric ones; anything else is "can't parse entities"."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.emulator.textbuild import Rendered, TextBuilder, byte_offset, parse_error

_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_ATTR_RE = re.compile(r"([a-zA-Z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))")
_HTML_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);")
_NAMED_ENTITIES = MappingProxyType({"lt": "<", "gt": ">", "amp": "&", "quot": '"'})
_HTML_TAGS = MappingProxyType(
    {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
        "a": "text_link",
        "code": "code",
        "pre": "pre",
        "blockquote": "blockquote",
        "tg-emoji": "custom_emoji",
    }
)


@dataclass
class _OpenTag:
    name: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


def parse_html(text: str) -> Rendered:
    out = TextBuilder()
    stack: list[_OpenTag] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            match = _TAG_RE.match(text, pos)
            if match is None:
                bad = re.match(r"</?([^\s<>/]*)", text[pos:])
                tag = bad.group(1) if bad else ""
                raise parse_error(f'Unsupported start tag "{tag}" at byte offset {byte_offset(text, pos)}')
            closing, name, raw_attrs = match.group(1), match.group(2).lower(), match.group(3)
            if closing:
                _close_html_tag(text, pos, name, stack, out)
            else:
                stack.append(_open_html_tag(text, pos, name, raw_attrs, out.length))
            pos = match.end()
        elif char == "&":
            entity = _HTML_ENTITY_RE.match(text, pos)
            decoded = _decode_html_entity(entity.group(1)) if entity else None
            if entity is not None and decoded is not None:
                out.add(decoded)
                pos = entity.end()
            else:
                out.add(char)
                pos += 1
        else:
            out.add(char)
            pos += 1
    if stack:
        raise parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.result()


def _decode_html_entity(body: str) -> str | None:
    if body.startswith(("#x", "#X")):
        return chr(int(body[2:], 16))
    if body.startswith("#"):
        return chr(int(body[1:]))
    return _NAMED_ENTITIES.get(body)


def _open_html_tag(text: str, pos: int, name: str, raw_attrs: str, start: int) -> _OpenTag:
    if name not in _HTML_TAGS:
        raise parse_error(f'Unsupported start tag "{name}" at byte offset {byte_offset(text, pos)}')
    attrs = {
        m.group(1).lower(): html.unescape(next(g for g in m.groups()[1:] if g is not None))
        for m in _ATTR_RE.finditer(raw_attrs)
    }
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise parse_error('Tag "span" must have class "tg-spoiler"')
    return _OpenTag(name, start, attrs)


def _close_html_tag(text: str, pos: int, name: str, stack: list[_OpenTag], out: TextBuilder) -> None:
    offset = byte_offset(text, pos)
    if not stack:
        raise parse_error(f"Unexpected end tag at byte offset {offset}")
    tag = stack.pop()
    if tag.name != name:
        raise parse_error(
            f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", found "</{name}>"'
        )
    kind = _HTML_TAGS[name]
    extra: dict[str, Any] = {}
    if kind == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].language = language.removeprefix("language-")
        return
    if kind == "pre" and tag.language:
        extra["language"] = tag.language
    if kind == "text_link":
        href = tag.attrs.get("href")
        if not href:
            return
        extra["url"] = href
    if kind == "custom_emoji":
        extra["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    if kind == "blockquote" and "expandable" in tag.attrs:
        kind = "expandable_blockquote"
    out.entity(kind, tag.start, **extra)
