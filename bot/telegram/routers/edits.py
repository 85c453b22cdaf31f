"""Edited messages. Registering for them is what makes Telegram send them at all (`allowed_updates` is
derived from the handlers): a card number added to a message by editing it must be caught like any other
(the sensitive-data guard runs before this). An ordinary edit changes nothing: the answer was given."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import Message

log = logging.getLogger("guardbot.updates")


async def edited(message: Message) -> None:
    log.info("message.edited", extra={"message_id": message.message_id})


def create_router() -> Router:
    router = Router(name="edits")
    router.edited_message.register(edited)
    return router
