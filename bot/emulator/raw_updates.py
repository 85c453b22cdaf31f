"""What a hand-built update tells the emulated Telegram.

When a test queues a raw update with a private message or a callback query, real Telegram would
already know that user, that message and that query; without this the bot's natural answers
(reply to the message, answer the query) would fail with errors Telegram would never give.
Anything malformed is left alone: it is delivered as is and teaches the emulator nothing.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from bot.emulator.models import ChatMessage, UserProfile
from bot.emulator.state import CallbackQuery, ChatState, EmulatorState


def absorb(state: EmulatorState, update: dict[str, Any]) -> None:
    message = update.get("message")
    if isinstance(message, dict):
        _absorb_message(state, message)
    query = update.get("callback_query")
    if isinstance(query, dict):
        _absorb_callback_query(state, query)


def _is_id(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _absorb_message(state: EmulatorState, message: dict[str, Any]) -> None:
    chat, message_id = message.get("chat"), message.get("message_id")
    if not isinstance(chat, dict) or chat.get("type") != "private" or not _is_id(message_id):
        return
    record = _chat_of(state, chat.get("id"), message.get("from") or chat)
    if record is None:
        return
    if record.find(message_id) is None:
        text, caption, date = message.get("text"), message.get("caption"), message.get("date")
        stored = ChatMessage(
            chat_id=record.profile.id,
            message_id=message_id,
            from_bot=False,
            date=date if isinstance(date, int) else state.now(),
            text=text if isinstance(text, str) else None,
            caption=caption if isinstance(caption, str) else None,
        )
        later = [i for i, m in enumerate(record.messages) if m.message_id > message_id]
        record.messages.insert(later[0] if later else len(record.messages), stored)
    record.next_message_id = max(record.next_message_id, message_id + 1)


def _absorb_callback_query(state: EmulatorState, query: dict[str, Any]) -> None:
    query_id, sender = query.get("id"), query.get("from")
    if not isinstance(query_id, str) or not isinstance(sender, dict):
        return
    record = _chat_of(state, sender.get("id"), sender)
    if record is None or query_id in state.callback_queries:
        return
    message = query.get("message")
    message_id = message.get("message_id") if isinstance(message, dict) else None
    data = query.get("data")
    state.callback_queries[query_id] = CallbackQuery(
        query_id,
        record.profile.id,
        message_id if _is_id(message_id) else None,
        data if isinstance(data, str) else "",
    )


def _chat_of(state: EmulatorState, user_id: Any, names: Any) -> ChatState | None:
    """The private chat with `user_id`, created from the update's names if new; it counts as
    started, since the user evidently wrote to the bot."""
    if not _is_id(user_id):
        return None
    record = state.chats.get(user_id)
    if record is None:
        names = names if isinstance(names, dict) else {}
        first_name = names.get("first_name")
        record = ChatState(
            UserProfile(
                id=user_id,
                first_name=first_name if isinstance(first_name, str) else f"User{user_id}",
                last_name=_str_or_none(names.get("last_name")),
                username=_str_or_none(names.get("username")),
                language_code=_str_or_none(names.get("language_code")),
            )
        )
        state.chats[user_id] = record
    record.started = True
    return record


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
