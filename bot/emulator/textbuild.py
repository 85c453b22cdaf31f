"""Shared pieces of the parse_mode parsers: the rendered result, a builder that tracks entity
offsets in UTF-16 code units (Telegram's unit), and the "can't parse entities" error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.emulator.errors import ApiError, bad_request


@dataclass(frozen=True)
class Rendered:
    """What the recipient sees: plain text and its formatting entities."""

    text: str
    entities: list[dict[str, Any]]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8"))


class TextBuilder:
    """Accumulates plain text and entities with UTF-16 offsets."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.length = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        self._parts.append(text)
        self.length += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.length > start:
            self.entities.append({"type": kind, "offset": start, "length": self.length - start, **extra})

    def result(self) -> Rendered:
        return Rendered("".join(self._parts), self.entities)
