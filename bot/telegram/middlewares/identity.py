"""Who is talking: records the customer, injects their roles, their consent state and their `recipient`.

Guardbot serves private chats only; updates without a human sender or from groups are dropped here, so no
handler ever has to wonder whom it is answering. Until a customer accepts the privacy notice only the
minimum is stored about them: their id and first/last contact, not their language.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User

from bot.content import Renderer, RenderLedger
from bot.services import ConsentBook, CustomerDirectory, RoleBook

log = logging.getLogger("guardbot.updates")


class Identify(BaseMiddleware):
    def __init__(
        self,
        customers: CustomerDirectory,
        role_book: RoleBook,
        renderer: Renderer,
        ledger: RenderLedger,
        consent_book: ConsentBook,
    ) -> None:
        self._consent_book = consent_book
        self._customers = customers
        self._role_book = role_book
        self._renderer = renderer
        self._ledger = ledger

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
        roles = self._role_book.roles_of(user.id)
        consent = await self._consent_book.state(user.id)
        if consent.accepted(self._consent_book.notice.version) and not roles:
            # A consenting customer: their names are kept, and guarded (never shown to another customer).
            await self._customers.seen(user.id, user.language_code, (user.first_name, user.last_name))
        else:
            await self._customers.seen(user.id, user.language_code if roles else None)
        if event.callback_query is not None:
            self._ledger.note_callback(event.callback_query.id, user.id)
        data["roles"] = roles
        data["consent"] = consent
        data["recipient"] = self._renderer.recipient(chat.id if chat else user.id, user.language_code)
        return await handler(event, data)
