"""Handoff tickets: a customer asks for a person, an agent takes the ticket exclusively, they talk through the
bot, the ticket closes and the bot's own automation resumes.

Who holds which customer is also kept in memory, because every update of every customer asks "is a person
handling you?" (the bot must then stay silent). The database decides races: taking is one conditional
UPDATE, so of two agents taking the same ticket at once exactly one wins.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.storage import Repository, TicketRow

log = logging.getLogger("guardbot.tickets")


class Take(StrEnum):
    DONE = "done"
    TAKEN = "taken"
    """Someone else holds it (or won the race)."""
    GONE = "gone"
    """No such ticket, or it is closed."""


class TicketDesk:
    def __init__(self, repository: Repository, audit: AuditTrail, clock: Clock) -> None:
        self._repository = repository
        self._audit = audit
        self._clock = clock
        self._held: dict[int, TicketRow] = {}
        """Customer → their assigned ticket."""
        self._current: dict[int, int] = {}
        """Agent → the ticket their free text goes to (the one they took last)."""
        self._reminded: set[int] = set()
        self._names: dict[int, str] = {}
        """Customer → the first name Telegram gave with their latest message (memory only, never stored)."""

    def first_take(self, agent: int) -> bool:
        """True once per agent per process: when to remind them that conversations are recorded."""
        if agent in self._reminded:
            return False
        self._reminded.add(agent)
        return True

    def note_name(self, customer: int, first_name: str) -> None:
        self._names[customer] = first_name

    def name_of(self, customer: int) -> str:
        return self._names.get(customer, "customer")

    async def load(self) -> None:
        self._held = {t.customer: t for t in await self._repository.tickets(status="assigned")}
        for ticket in sorted(self._held.values(), key=lambda t: t.assigned_at or 0):
            if ticket.agent is not None:
                self._current[ticket.agent] = ticket.id

    def held(self, customer: int) -> TicketRow | None:
        """The ticket a person is handling for this customer, if any: the bot stays silent meanwhile."""
        return self._held.get(customer)

    def current(self, agent: int) -> int | None:
        return self._current.get(agent)

    async def open(self, customer: int) -> tuple[TicketRow, bool, int]:
        """Open (or find) the customer's ticket; (ticket, newly opened, its place in the queue)."""
        ticket, new = await self._repository.open_ticket(customer, self._clock.now())
        if new:
            await self._audit.record(
                "ticket.opened", actor=customer, about=customer, data={"ticket": ticket.id}
            )
        queue = await self.queue()
        position = next((i + 1 for i, t in enumerate(queue) if t.id == ticket.id), 0)
        return ticket, new, position

    async def queue(self) -> list[TicketRow]:
        return await self._repository.tickets(status="open")

    async def ticket(self, ticket_id: int) -> TicketRow | None:
        return await self._repository.ticket(ticket_id)

    async def take(self, ticket_id: int, agent: int) -> tuple[Take, TicketRow | None]:
        if not await self._repository.take_ticket(ticket_id, agent, self._clock.now()):
            ticket = await self._repository.ticket(ticket_id)
            gone = ticket is None or ticket.status == "closed"
            return (Take.GONE if gone else Take.TAKEN), ticket
        ticket = await self._repository.ticket(ticket_id)
        assert ticket is not None
        self._held[ticket.customer] = ticket
        self._current[agent] = ticket.id
        await self._audit.record(
            "ticket.taken", actor=agent, about=ticket.customer, data={"ticket": ticket.id}, critical=True
        )
        return Take.DONE, ticket

    async def release(self, agent: int) -> TicketRow | None:
        """Back to the queue: the agent's current ticket."""
        ticket = await self._current_ticket(agent)
        if ticket is None or not await self._repository.release_ticket(ticket.id, agent, self._clock.now()):
            return None
        self._forget(ticket, agent)
        await self._audit.record(
            "ticket.released", actor=agent, about=ticket.customer, data={"ticket": ticket.id}
        )
        return ticket

    async def close(self, agent: int) -> TicketRow | None:
        ticket = await self._current_ticket(agent)
        if ticket is None or not await self._repository.close_ticket(ticket.id, agent, self._clock.now()):
            return None
        self._forget(ticket, agent)
        await self._audit.record(
            "ticket.closed", actor=agent, about=ticket.customer, data={"ticket": ticket.id}, critical=True
        )
        return ticket

    async def activity(self, ticket: TicketRow) -> None:
        await self._repository.touch_ticket(ticket.id, self._clock.now())

    async def _current_ticket(self, agent: int) -> TicketRow | None:
        ticket_id = self._current.get(agent)
        return await self._repository.ticket(ticket_id) if ticket_id is not None else None

    def _forget(self, ticket: TicketRow, agent: int) -> None:
        self._held.pop(ticket.customer, None)
        self._names.pop(ticket.customer, None)
        if self._current.get(agent) == ticket.id:
            del self._current[agent]
            others = [t for t in self._held.values() if t.agent == agent]
            if others:
                self._current[agent] = others[-1].id
