"""What nobody else handled: buttons the bot no longer knows (old menus, forged or garbled data)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.content import Recipient, Renderer

log = logging.getLogger("guardbot.updates")


async def unknown_button(query: CallbackQuery, renderer: Renderer, recipient: Recipient) -> None:
    log.info("callback.unknown", extra={"size": len(query.data or "")})
    await query.answer(renderer.text("callback.expired", recipient))


def create_router() -> Router:
    router = Router(name="fallback")
    router.callback_query.register(unknown_button)
    return router
