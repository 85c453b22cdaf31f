"""Telegram's JSON objects (User, Chat, Message, Document, CallbackQuery) built from state, complete
enough that aiogram's models validate them."""

from __future__ import annotations

from typing import Any

from bot.emulator.models import ChatMessage, StoredDocument, UserProfile
from bot.emulator.state import BotProfile, EmulatorState


def bot_user(bot: BotProfile) -> dict[str, Any]:
    return {
        "id": bot.id,
        "is_bot": True,
        "first_name": bot.first_name,
        "username": bot.username,
    }


def user(profile: UserProfile) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": profile.id,
        "is_bot": False,
        "first_name": profile.first_name,
    }
    _put(result, "last_name", profile.last_name)
    _put(result, "username", profile.username)
    _put(result, "language_code", profile.language_code)
    return result


def private_chat(profile: UserProfile) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": profile.id,
        "type": "private",
        "first_name": profile.first_name,
    }
    _put(result, "last_name", profile.last_name)
    _put(result, "username", profile.username)
    return result


def document(doc: StoredDocument) -> dict[str, Any]:
    return {
        "file_id": doc.file_id,
        "file_unique_id": doc.file_unique_id,
        "file_name": doc.filename,
        "mime_type": doc.mime_type,
        "file_size": doc.size,
    }


def message(state: EmulatorState, msg: ChatMessage, *, with_reply: bool = True) -> dict[str, Any]:
    """The Message object for `msg`, with the replied-to message nested one level deep."""
    chat = state.chat(msg.chat_id)
    result: dict[str, Any] = {
        "message_id": msg.message_id,
        "from": bot_user(state.bot) if msg.from_bot else user(chat.profile),
        "chat": private_chat(chat.profile),
        "date": msg.date,
    }
    _put(result, "edit_date", msg.edit_date)
    _put(result, "forward_origin", msg.forward_origin)
    if msg.reply_to_message_id is not None and with_reply:
        replied = chat.find(msg.reply_to_message_id)
        if replied is not None:
            result["reply_to_message"] = message(state, replied, with_reply=False)
    if msg.text is not None:
        result["text"] = msg.text
        if msg.entities:
            result["entities"] = msg.entities
    if msg.document is not None:
        result["document"] = document(msg.document)
    if msg.caption is not None:
        result["caption"] = msg.caption
        if msg.entities:
            result["caption_entities"] = msg.entities
    if msg.protect_content:
        result["has_protected_content"] = True
    if msg.link_preview_options is not None:
        result["link_preview_options"] = msg.link_preview_options
    # Telegram only echoes inline keyboards in Message objects.
    if msg.reply_markup is not None and "inline_keyboard" in msg.reply_markup:
        result["reply_markup"] = msg.reply_markup
    return result


def inaccessible_message(profile: UserProfile, message_id: int) -> dict[str, Any]:
    """What Telegram puts in a callback query whose message the bot can no longer access."""
    return {"chat": private_chat(profile), "message_id": message_id, "date": 0}


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value
