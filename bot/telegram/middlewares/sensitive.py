"""Sensitive data typed into the chat anyway: deleted from the chat at once, never stored in clear.

By the time this runs the update is already in the audit log, with the words masked (the trail's redact hook
is this same guard), so nothing here touches storage except the record of the removal. The customer is told
why, in an approved text, and — when a form collects that kind of data and they have accepted the privacy
notice — gets a one-time secure link to it. The message is not answered otherwise (its words are gone).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message, TelegramObject, Update

from bot.audit.trail import AuditTrail
from bot.content import Recipient, Renderer
from bot.errors import GateRefused
from bot.services.consent import ConsentBook
from bot.services.sensitive import SensitiveGuard
from bot.telegram.secure import FORM_FOR_KIND, SecureLinkMessages

log = logging.getLogger("guardbot.sensitive")


class RemoveSensitive(BaseMiddleware):
    def __init__(
        self,
        guard: SensitiveGuard,
        audit: AuditTrail,
        renderer: Renderer,
        consent_book: ConsentBook,
        secure_messages: SecureLinkMessages,
    ) -> None:
        self._guard = guard
        self._audit = audit
        self._renderer = renderer
        self._consent_book = consent_book
        self._secure = secure_messages

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        message = event.message or event.edited_message
        text = (message.text or message.caption or "") if message is not None else ""
        spans = self._guard.must_not_stay(text) if text else []
        if message is None or not spans:
            return await handler(event, data)
        kinds = sorted({span.kind.value for span in spans})
        bot: Bot = data["bot"]
        recipient: Recipient = data["recipient"]
        await self._remove(message, kinds, bot, recipient)
        form = next((FORM_FOR_KIND[kind] for kind in kinds if kind in FORM_FOR_KIND), None)
        consent = data.get("consent")
        customer = (
            not data.get("roles")
            and consent is not None
            and consent.accepted(self._consent_book.notice.version)
        )
        if form is not None and customer and form in self._renderer.catalog.forms and message.from_user:
            await self._secure.send(bot, recipient, message.from_user.id, form, issued_by=None)
        return None

    async def _remove(self, message: Message, kinds: list[str], bot: Bot, recipient: Recipient) -> None:
        deleted = True
        try:
            await bot.delete_message(message.chat.id, message.message_id)
        except (TelegramAPIError, GateRefused) as exc:  # older than 48 h, or already gone
            deleted = False
            log.warning("sensitive.not_deleted", extra={"error": type(exc).__name__})
        person = message.from_user.id if message.from_user else None
        await self._audit.record(
            "sensitive.removed",
            actor=person if person is not None else "system",
            about=person,
            data={"kinds": kinds, "message_id": message.message_id, "deleted": deleted},
        )
        log.info("sensitive.removed", extra={"kinds": kinds, "deleted": deleted})
        await bot.send_message(
            message.chat.id, self._renderer.text("sensitive.removed", recipient, kinds=kinds)
        )
