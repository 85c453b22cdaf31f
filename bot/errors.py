"""The exceptions Guardbot raises on purpose; each `str()` is safe to log (no content, no secrets)."""

from __future__ import annotations


class GuardbotError(Exception):
    """Base of every deliberate Guardbot error."""


class CatalogError(GuardbotError):
    """The content catalog file is unusable; the bot must not start with it."""


class RenderError(GuardbotError):
    """Code asked to render a catalog entry wrongly (unknown key, missing field): a programming error."""


class GateRefused(GuardbotError):
    """The outbound gate stopped a Bot API call from reaching Telegram."""

    def __init__(self, method: str, chat_id: int | str | None, reason: str) -> None:
        super().__init__(f"{method} to chat {chat_id} refused: {reason}")
        self.method = method
        self.chat_id = chat_id
        self.reason = reason


class SchemaError(GuardbotError):
    """The database was written by a newer Guardbot or is not a Guardbot database."""
