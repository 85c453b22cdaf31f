"""Validation of reply markup and message content the way Telegram refuses bad input: the
errors a bot only meets in production (64-byte callback_data, text limits) must show up in
tests too."""

from __future__ import annotations

from typing import Any

from bot.emulator.errors import bad_request
from bot.emulator.formatting import Rendered, render
from bot.emulator.params import Params, opt_object, opt_str

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = ("http://", "https://", "tg://")


def reply_markup(params: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
    """The validated reply_markup of a call, or None if it has none."""
    markup = opt_object(params, "reply_markup", "reply keyboard markup")
    if markup is None:
        return None
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif inline_only:
        raise bad_request("can't parse inline keyboard markup JSON object")
    elif "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _rows(rows: Any) -> list[list[Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return rows


def _check_inline_keyboard(rows: Any) -> None:
    for row in _rows(rows):
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request("can't parse inline keyboard button: Text must be a String")
            if not any(action in button for action in _INLINE_ACTIONS):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not data or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not url.startswith(_URL_SCHEMES):
                    raise bad_request("BUTTON_URL_INVALID")


def _check_reply_keyboard(rows: Any) -> None:
    for row in _rows(rows):
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str):
                raise bad_request("can't parse keyboard button: Text must be a String")


def message_text(params: Params) -> tuple[Rendered, str]:
    """Rendered text of sendMessage/editMessageText, plus the source as sent."""
    source = opt_str(params, "text") or ""
    rendered = render(source, opt_str(params, "parse_mode"), params.get("entities"))
    if not rendered.text:
        raise bad_request("message text is empty")
    if len(rendered.text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    return rendered, source


def caption(params: Params) -> tuple[Rendered, str] | None:
    """Rendered caption, or None if the call sets none (an empty caption counts as none)."""
    source = opt_str(params, "caption")
    if source is None:
        return None
    rendered = render(source, opt_str(params, "parse_mode"), params.get("caption_entities"))
    if len(rendered.text) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    if not rendered.text:
        return None
    return rendered, source
