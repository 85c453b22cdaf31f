"""Request parameters: one typed view whatever the transport.

Telegram accepts JSON bodies, urlencoded and multipart forms and query strings, where numbers
and booleans arrive as strings and nested objects as JSON text. `normalize` turns all of that
into the shape a JSON body would have, so method code and recorded calls see real types.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.emulator.errors import bad_request, chat_not_found

Params = dict[str, Any]

_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "reply_parameters",
        "link_preview_options",
        "commands",
        "scope",
        "message_ids",
        "media",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "cache_time",
        "message_thread_id",
        "user_id",
        "video_start_timestamp",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "protect_content",
        "disable_notification",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "allow_paid_broadcast",
        "show_caption_above_media",
        "remove_caption",
    }
)
_INT_RE = re.compile(r"-?\d+")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


def normalize(params: Params) -> Params:
    """Decode JSON-in-string fields and coerce numeric/boolean strings, leaving bad values as
    they are so the method that needs them can answer Telegram's 400."""
    result: Params = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                value = _try_json(value)
            elif key in _INT_FIELDS and _INT_RE.fullmatch(value.strip()):
                value = int(value.strip())
            elif key in _BOOL_FIELDS and value.strip().lower() in _TRUE | _FALSE:
                value = value.strip().lower() in _TRUE
        result[key] = value
    return result


def _try_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def opt_int(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"invalid {name} specified")
    return value


def req_int(params: Params, name: str, missing: str) -> int:
    value = opt_int(params, name)
    if value is None:
        raise bad_request(missing)
    return value


def opt_bool(params: Params, name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    raise bad_request(f"invalid {name} specified")


def opt_str(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise bad_request(f"invalid {name} specified")
    return value


def opt_object(params: Params, name: str, what: str) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise bad_request(f"can't parse {what} JSON object")
    return value


def opt_list(params: Params, name: str, what: str) -> list[Any] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, list):
        raise bad_request(f"can't parse {what} JSON object")
    return value


def chat_id(params: Params, name: str = "chat_id") -> int:
    """The target chat; "@username" or garbage is a chat the emulator cannot know."""
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(f"{name} is empty")
    if isinstance(value, bool) or not isinstance(value, int):
        raise chat_not_found()
    return value


def fault_chat_id(params: Params) -> int | None:
    """The chat a call targets, for matching chat-scoped faults; None if it has none."""
    value = params.get("chat_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
