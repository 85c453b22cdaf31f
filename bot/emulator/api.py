"""The transport-independent request pipeline: token check, method lookup, injected faults,
execution and recording. HTTP requests and webhook replies both come through here, so every
call the bot makes is answered and recorded the same way."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from bot.emulator import bot_methods, methods, polling
from bot.emulator.errors import ApiError, method_not_found, too_many_requests, unauthorized
from bot.emulator.models import RecordedCall
from bot.emulator.params import Params, fault_chat_id, normalize
from bot.emulator.state import EmulatorState

Handler = Callable[[EmulatorState, Params], Any | Awaitable[Any]]

_HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "getMe": bot_methods.get_me,
        "logOut": bot_methods.log_out,
        "close": bot_methods.close,
        "setWebhook": bot_methods.set_webhook,
        "deleteWebhook": bot_methods.delete_webhook,
        "getWebhookInfo": bot_methods.get_webhook_info,
        "setMyCommands": bot_methods.set_my_commands,
        "getMyCommands": bot_methods.get_my_commands,
        "deleteMyCommands": bot_methods.delete_my_commands,
        "getUpdates": polling.get_updates,
        "sendMessage": methods.send_message,
        "sendDocument": methods.send_document,
        "sendChatAction": methods.send_chat_action,
        "editMessageText": methods.edit_message_text,
        "editMessageCaption": methods.edit_message_caption,
        "editMessageReplyMarkup": methods.edit_message_reply_markup,
        "deleteMessage": methods.delete_message,
        "deleteMessages": methods.delete_messages,
        "answerCallbackQuery": methods.answer_callback_query,
        "copyMessage": methods.copy_message,
        "forwardMessage": methods.forward_message,
    }
)
_CANONICAL: Mapping[str, str] = MappingProxyType({name.lower(): name for name in _HANDLERS})


def canonical_method(name: str) -> str | None:
    """Telegram's spelling of a method name (names are case-insensitive), or None if unknown."""
    return _CANONICAL.get(name.lower())


def supported_methods() -> list[str]:
    return sorted(_HANDLERS)


class ApiCore:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def call(
        self,
        token: str | None,
        method: str,
        params: Params,
        *,
        body_error: ApiError | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one call and record it. `token` None means an internal call (webhook reply),
        which is already authenticated; `body_error` is a failure to read the request body,
        reported only after the token and method checks, as Telegram orders them."""
        at = self.state.clock()
        params = normalize(params)
        name = canonical_method(method) or method
        try:
            if token is not None:
                if not self.state.accepts_token(token):
                    raise unauthorized()
                self.state.note_token(token)
            if canonical_method(method) is None:
                raise method_not_found()
            if body_error is not None:
                raise body_error
            await self._apply_fault(name, params)
            result = _HANDLERS[name](self.state, params)
            if inspect.isawaitable(result):
                result = await result
            status, body = 200, _success(result)
        except ApiError as error:
            status, body = error.status, error.payload()
        self.state.record(RecordedCall(name, params, status, body, at))
        return status, body

    async def _apply_fault(self, method: str, params: Params) -> None:
        fault = self.state.faults.take(method, fault_chat_id(params))
        if fault is None:
            return
        if fault.delay > 0:
            state = self.state
            await state.changed.wait_until(lambda: state.closing, fault.delay)
        if fault.status is None:
            return
        if fault.status == 429:
            raise too_many_requests(fault.effective_retry_after(), fault.description)
        raise ApiError(fault.status, fault.error_description())


def _success(result: Any) -> dict[str, Any]:
    if isinstance(result, bot_methods.Described):
        return {"ok": True, "result": result.result, "description": result.description}
    return {"ok": True, "result": result}
