"""The records the emulator keeps and hands to tests.

They are plain dataclasses so that a test can hold a `ChatMessage` and see later edits and
deletions on the same object, exactly as a person looking at the chat would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part, as it arrived; methods turn it into a `StoredDocument`."""

    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        # Keep call records readable: the bytes themselves can be megabytes.
        return f"UploadedFile(filename={self.filename!r}, size={len(self.data)})"


@dataclass(frozen=True)
class StoredDocument:
    """A document the emulator holds, with its bytes, so tests can check what was sent."""

    file_id: str
    file_unique_id: str
    filename: str
    mime_type: str
    size: int
    sha256: str
    data: bytes = field(repr=False)


@dataclass
class ChatMessage:
    """One message in a private chat, in either direction, mutated in place on edit/delete.

    `text` and `caption` hold what the person sees (markup rendered, surrounding whitespace
    stripped, as Telegram stores them); `source_text` keeps what the bot sent before rendering.
    """

    chat_id: int
    message_id: int
    from_bot: bool
    date: int
    text: str | None = None
    caption: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None
    source_text: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: StoredDocument | None = None
    reply_to_message_id: int | None = None
    forward_origin: dict[str, Any] | None = None
    protect_content: bool = False
    disable_notification: bool = False
    link_preview_options: dict[str, Any] | None = None
    deleted: bool = False
    edited: bool = False
    edit_date: int | None = None
    params: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def content(self) -> str:
        """Text or caption, whichever the message has ("" if neither)."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[list[str]]:
        """Button texts of the attached keyboard (inline or reply), row by row."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or self.reply_markup.get("keyboard") or []
        return [[_button_text(button) for button in row] for row in rows]

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons flattened row by row (what `EmulatedUser.press` indexes)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [button for row in rows for button in row if isinstance(button, dict)]


def _button_text(button: Any) -> str:
    if isinstance(button, dict):
        return str(button.get("text", ""))
    return str(button)


@dataclass(frozen=True)
class RecordedCall:
    """One Bot API request the bot made, with the answer it got."""

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the bot's webhook; `status` is None on connection error."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    at: float


@dataclass
class UserProfile:
    """A Telegram user as the emulator presents them in `from` and `chat` objects."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
