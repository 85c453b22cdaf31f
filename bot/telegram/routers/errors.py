"""The last resort for a failed update: log it safely, tell the person politely, never crash the bot."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import ErrorEvent

from bot.content import Recipient, Renderer
from bot.errors import GateRefused

log = logging.getLogger("guardbot.errors")


async def handle_error(
    event: ErrorEvent,
    bot: Bot,
    renderer: Renderer,
    recipient: Recipient | None = None,
) -> bool:
    exc = event.exception
    update_id = event.update.update_id
    if isinstance(exc, TelegramForbiddenError):
        # The person blocked the bot: nothing to say to them. The gate has marked them unreachable.
        log.info(
            "telegram.blocked",
            extra={"update_id": update_id},
        )
        return True
    if not isinstance(exc, GateRefused):  # the gate has logged its refusals already
        log.error("update.failed", exc_info=exc, extra={"update_id": update_id})
    if recipient is None or not isinstance(recipient.chat_id, int):
        return True
    try:
        await bot.send_message(recipient.chat_id, renderer.text("error.generic", recipient))
    except (TelegramAPIError, GateRefused) as notify_error:
        log.warning(
            "update.failed_notice_not_sent",
            extra={"update_id": update_id, "error": type(notify_error).__name__},
        )
    return True


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(handle_error)
    return router
