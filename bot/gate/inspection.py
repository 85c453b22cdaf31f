"""What a Bot API call would put in front of a person, read off aiogram's method objects.

The gate is default-deny at every level:

- **methods**: a method is either known to carry no content (NO_CONTENT), or known and inspected here
  (INSPECTED), or refused. A new Bot API method cannot leak content until someone decides how to check it.
- **parameters**: an inspected method may only carry the parameters in its allow-list (PARAMETERS); any
  other parameter that would be sent, including pydantic extras (aiogram's models accept unknown
  keywords and serialise them), is refused. A new Bot API parameter (a preview URL, a quote, a new kind
  of attachment) therefore cannot carry content past the gate either.
- **markup fields**: reply markup is walked with a per-type allow-list (MARKUP_FIELDS); an unknown markup
  type or any other button field (login URLs, web apps, inline-query switches, …) is refused.

A parameter whose value is None or an aiogram `Default(...)` sentinel counts as absent: None is never
sent, and a `Default` is the bot's own configuration (set in the composition root), not part of the call.
The one exception is formatting: `parse_mode` defaults are resolved, because a default parse mode would
let a placeholder value inject markup into every message.

Inspection only reads the call and raises `NotAllowed`; it never touches the ledger. The gate redeems
renderings only after inspection has passed, so a call refused for a parameter consumes none of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScope,
    BufferedInputFile,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    WebAppInfo,
)
from pydantic import BaseModel

from bot.content.rendering import attachment_token

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

_FORMATTING = ("parse_mode", "entities", "caption_entities")
"""Allowed as parameters only so that the formatting check can refuse them with its own, clearer reason."""

_MESSAGE_OPTIONS = (
    "disable_notification",
    "protect_content",
    "reply_parameters",  # restricted: see _check_reply_parameters
    "reply_to_message_id",  # deprecated alias of reply_parameters.message_id (same chat only)
    "allow_sending_without_reply",  # deprecated alias of reply_parameters.allow_sending_without_reply
    "link_preview_options",  # restricted: see _check_link_preview
    "disable_web_page_preview",  # deprecated alias of link_preview_options.is_disabled
    "allow_paid_broadcast",
)

PARAMETERS: Mapping[str, frozenset[str]] = {
    "sendMessage": frozenset(
        {"chat_id", "text", "reply_markup", "parse_mode", "entities", *_MESSAGE_OPTIONS}
    ),
    "editMessageText": frozenset(
        {
            "chat_id",
            "message_id",
            "text",
            "reply_markup",
            "parse_mode",
            "entities",
            "link_preview_options",
            "disable_web_page_preview",
        }
    ),
    "editMessageCaption": frozenset(
        {"chat_id", "message_id", "caption", "reply_markup", "parse_mode", "caption_entities"}
    ),
    "editMessageReplyMarkup": frozenset({"chat_id", "message_id", "reply_markup"}),
    "sendDocument": frozenset(
        {"chat_id", "document", "caption", "reply_markup", "parse_mode", "caption_entities"}
        | (set(_MESSAGE_OPTIONS) - {"link_preview_options", "disable_web_page_preview"})
    ),
    "answerCallbackQuery": frozenset({"callback_query_id", "text", "show_alert", "cache_time"}),
    "setMyCommands": frozenset({"commands", "scope", "language_code"}),
    "setMyDescription": frozenset({"description", "language_code"}),
    "setMyShortDescription": frozenset({"short_description", "language_code"}),
    "setMyName": frozenset({"name", "language_code"}),
}
"""Per inspected method, every parameter it may carry. Notably absent: answerCallbackQuery's `url`, every
`business_connection_id` / `inline_message_id` (no chat to bind content to), message effects, threads."""

INSPECTED = frozenset(PARAMETERS)
"""Methods whose every displayed string the gate can enumerate and check."""

MARKUP_FIELDS: Mapping[type[BaseModel], frozenset[str]] = {
    InlineKeyboardMarkup: frozenset({"inline_keyboard"}),
    InlineKeyboardButton: frozenset({"text", "callback_data", "url", "web_app"}),
    WebAppInfo: frozenset({"url"}),
    ReplyKeyboardMarkup: frozenset(
        {
            "keyboard",
            "is_persistent",
            "resize_keyboard",
            "one_time_keyboard",
            "input_field_placeholder",
            "selective",
        }
    ),
    KeyboardButton: frozenset({"text"}),
    ReplyKeyboardRemove: frozenset({"remove_keyboard", "selective"}),
    ForceReply: frozenset({"force_reply", "input_field_placeholder", "selective"}),
}
"""Per markup type (exact type, not subclasses), the fields it may carry. `callback_data` is not displayed
(and is parsed back through typed CallbackData), so it is allowed unchecked."""

_MARKUP_DISPLAYED = frozenset({"text", "url", "input_field_placeholder"})
"""Markup fields a person sees; each must be redeemed from the ledger."""

_TOP_LEVEL_TEXT = ("text", "caption", "description", "short_description", "name")
_GLOBAL = frozenset({"setMyCommands", "setMyDescription", "setMyShortDescription", "setMyName"})
_REPLY_FIELDS = frozenset({"message_id", "chat_id", "allow_sending_without_reply"})
_COMMAND_FIELDS = frozenset({"command", "description"})
_SCOPE_FIELDS = frozenset({"type", "chat_id", "user_id"})


class NotAllowed(Exception):
    """A parameter or markup field outside the allow-lists; `reason` names it, never its value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outgoing:
    """The displayed strings of one call and the chat they would reach (None: every user)."""

    method: str
    chat_id: int | str | None
    texts: tuple[str, ...]
    formatting: bool


def _absent(value: Any) -> bool:
    return value is None or isinstance(value, Default)


def _present(model: BaseModel) -> Iterator[tuple[str, Any]]:
    """Every field of `model` that would be sent: declared fields and pydantic extras alike.

    Read off the instance (`__dict__`, where pydantic keeps field values) rather than the class's field
    list: it is what serialisation reads too, and it is faster on the hot path.
    """
    for name, value in chain(model.__dict__.items(), (model.model_extra or {}).items()):
        if not _absent(value):
            yield name, value


def _only(model: BaseModel, allowed: frozenset[str], where: str) -> None:
    """Refuse any present field of `model` outside `allowed`; `where` prefixes the field in the reason."""
    for name, _ in _present(model):
        if name not in allowed:
            raise NotAllowed(f"parameter {where}{name} is not allowed")


def _check_link_preview(value: Any) -> None:
    """A preview card shows a page the catalog never approved, so the only allowed option is "no preview"."""
    if not isinstance(value, LinkPreviewOptions):
        raise NotAllowed("parameter link_preview_options is not allowed")
    _only(value, frozenset({"is_disabled"}), "link_preview_options.")
    if value.is_disabled is not True:
        raise NotAllowed("link_preview_options may only disable the preview")


def _check_reply_parameters(value: Any, chat_id: Any) -> None:
    """A reply shows the replied-to message (and a quote of it) in this chat, so it must be in this chat."""
    if not isinstance(value, ReplyParameters):
        raise NotAllowed("parameter reply_parameters is not allowed")
    _only(value, _REPLY_FIELDS, "reply_parameters.")
    if value.chat_id is not None and value.chat_id != chat_id:
        raise NotAllowed("reply_parameters points at another chat")


def _check_parameters(method: TelegramMethod[Any]) -> None:
    """Refuse any parameter outside the method's allow-list, then the restricted values of allowed ones."""
    _only(method, PARAMETERS[method.__api_method__], "")
    preview = getattr(method, "link_preview_options", None)
    if not _absent(preview):
        _check_link_preview(preview)
    reply = getattr(method, "reply_parameters", None)
    if not _absent(reply):
        _check_reply_parameters(reply, getattr(method, "chat_id", None))


def _displayed(value: Any, where: str) -> str:
    """A displayed value must be a plain string the ledger can recognise (a model or list would not be)."""
    if not isinstance(value, str):
        raise NotAllowed(f"{where} is not a string")
    return value


def _markup_texts(value: Any) -> Iterator[str]:
    """The displayed strings of reply markup, refusing unknown markup types and fields on the way."""
    if isinstance(value, list):
        for item in value:
            yield from _markup_texts(item)
        return
    kind = type(value).__name__
    allowed = MARKUP_FIELDS.get(type(value))
    if allowed is None:
        raise NotAllowed(f"markup type {kind} is not allowed")
    for name, item in _present(value):
        if name not in allowed:
            raise NotAllowed(f"markup field {kind}.{name} is not allowed")
        if name in _MARKUP_DISPLAYED:
            yield _displayed(item, f"markup field {kind}.{name}")
        elif isinstance(item, list | BaseModel):
            yield from _markup_texts(item)  # rows of buttons, or a Mini App's WebAppInfo (its url is shown)


def _command_texts(commands: Any) -> Iterator[str]:
    """Command descriptions are displayed in every user's menu; command names are bare identifiers."""
    if not isinstance(commands, list):
        raise NotAllowed("parameter commands is not a list")
    for command in commands:
        if type(command) is not BotCommand:
            raise NotAllowed("parameter commands holds something other than a BotCommand")
        _only(command, _COMMAND_FIELDS, "commands.")
        yield _displayed(command.description, "parameter commands.description")


def _check_scope(scope: Any) -> None:
    """A command scope only says who sees the commands; it must not carry anything else."""
    if _absent(scope):
        return
    if not isinstance(scope, BotCommandScope):
        raise NotAllowed("parameter scope is not allowed")
    _only(scope, _SCOPE_FIELDS, "scope.")


def _uses_formatting(bot: Bot, method: TelegramMethod[Any]) -> bool:
    """Whether the call asks Telegram to interpret markup or entities (which could hide links)."""
    for name in _FORMATTING:
        value = getattr(method, name, None)
        if isinstance(value, Default):
            value = bot.default[value.name]
        if value:
            return True
    return False


def _collect_texts(method: TelegramMethod[Any]) -> list[str]:
    """Every displayed string of the call: its text field, markup labels/URLs, command descriptions."""
    texts = [
        _displayed(value, f"parameter {field}")
        for field in _TOP_LEVEL_TEXT
        if not _absent(value := getattr(method, field, None))
    ]
    document = getattr(method, "document", None)
    if not _absent(document):
        # Every file the bot sends is someone's own data (their export): it must not be forwardable.
        if getattr(method, "protect_content", None) is not True:
            raise NotAllowed("a document must be sent with protect_content")
        # Only a file the bot built and issued for this chat: not a file id or URL of unknown content.
        if type(document) is not BufferedInputFile:
            raise NotAllowed("parameter document must be a file the bot built for this chat")
        texts.append(attachment_token(document.filename or "", document.data))
    markup = getattr(method, "reply_markup", None)
    if not _absent(markup):
        texts.extend(_markup_texts(markup))
    if method.__api_method__ == "setMyCommands":
        texts.extend(_command_texts(getattr(method, "commands", None)))
        _check_scope(getattr(method, "scope", None))
    return texts


def inspect_call(bot: Bot, method: TelegramMethod[Any]) -> Outgoing:
    """Check the parameters of an INSPECTED method and collect its displayed strings.

    Raises `NotAllowed` for any parameter, markup type or field outside the allow-lists. Nothing here
    touches the ledger: redeeming is the caller's last step, after every check has passed.
    """
    name = method.__api_method__
    _check_parameters(method)
    texts = _collect_texts(method)
    chat_id = None if name in _GLOBAL else getattr(method, "chat_id", None)
    return Outgoing(name, chat_id, tuple(texts), _uses_formatting(bot, method))
