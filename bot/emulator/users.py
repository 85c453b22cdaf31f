"""A person talking to the bot: tests act through it (send, press, forward, block) and read
their chat back from it, seeing what the user would see."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.emulator import serialize
from bot.emulator.formatting import utf16_len
from bot.emulator.models import ChatMessage, UserProfile
from bot.emulator.state import CallbackQuery, ChatState, EmulatorState

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
# Callback query ids look like Telegram's: long decimal strings.
_QUERY_ID_BASE = 4_700_000_000_000_000_000

Button = str | int | tuple[int, int]


class EmulatedUser:
    """One user and their private chat with the bot; get it from `BotApiEmulator.user`."""

    def __init__(self, state: EmulatorState, user_id: int) -> None:
        self._state = state
        self.id = user_id
        self._seen_up_to = 0

    def __repr__(self) -> str:
        return f"EmulatedUser(id={self.id}, first_name={self.profile.first_name!r})"

    @property
    def _chat(self) -> ChatState:
        return self._state.chat(self.id)

    @property
    def profile(self) -> UserProfile:
        return self._chat.profile

    @property
    def first_name(self) -> str:
        return self.profile.first_name

    @property
    def username(self) -> str | None:
        return self.profile.username

    @property
    def blocked(self) -> bool:
        return self._chat.blocked

    # --- acting --------------------------------------------------------------------------------

    def send(self, text: str, *, reply_to: int | None = None) -> ChatMessage:
        """Send a text message to the bot; commands get a bot_command entity like on Telegram."""
        if not text.strip():
            raise ValueError("Telegram clients do not send empty messages")
        chat = self._chat
        if reply_to is not None and chat.visible(reply_to) is None:
            raise LookupError(f"{self._name} has no message {reply_to} to reply to")
        entities = []
        command = _COMMAND_RE.match(text)
        if command is not None:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
        return self._post(ChatMessage(**self._new(), text=text, entities=entities), reply_to)

    def send_document(
        self,
        filename: str,
        data: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
    ) -> ChatMessage:
        """Send a file to the bot (it is stored like a bot upload, so the bot can resend it)."""
        document = self._state.store_file(filename, mime_type, data)
        message = ChatMessage(**self._new(), document=document, caption=caption or None)
        return self._post(message, None)

    def forward(self, message: ChatMessage) -> ChatMessage:
        """Forward a message (typically one of the bot's) back to the bot."""
        if message.protect_content:
            raise ValueError("the message has protected content; Telegram forbids forwarding it")
        origin = message.forward_origin or {
            "type": "user",
            "sender_user": (
                serialize.bot_user(self._state.bot)
                if message.from_bot
                else serialize.user(self._state.chat(message.chat_id).profile)
            ),
            "date": message.date,
        }
        copy = ChatMessage(
            **self._new(),
            text=message.text,
            caption=message.caption,
            entities=list(message.entities),
            document=message.document,
            forward_origin=origin,
        )
        return self._post(copy, None)

    def press(self, message_id: int, button: Button) -> str:
        """Press an inline button (by text, flat index, or (row, column)) on a bot message;
        returns the callback query id."""
        message = self._chat.visible(message_id)
        if message is None or not message.from_bot:
            raise LookupError(f"{self._name} sees no bot message {message_id}")
        found = _find_button(message, button)
        if found is None:
            raise LookupError(f"no button {button!r} on message {message_id}; buttons: {message.buttons}")
        data = found.get("callback_data")
        if not isinstance(data, str):
            kind = next((key for key in found if key != "text"), "unknown")
            raise LookupError(f"button {found.get('text')!r} has no callback_data ({kind} button)")
        return self._callback(message_id, data)

    def press_data(self, message_id: int, data: str) -> str:
        """Send a callback query with arbitrary data, as a forged or stale client could.

        If the message is missing or deleted the query carries an inaccessible message, as
        Telegram sends for messages the bot can no longer see.
        """
        return self._callback(message_id, data)

    def block(self, *, notify: bool = True) -> None:
        """Block the bot; Telegram tells the bot with a my_chat_member update (status kicked)."""
        self._set_blocked(True, notify=notify)

    def unblock(self, *, notify: bool = True) -> None:
        self._set_blocked(False, notify=notify)

    # --- observing -----------------------------------------------------------------------------

    @property
    def messages(self) -> list[ChatMessage]:
        """Every message of the chat in order, both directions, deleted ones included."""
        return list(self._chat.messages)

    @property
    def bot_messages(self) -> list[ChatMessage]:
        """The bot's messages still visible in the chat."""
        return [m for m in self._chat.messages if m.from_bot and not m.deleted]

    @property
    def last_bot_message(self) -> ChatMessage | None:
        visible = self.bot_messages
        return visible[-1] if visible else None

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        return list(self._chat.callback_answers)

    @property
    def chat_actions(self) -> list[str]:
        return list(self._chat.chat_actions)

    def message(self, message_id: int) -> ChatMessage:
        found = self._chat.find(message_id)
        if found is None:
            raise LookupError(f"{self._name} has no message {message_id}")
        return found

    def mark_all_seen(self) -> None:
        """Make `wait_for_bot_message` ignore every bot message sent so far."""
        self._seen_up_to = self._chat.next_message_id - 1

    async def wait_for_bot_message(
        self,
        predicate: Callable[[ChatMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - tests read better with a timeout argument
    ) -> ChatMessage:
        """Wait for the next visible bot message after the last one a wait returned (or after
        `mark_all_seen`) that matches `predicate`; earlier non-matching ones are skipped."""
        found: ChatMessage | None = None

        def ready() -> bool:
            nonlocal found
            found = next(
                (
                    m
                    for m in self._chat.messages
                    if m.from_bot
                    and not m.deleted
                    and m.message_id > self._seen_up_to
                    and (predicate is None or predicate(m))
                ),
                None,
            )
            return found is not None

        if not await self._state.changed.wait_until(ready, timeout, recheck=0.02) or found is None:
            recent = [m.content for m in self.bot_messages[-5:]]
            raise TimeoutError(
                f"{self._name} got no new bot message"
                f"{'' if predicate is None else ' matching the predicate'} within {timeout}s; "
                f"last bot messages: {recent}; {self._state.recent_calls()}"
            )
        self._seen_up_to = found.message_id
        return found

    # --- internals -----------------------------------------------------------------------------

    @property
    def _name(self) -> str:
        return f"user {self.id} ({self.profile.first_name})"

    def _new(self) -> dict[str, Any]:
        """Fields of a new message from this user. Writing starts the chat; it does not unblock
        the bot (tests control blocking explicitly with `block`/`unblock`)."""
        chat = self._chat
        chat.started = True
        return {
            "chat_id": self.id,
            "message_id": chat.allocate_message_id(),
            "from_bot": False,
            "date": self._state.now(),
        }

    def _post(self, message: ChatMessage, reply_to: int | None) -> ChatMessage:
        message.reply_to_message_id = reply_to
        self._chat.messages.append(message)
        self._state.push_update({"message": serialize.message(self._state, message)})
        return message

    def _callback(self, message_id: int, data: str) -> str:
        state, chat = self._state, self._chat
        chat.started = True
        query_id = str(_QUERY_ID_BASE + state.next_id())
        message = chat.visible(message_id)
        state.callback_queries[query_id] = CallbackQuery(query_id, self.id, message_id, data)
        state.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": serialize.user(chat.profile),
                    "message": (
                        serialize.message(state, message)
                        if message is not None
                        else serialize.inaccessible_message(chat.profile, message_id)
                    ),
                    "chat_instance": str(-(self.id * 1_000_003 + state.bot.id)),
                    "data": data,
                }
            }
        )
        return query_id

    def _set_blocked(self, blocked: bool, *, notify: bool) -> None:
        state, chat = self._state, self._chat
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        if notify and chat.started:
            bot = serialize.bot_user(state.bot)
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            state.push_update(
                {
                    "my_chat_member": {
                        "chat": serialize.private_chat(chat.profile),
                        "from": serialize.user(chat.profile),
                        "date": state.now(),
                        "old_chat_member": _member(bot, old),
                        "new_chat_member": _member(bot, new),
                    }
                }
            )
        state.touch()


def _member(bot: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"user": bot, "status": status}
    if status == "kicked":
        member["until_date"] = 0
    return member


def _find_button(message: ChatMessage, button: Button) -> dict[str, Any] | None:
    buttons = message.inline_buttons
    if isinstance(button, str):
        return next((b for b in buttons if b.get("text") == button), None)
    if isinstance(button, tuple):
        row, column = button
        rows = (message.reply_markup or {}).get("inline_keyboard") or []
        try:
            found = rows[row][column]
        except (IndexError, TypeError):
            return None
        return found if isinstance(found, dict) else None
    return buttons[button] if -len(buttons) <= button < len(buttons) else None
