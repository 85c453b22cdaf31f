"""Telegram says a person blocked the bot (or unblocked it): nothing is sent to them until they write.

The gate also marks a person unreachable when a send is answered with 403; this is the earlier signal.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ChatMemberUpdated

from bot.services import CustomerDirectory

log = logging.getLogger("guardbot.updates")


async def membership_changed(event: ChatMemberUpdated, customers: CustomerDirectory) -> None:
    status = event.new_chat_member.status
    if status in ("kicked", "left"):
        await customers.blocked(event.from_user.id)
        log.info("telegram.blocked", extra={"via": "my_chat_member"})
    # A return ("member") needs nothing: the update itself counted as contact (see Identify).


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.register(membership_changed)
    return router
