"""Who is talking: records the customer, injects their roles and their `recipient` for rendering.

Guardbot serves private chats only; updates without a human sender or from groups are dropped here, so no
handler ever has to wonder whom it is answering.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User

from bot.clock import Clock
from bot.content import Renderer, RenderLedger
from bot.services import RoleBook
from bot.storage import Repository

log = logging.getLogger("guardbot.updates")


class Identify(BaseMiddleware):
    def __init__(
        self,
        repository: Repository,
        role_book: RoleBook,
        renderer: Renderer,
        ledger: RenderLedger,
        clock: Clock,
    ) -> None:
        self._repository = repository
        self._role_book = role_book
        self._renderer = renderer
        self._ledger = ledger
        self._clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or user.is_bot or (chat is not None and chat.type != "private"):
            log.info(
                "update.ignored",
                extra={"update_id": event.update_id, "reason": "not a private chat with a person"},
            )
            return None
        await self._repository.touch_user(user.id, user.language_code, self._clock.now())
        if event.callback_query is not None:
            self._ledger.note_callback(event.callback_query.id, user.id)
        data["roles"] = self._role_book.roles_of(user.id)
        data["recipient"] = self._renderer.recipient(chat.id if chat else user.id, user.language_code)
        return await handler(event, data)
