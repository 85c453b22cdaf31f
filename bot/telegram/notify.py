"""Telling a staff member something that is not a reply to them (a proposal waiting, a decision made).

A notification that cannot be delivered (the person never started the bot, blocked it, or the gate refused)
must not undo or fail what caused it: it is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.clock import Clock
from bot.content import Recipient, Renderer
from bot.errors import GateRefused
from bot.services import CustomerDirectory, RoleBook
from flows.roles import Role

log = logging.getLogger("guardbot.notify")


async def customer_recipient(customers: CustomerDirectory, renderer: Renderer, user_id: int) -> Recipient:
    """A customer addressed outside their own update (from a staff member's, or from a web form): in the
    customer's own language."""
    profile = await customers.profile(user_id)
    return renderer.recipient(user_id, profile.language_code if profile else None)


async def notify(bot: Bot, renderer: Renderer, user_id: int, key: str, **fields: object) -> bool:
    """Send system text `key` to `user_id` in their default rendering; False if it could not be sent."""
    try:
        await bot.send_message(user_id, renderer.text(key, renderer.recipient(user_id, None), **fields))
    except (TelegramAPIError, GateRefused) as exc:
        log.warning("notify.not_sent", extra={"key": key, "error": type(exc).__name__})
        return False
    return True


_ALERT_CODES = {
    "sensitive data": "sensitive_data",
    "unapproved discount or price": "unapproved_discount",
    "unapproved promo code": "unapproved_promo_code",
    "personal data of another customer": "foreign_personal_data",
}


def alert_words(reason: str) -> tuple[str, str]:
    """A content-check reason as two code words for an approved text: ("sensitive_data", "card_number")."""
    head, _, detail = reason.partition(":")
    kind = "_".join(detail.strip().lower().split())[:32] or "none"
    return _ALERT_CODES.get(head, "other"), kind if kind.replace("_", "").isalnum() else "other"


class ComplianceAlerts:
    """Tells every compliance officer when the gate's content checks stop a message (the attempt itself
    is in the audit log). Called synchronously by the gate; sends in the background, at most one alert per
    kind of refusal per `quiet` seconds so that a loop cannot flood anyone."""

    def __init__(self, role_book: RoleBook, clock: Clock, quiet: float = 60.0) -> None:
        self._role_book = role_book
        self._clock = clock
        self._quiet = quiet
        self._last: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._send: tuple[Bot, Renderer] | None = None

    def bind(self, bot: Bot, renderer: Renderer) -> None:
        self._send = (bot, renderer)

    def __call__(self, reason: str) -> None:
        now = self._clock.now()
        if self._send is None or now - self._last.get(reason, float("-inf")) < self._quiet:
            return
        self._last[reason] = now
        task = asyncio.get_running_loop().create_task(self._alert(reason, *self._send))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Let alerts under way finish (at shutdown, before the Bot API session closes)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _alert(self, reason: str, bot: Bot, renderer: Renderer) -> None:
        check, kind = alert_words(reason)
        for officer in self._role_book.holders(Role.COMPLIANCE):
            await notify(bot, renderer, officer, "gate.refused_alert", check=check, kind=kind)
