"""The handoff's clock: unassigned tickets waiting too long are announced again to every agent (and to
compliance); assigned tickets idle too long are closed, with a note to both sides. Runs every minute in the
bot process (like retention); `run_once` is what tests call with a moved clock."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot

from bot.clock import Clock
from bot.content import Renderer
from bot.services import RoleBook
from bot.services.tickets import TicketDesk
from bot.telegram.notify import notify
from flows.roles import Role

log = logging.getLogger("guardbot.tickets")

EVERY_SECONDS = 60.0


class HandoffWatch:
    def __init__(
        self,
        tickets: TicketDesk,
        role_book: RoleBook,
        renderer: Renderer,
        clock: Clock,
        *,
        escalate_minutes: int,
        idle_minutes: int,
    ) -> None:
        self._tickets = tickets
        self._role_book = role_book
        self._renderer = renderer
        self._clock = clock
        self._escalate = escalate_minutes * 60.0
        self._idle = idle_minutes * 60.0

    async def run_once(self, bot: Bot) -> None:
        waiting, idle = await self._tickets.overdue(escalate_after=self._escalate, idle_after=self._idle)
        now = self._clock.now()
        people = set(self._role_book.holders(Role.AGENT)) | set(self._role_book.holders(Role.COMPLIANCE))
        for ticket in waiting:
            minutes = int((now - ticket.opened_at) // 60)
            for person in sorted(people):
                await notify(bot, self._renderer, person, "handoff.escalated", id=ticket.id, minutes=minutes)
        for ticket in idle:
            await notify(bot, self._renderer, ticket.customer, "handoff.closed")
            if ticket.agent is not None:
                await notify(bot, self._renderer, ticket.agent, "handoff.idle_closed_agent", id=ticket.id)

    async def run(self, bot: Bot, stop: asyncio.Event, every: float = EVERY_SECONDS) -> None:
        while not stop.is_set():
            try:
                await self.run_once(bot)
            except Exception as exc:  # noqa: BLE001 - a failed round must not stop the bot
                log.error("handoff_watch.failed", extra={"error": type(exc).__name__})
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except TimeoutError:
                continue
