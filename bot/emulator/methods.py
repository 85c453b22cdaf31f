"""Bot API methods that act on chats and messages, one function per method.

Each function validates everything first and only then changes state, so a refused call
leaves no trace in the chat, as on Telegram. Errors are raised as `ApiError`.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from bot.emulator import serialize
from bot.emulator.errors import NOT_MODIFIED, QUERY_TOO_OLD, bad_request
from bot.emulator.markup import caption, message_text, reply_markup
from bot.emulator.models import ChatMessage, StoredDocument, UploadedFile
from bot.emulator.params import (
    Params,
    chat_id,
    opt_bool,
    opt_int,
    opt_list,
    opt_object,
    opt_str,
    req_int,
)
from bot.emulator.state import ChatState, EmulatorState

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_MESSAGE_ID_MISSING = "message identifier is not specified"


def send_message(state: EmulatorState, params: Params) -> dict[str, Any]:
    chat = state.sendable_chat(chat_id(params))
    rendered, source = message_text(params)
    markup = reply_markup(params)
    reply_to = _reply_to(chat, params)
    message = _bot_message(
        state,
        chat,
        params,
        text=rendered.text,
        entities=rendered.entities,
        source_text=source,
        reply_markup=markup,
        reply_to_message_id=reply_to,
        link_preview_options=opt_object(params, "link_preview_options", "link preview options"),
    )
    return serialize.message(state, message)


def send_document(state: EmulatorState, params: Params) -> dict[str, Any]:
    chat = state.sendable_chat(chat_id(params))
    document = _document(state, params.get("document"))
    rendered = caption(params)
    markup = reply_markup(params)
    reply_to = _reply_to(chat, params)
    message = _bot_message(
        state,
        chat,
        params,
        document=document,
        caption=rendered[0].text if rendered else None,
        entities=rendered[0].entities if rendered else [],
        source_text=rendered[1] if rendered else None,
        reply_markup=markup,
        reply_to_message_id=reply_to,
    )
    return serialize.message(state, message)


def _document(state: EmulatorState, value: Any) -> StoredDocument:
    """An uploaded file becomes a stored document; a string must name one already stored."""
    if isinstance(value, UploadedFile):
        if not value.data:
            raise bad_request("file must be non-empty")
        guessed = mimetypes.guess_type(value.filename)[0]
        mime = guessed or value.content_type or "application/octet-stream"
        return state.store_file(value.filename, mime, value.data)
    if value is None or value == "":
        raise bad_request("there is no document in the request")
    if isinstance(value, str) and value in state.files:
        return state.files[value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")
    raise bad_request("wrong file identifier/HTTP URL specified")


def send_chat_action(state: EmulatorState, params: Params) -> bool:
    chat = state.sendable_chat(chat_id(params))
    action = opt_str(params, "action")
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.chat_actions.append(action)
    state.touch()
    return True


def edit_message_text(state: EmulatorState, params: Params) -> dict[str, Any]:
    message = _editable(state, params)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    rendered, source = message_text(params)
    markup = reply_markup(params, inline_only=True)
    _ensure_modified(message, rendered.text, rendered.entities, markup)
    message.text, message.entities, message.source_text = rendered.text, rendered.entities, source
    message.parse_mode = opt_str(params, "parse_mode")
    preview = opt_object(params, "link_preview_options", "link preview options")
    if preview is not None:
        message.link_preview_options = preview
    return _apply_edit(state, message, markup)


def edit_message_caption(state: EmulatorState, params: Params) -> dict[str, Any]:
    message = _editable(state, params)
    if message.text is not None:
        raise bad_request("there is no caption in the message to edit")
    rendered = caption(params)
    markup = reply_markup(params, inline_only=True)
    text = rendered[0].text if rendered else None
    entities = rendered[0].entities if rendered else []
    _ensure_modified(message, text, entities, markup, use_caption=True)
    message.caption, message.entities = text, entities
    message.source_text = rendered[1] if rendered else None
    message.parse_mode = opt_str(params, "parse_mode")
    return _apply_edit(state, message, markup)


def edit_message_reply_markup(state: EmulatorState, params: Params) -> dict[str, Any]:
    message = _editable(state, params)
    markup = reply_markup(params, inline_only=True)
    if markup == _inline_markup(message):
        raise bad_request(NOT_MODIFIED)
    return _apply_edit(state, message, markup)


def _editable(state: EmulatorState, params: Params) -> ChatMessage:
    if params.get("inline_message_id") and params.get("chat_id") is None:
        raise bad_request("MESSAGE_ID_INVALID")
    chat = state.sendable_chat(chat_id(params))
    message = chat.visible(req_int(params, "message_id", _MESSAGE_ID_MISSING))
    if message is None:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _inline_markup(message: ChatMessage) -> dict[str, Any] | None:
    markup = message.reply_markup
    return markup if markup is not None and "inline_keyboard" in markup else None


def _ensure_modified(
    message: ChatMessage,
    text: str | None,
    entities: list[dict[str, Any]],
    markup: dict[str, Any] | None,
    *,
    use_caption: bool = False,
) -> None:
    current = message.caption if use_caption else message.text
    if current == text and message.entities == entities and _inline_markup(message) == markup:
        raise bad_request(NOT_MODIFIED)


def _apply_edit(state: EmulatorState, message: ChatMessage, markup: dict[str, Any] | None) -> dict[str, Any]:
    """Telegram drops an inline keyboard the edit does not repeat; reply keyboards stay."""
    if markup is not None or _inline_markup(message) is not None:
        message.reply_markup = markup
    message.edited = True
    message.edit_date = state.now()
    state.touch()
    return serialize.message(state, message)


def delete_message(state: EmulatorState, params: Params) -> bool:
    chat = state.known_chat(chat_id(params))
    message = chat.visible(req_int(params, "message_id", _MESSAGE_ID_MISSING))
    if message is None:
        raise bad_request("message to delete not found")
    message.deleted = True
    state.touch()
    return True


def delete_messages(state: EmulatorState, params: Params) -> bool:
    """Telegram skips ids it cannot find, so this succeeds for any 1..100 ids."""
    chat = state.known_chat(chat_id(params))
    ids = opt_list(params, "message_ids", "message identifiers")
    if not ids or len(ids) > 100:
        raise bad_request("message identifiers are not specified")
    for message_id in ids:
        message = chat.visible(message_id) if isinstance(message_id, int) else None
        if message is not None:
            message.deleted = True
    state.touch()
    return True


def answer_callback_query(state: EmulatorState, params: Params) -> bool:
    query = state.callback_queries.get(opt_str(params, "callback_query_id") or "")
    if query is None or query.answered:
        raise bad_request(QUERY_TOO_OLD)
    query.answered = True
    state.chat(query.user_id).callback_answers.append(
        {
            "callback_query_id": query.id,
            "text": opt_str(params, "text"),
            "show_alert": opt_bool(params, "show_alert"),
            "url": opt_str(params, "url"),
            "cache_time": opt_int(params, "cache_time"),
        }
    )
    state.touch()
    return True


def copy_message(state: EmulatorState, params: Params) -> dict[str, Any]:
    target = state.sendable_chat(chat_id(params))
    source = _source_message(state, params, "message to copy not found")
    new_caption = caption(params) if "caption" in params else None
    markup = reply_markup(params)
    reply_to = _reply_to(target, params)
    fields: dict[str, Any] = {
        "text": source.text,
        "entities": list(source.entities),
        "caption": source.caption,
        "source_text": source.source_text,
        "document": source.document,
    }
    if "caption" in params and source.text is None:
        fields["caption"] = new_caption[0].text if new_caption else None
        fields["entities"] = new_caption[0].entities if new_caption else []
        fields["source_text"] = new_caption[1] if new_caption else None
    message = _bot_message(state, target, params, reply_markup=markup, reply_to_message_id=reply_to, **fields)
    return {"message_id": message.message_id}


def forward_message(state: EmulatorState, params: Params) -> dict[str, Any]:
    target = state.sendable_chat(chat_id(params))
    source = _source_message(state, params, "message to forward not found")
    if source.protect_content:
        raise bad_request("message can't be forwarded")
    origin = source.forward_origin or {
        "type": "user",
        "sender_user": (
            serialize.bot_user(state.bot)
            if source.from_bot
            else serialize.user(state.chat(source.chat_id).profile)
        ),
        "date": source.date,
    }
    message = _bot_message(
        state,
        target,
        params,
        text=source.text,
        entities=list(source.entities),
        caption=source.caption,
        source_text=source.source_text,
        document=source.document,
        forward_origin=origin,
    )
    return serialize.message(state, message)


def _source_message(state: EmulatorState, params: Params, missing: str) -> ChatMessage:
    source_chat = state.known_chat(chat_id(params, "from_chat_id"))
    source = source_chat.visible(req_int(params, "message_id", _MESSAGE_ID_MISSING))
    if source is None:
        raise bad_request(missing)
    return source


def _reply_to(chat: ChatState, params: Params) -> int | None:
    """The replied-to message id from reply_parameters or the legacy reply_to_message_id."""
    reply = opt_object(params, "reply_parameters", "reply parameters")
    if reply is not None:
        message_id = reply.get("message_id")
        allow_missing = bool(reply.get("allow_sending_without_reply", False))
        if not isinstance(message_id, int):
            raise bad_request("message to be replied not found")
    else:
        message_id = opt_int(params, "reply_to_message_id")
        allow_missing = opt_bool(params, "allow_sending_without_reply")
    if message_id is None:
        return None
    if chat.visible(message_id) is None:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return message_id


def _bot_message(state: EmulatorState, chat: ChatState, params: Params, **fields: Any) -> ChatMessage:
    """Append a bot message carrying the delivery options every send method shares."""
    message = ChatMessage(
        chat_id=chat.profile.id,
        message_id=chat.allocate_message_id(),
        from_bot=True,
        date=state.now(),
        parse_mode=opt_str(params, "parse_mode"),
        protect_content=opt_bool(params, "protect_content"),
        disable_notification=opt_bool(params, "disable_notification"),
        params=dict(params),
        **fields,
    )
    chat.messages.append(message)
    state.touch()
    return message
