"""Secure links in the chat: the message that carries one, and what happens once its form is submitted.

The link goes out as a button: a Telegram Mini App when the forms are served over https (Telegram then
signs the opener's identity, which the form checks), a plain URL button otherwise. The message is sent with
`protect_content` (it cannot be forwarded) and deleted once the form is submitted.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.content import Recipient, Renderer
from bot.errors import GateRefused
from bot.services.customers import CustomerDirectory
from bot.services.secure_links import SecureLinks
from bot.storage import SecureLinkRow
from bot.telegram.notify import customer_recipient

log = logging.getLogger("guardbot.secure_links")

FORM_FOR_KIND = {
    "card": "payment_card",
    "cvv": "payment_card",
    "expiry": "payment_card",
    "iban": "bank_account",
    "national_id": "identity",
    "passport": "identity",
    "birth_date": "identity",
    "address": "identity",
}
"""Which form collects a kind of data a customer typed into the chat."""


class SecureLinkMessages:
    def __init__(self, links: SecureLinks, renderer: Renderer, *, mini_app: bool) -> None:
        self._links = links
        self.links = links
        self._renderer = renderer
        self._mini_app = mini_app
        self._bot: Bot | None = None
        self._customers: CustomerDirectory | None = None

    def bind(self, bot: Bot, customers: CustomerDirectory | None = None) -> None:
        self._bot = bot
        self._customers = customers

    async def _recipient(self, user_id: int) -> Recipient:
        """The customer in their own language (the form is submitted outside any chat update)."""
        if self._customers is None:
            return self._renderer.recipient(user_id, None)
        return await customer_recipient(self._customers, self._renderer, user_id)

    async def send(self, bot: Bot, to: Recipient, user_id: int, form_id: str, issued_by: int | None) -> None:
        issued = await self._links.issue(user_id, form_id, issued_by=issued_by)
        renderer = self._renderer
        url = renderer.secure_link(issued.url, to, form_id)
        label = renderer.text("button.open_form", to)
        button = (
            InlineKeyboardButton(text=label, web_app=WebAppInfo(url=url))
            if self._mini_app
            else InlineKeyboardButton(text=label, url=url)
        )
        minutes = max(1, round(self._links.ttl / 60))
        text = renderer.text("secure.link", to, purpose=[renderer.form_purpose(form_id, to)], minutes=minutes)
        sent = await bot.send_message(
            user_id, text, reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]), protect_content=True
        )
        await self._links.attach_message(issued.token, sent.message_id)

    async def on_submitted(self, link: SecureLinkRow) -> None:
        """Called by the form once a submission is stored: the link message goes, a confirmation comes."""
        bot = self._bot
        if bot is None:
            return
        if link.message_id is not None:
            with contextlib.suppress(TelegramAPIError, GateRefused):
                await bot.delete_message(link.user_id, link.message_id)
        to = await self._recipient(link.user_id)
        purpose = [self._renderer.form_purpose(link.form, to)]
        try:
            await bot.send_message(link.user_id, self._renderer.text("secure.received", to, purpose=purpose))
        except (TelegramAPIError, GateRefused) as exc:
            log.warning("secure_link.confirmation_not_sent", extra={"error": type(exc).__name__})
