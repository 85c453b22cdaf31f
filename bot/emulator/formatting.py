"""Text formatting the way Telegram applies it: parse_mode markup becomes plain text plus
entities (offsets in UTF-16 code units), surrounding whitespace is stripped, and malformed
markup is refused with "can't parse entities", the error a real bot gets in production.

The parsers cover what bots actually send (HTML, MarkdownV2 and legacy Markdown); they are
strict where Telegram is strict (unbalanced tags, unescaped reserved characters).
"""

from __future__ import annotations

from typing import Any

from bot.emulator.errors import bad_request
from bot.emulator.html_mode import parse_html
from bot.emulator.markdown_mode import parse_markdown, parse_markdown_v2
from bot.emulator.textbuild import Rendered, utf16_len

__all__ = ["Rendered", "render", "utf16_len"]


def render(source: str, parse_mode: str | None, entities: Any = None) -> Rendered:
    """Render `source` as Telegram would; explicit `entities` take precedence over parse_mode."""
    if entities is not None:
        if not isinstance(entities, list) or not all(
            isinstance(entity, dict) and isinstance(entity.get("type"), str) for entity in entities
        ):
            raise bad_request("can't parse entities JSON object")
        return _strip(Rendered(source, [dict(entity) for entity in entities]))
    mode = (parse_mode or "").lower()
    if not mode:
        rendered = Rendered(source, [])
    elif mode == "html":
        rendered = parse_html(source)
    elif mode == "markdownv2":
        rendered = parse_markdown_v2(source)
    elif mode == "markdown":
        rendered = parse_markdown(source)
    else:
        raise bad_request("unsupported parse_mode")
    return _strip(rendered)


def _strip(rendered: Rendered) -> Rendered:
    """Trim surrounding whitespace as Telegram does, moving entity offsets along."""
    text = rendered.text
    stripped = text.strip()
    if stripped == text:
        return _sorted(rendered)
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    entities = []
    for entity in rendered.entities:
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            entities.append(entity)
            continue
        start = max(offset - shift, 0)
        end = min(offset + length - shift, limit)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return _sorted(Rendered(stripped, entities))


def _sorted(rendered: Rendered) -> Rendered:
    def key(entity: dict[str, Any]) -> tuple[int, int]:
        offset, length = entity.get("offset"), entity.get("length")
        return (
            offset if isinstance(offset, int) else 0,
            -length if isinstance(length, int) else 0,
        )

    return Rendered(rendered.text, sorted(rendered.entities, key=key))
