"""What a Bot API call would put in front of a person, read off aiogram's method objects.

The gate is default-deny: a method is either known to carry no content, or known and inspected here, or
refused. A new Bot API method therefore cannot leak content until someone decides how to check it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.methods import TelegramMethod
from pydantic import BaseModel

NO_CONTENT = frozenset(
    {
        "getMe",
        "getUpdates",
        "getWebhookInfo",
        "setWebhook",
        "deleteWebhook",
        "logOut",
        "close",
        "deleteMessage",
        "deleteMessages",
        "sendChatAction",
        "getChat",
        "getChatMember",
        "getFile",
        "getMyCommands",
        "deleteMyCommands",
    }
)
"""Methods that show nothing new to anyone (or only remove things)."""

INSPECTED = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "setMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
    }
)
"""Methods whose every displayed string the gate can enumerate and check."""

_GLOBAL = frozenset({"setMyCommands", "setMyDescription", "setMyShortDescription", "setMyName"})
_TOP_LEVEL_TEXT = ("text", "caption", "description", "short_description", "name")
_MARKUP_TEXT = frozenset(
    {
        "text",
        "url",
        "input_field_placeholder",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "query",
    }
)


@dataclass(frozen=True)
class Outgoing:
    """The displayed strings of one call and the chat they would reach (None: every user)."""

    method: str
    chat_id: int | str | None
    texts: tuple[str, ...]
    formatting: bool


def _markup_texts(value: Any) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for name, item in value:
            if name in _MARKUP_TEXT and isinstance(item, str):
                yield item
            elif isinstance(item, BaseModel | list):
                yield from _markup_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _markup_texts(item)


def _uses_formatting(bot: Bot, method: TelegramMethod[Any]) -> bool:
    """Whether the call asks Telegram to interpret markup or entities (which could hide links)."""
    for name in ("parse_mode", "entities", "caption_entities"):
        value = getattr(method, name, None)
        if isinstance(value, Default):
            value = bot.default[value.name]
        if value:
            return True
    return False


def inspect_call(bot: Bot, method: TelegramMethod[Any]) -> Outgoing:
    """Collect the displayed strings of an INSPECTED method."""
    name = method.__api_method__
    texts: list[str] = [
        value for field in _TOP_LEVEL_TEXT if isinstance(value := getattr(method, field, None), str)
    ]
    texts.extend(_markup_texts(getattr(method, "reply_markup", None)))
    for command in getattr(method, "commands", None) or ():
        texts.append(command.description)
    chat_id = None if name in _GLOBAL else getattr(method, "chat_id", None)
    return Outgoing(name, chat_id, tuple(texts), _uses_formatting(bot, method))
