"""The outbound gate (invariant 1): every Bot API call passes here before it reaches Telegram.

It is an aiogram session request middleware, so it sees `message.answer(...)` and `bot.send_message(...)`
alike and handlers stay idiomatic. A call that would show a person anything not rendered from the approved
catalog for that very chat is refused with `GateRefused`, logged, and kept in `refusals` for inspection.

The gate is default-deny for methods, parameters and markup fields (see `bot.gate.inspection`). Every
check that can refuse a call runs before the ledger is touched, so a refused call consumes no rendering.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.content.ledger import Audience, RenderLedger
from bot.errors import GateRefused
from bot.gate.inspection import INSPECTED, NO_CONTENT, NotAllowed, inspect_call

log = logging.getLogger("guardbot.gate")


class OutboundGate(BaseRequestMiddleware):
    def __init__(self, ledger: RenderLedger, keep_refusals: int = 100) -> None:
        self._ledger = ledger
        self.refusals: deque[GateRefused] = deque(maxlen=keep_refusals)

    def _refuse(self, method: str, chat_id: Audience, reason: str) -> GateRefused:
        refusal = GateRefused(method, chat_id, reason)
        self.refusals.append(refusal)
        log.warning("gate.refused", extra={"method": method, "chat_id": chat_id, "reason": reason})
        return refusal

    def check(self, bot: Bot, method: TelegramMethod[Any]) -> None:
        """Raise `GateRefused` unless `method` may go out; consumes the renderings it uses.

        Order matters: method, then parameters and markup, then audience and formatting, and only then
        the ledger, so that a call refused for any reason leaves its renderings unredeemed.
        """
        name = method.__api_method__
        if name in NO_CONTENT:
            return
        if name not in INSPECTED:
            raise self._refuse(name, getattr(method, "chat_id", None), "method carries unchecked content")
        try:
            outgoing = inspect_call(bot, method)
        except NotAllowed as exc:
            raise self._refuse(name, getattr(method, "chat_id", None), exc.reason) from None
        audience: Audience = outgoing.chat_id
        if name == "answerCallbackQuery":
            if not outgoing.texts:
                return
            audience = self._ledger.callback_owner(str(getattr(method, "callback_query_id", "")))
            if audience is None:
                raise self._refuse(name, None, "callback query of unknown origin")
        elif audience is None and name.startswith(("send", "edit")):
            raise self._refuse(name, None, "no chat to bind the content to")
        if outgoing.formatting:
            raise self._refuse(name, audience, "formatting or entities not from the catalog")
        if self._ledger.redeem(audience, outgoing.texts) is None:
            raise self._refuse(name, audience, "text not rendered from the catalog for this chat")

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        self.check(bot, method)
        return await make_request(bot, method)
