"""Everything the emulated Telegram knows: the bot, private chats and their messages, pending
updates, callback queries, webhook settings, commands, files, faults and the call record.

Plain Python with no HTTP, so methods and tests manipulate it directly. Every change goes
through `touch()`, which wakes whoever waits for a condition (long polls, webhook delivery,
`wait_for` in tests).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.errors import blocked_by_user, cannot_initiate, chat_not_found
from bot.emulator.faults import FaultBook
from bot.emulator.models import (
    ChatMessage,
    RecordedCall,
    StoredDocument,
    UserProfile,
    WebhookDelivery,
)
from bot.emulator.notify import Signal
from bot.emulator.updates import UpdateQueue

logger = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"(\d+):[^\s/]+")
# Used as the bot's id until a request reveals the token, when any token is accepted.
_PLACEHOLDER_BOT_ID = 1


@dataclass
class BotProfile:
    id: int
    username: str
    first_name: str = "Guardbot"


@dataclass
class ChatState:
    """A private chat between the bot and one user; message ids are shared by both sides."""

    profile: UserProfile
    messages: list[ChatMessage] = field(default_factory=list)
    next_message_id: int = 1
    started: bool = False
    blocked: bool = False
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    chat_actions: list[str] = field(default_factory=list)

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def find(self, message_id: int) -> ChatMessage | None:
        """The message with this id, deleted or not."""
        return next((m for m in self.messages if m.message_id == message_id), None)

    def visible(self, message_id: int) -> ChatMessage | None:
        message = self.find(message_id)
        return None if message is None or message.deleted else message


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    message_id: int | None
    data: str
    answered: bool = False


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class EmulatorState:
    def __init__(
        self,
        *,
        token: str | None,
        bot_username: str,
        clock: Callable[[], float],
    ) -> None:
        self.token = token
        self.clock = clock
        bot_id = bot_id_of(token) if token else None
        self.bot = BotProfile(id=bot_id or _PLACEHOLDER_BOT_ID, username=bot_username)
        self.chats: dict[int, ChatState] = {}
        self.updates = UpdateQueue()
        self.faults = FaultBook()
        self.calls: list[RecordedCall] = []
        self.listeners: list[Callable[[RecordedCall], None]] = []
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.webhook: WebhookConfig | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.files: dict[str, StoredDocument] = {}
        self.changed = Signal()
        self.poll_generation = 0
        self.pollers_waiting = 0
        self.closing = False
        self._ids = itertools.count(1)

    def now(self) -> int:
        return int(self.clock())

    def touch(self) -> None:
        """Announce a state change to every waiter."""
        self.changed.notify()

    def accepts_token(self, token: str) -> bool:
        if self.token is not None:
            return token == self.token
        return TOKEN_RE.fullmatch(token) is not None

    def note_token(self, token: str) -> None:
        """Learn the bot's id from the token it uses (when any token is accepted)."""
        bot_id = bot_id_of(token)
        if self.token is None and bot_id is not None:
            self.bot.id = bot_id

    # --- chats ---------------------------------------------------------------------------------

    def chat(self, user_id: int, *, started: bool = True) -> ChatState:
        """The chat with this user, creating the user if needed (`started`: whether a new user
        counts as having pressed Start, so the bot may message them)."""
        chat = self.chats.get(user_id)
        if chat is None:
            chat = ChatState(UserProfile(id=user_id, first_name=f"User{user_id}"), started=started)
            self.chats[user_id] = chat
        return chat

    def known_chat(self, chat_id: int) -> ChatState:
        """A chat the bot may act in: a user the emulator knows, who has started the bot."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise chat_not_found()
        if not chat.started:
            raise cannot_initiate()
        return chat

    def sendable_chat(self, chat_id: int) -> ChatState:
        """A known chat whose user has not blocked the bot."""
        chat = self.known_chat(chat_id)
        if chat.blocked:
            raise blocked_by_user()
        return chat

    # --- updates, calls, files -----------------------------------------------------------------

    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue an update and wake pollers; returns its update_id (even if filtered out)."""
        update, _ = self.updates.push(payload)
        self.touch()
        return update.update_id

    def record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        for listener in list(self.listeners):
            try:
                listener(call)
            except Exception:
                logger.exception("emulator listener failed on %s", call.method)
        self.touch()

    def recent_calls(self, count: int = 5) -> str:
        """A one-line summary of the bot's latest calls (polls left out), for timeout errors."""
        calls = [call for call in self.calls if call.method != "getUpdates"][-count:]
        if not calls:
            return "the bot made no Bot API calls besides getUpdates"
        parts = []
        for call in calls:
            error = "" if call.ok else f" {call.response.get('description')!r}"
            parts.append(f"{call.method} -> {call.status}{error}")
        return "last calls: " + "; ".join(parts)

    def next_id(self) -> int:
        """A fresh number for callback query ids, file ids and the like."""
        return next(self._ids)

    def store_file(self, filename: str, mime_type: str, data: bytes) -> StoredDocument:
        number = self.next_id()
        document = StoredDocument(
            file_id=f"BQACAgIAAxkBAAI{number:06d}",
            file_unique_id=f"AgAD{number:06d}",
            filename=filename,
            mime_type=mime_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
        )
        self.files[document.file_id] = document
        return document


def bot_id_of(token: str) -> int | None:
    match = TOKEN_RE.fullmatch(token)
    return int(match.group(1)) if match else None
