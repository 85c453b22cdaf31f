"""Handoff tickets: a customer asks for a person, an agent takes the ticket exclusively, they talk through the
bot, the ticket closes and the bot's own automation resumes.

Who holds which customer is also kept in memory, because every update of every customer asks "is a person
handling you?" (the bot must then stay silent). The database decides races: taking is one conditional
UPDATE, so of two agents taking the same ticket at once exactly one wins.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from enum import StrEnum

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.storage import Repository, TicketRow

log = logging.getLogger("guardbot.tickets")

MAX_RELAYS_REMEMBERED = 500
"""Per agent: how many relayed messages can still be answered by replying to them."""


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
        self._relays: dict[int, OrderedDict[int, int]] = {}
        self._escalated: set[int] = set()
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

    def relayed(self, agent: int, message_id: int, ticket_id: int) -> None:
        """Remember which ticket a relayed message in the agent's chat belongs to, so that a reply to it
        goes to that ticket's customer (an agent may hold several tickets)."""
        relays = self._relays.setdefault(agent, OrderedDict())
        relays[message_id] = ticket_id
        if len(relays) > MAX_RELAYS_REMEMBERED:
            relays.popitem(last=False)

    def ticket_for(self, agent: int, reply_to: int | None) -> int | None:
        """Where an agent's text goes: the ticket of the relayed message it replies to, else the current."""
        relays = self._relays.get(agent)
        if reply_to is not None and relays is not None and reply_to in relays:
            return relays[reply_to]
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

    async def transfer(self, ticket_id: int, from_agent: int, to_agent: int) -> TicketRow | None:
        if not await self._repository.transfer_ticket(ticket_id, from_agent, to_agent, self._clock.now()):
            return None
        ticket = await self._repository.ticket(ticket_id)
        assert ticket is not None
        self._forget(ticket, from_agent, keep_name=True)
        self._held[ticket.customer] = ticket
        self._current[to_agent] = ticket.id
        await self._audit.record(
            "ticket.transferred",
            actor=from_agent,
            about=ticket.customer,
            data={"ticket": ticket.id, "to": await self._audit.subject_id(to_agent)},
            critical=True,
        )
        return ticket

    async def rate(self, ticket_id: int, customer: int, score: int) -> bool:
        """A closed ticket's satisfaction rating, by its own customer only."""
        ticket = await self._repository.ticket(ticket_id)
        if ticket is None or ticket.customer != customer or ticket.status != "closed" or not 1 <= score <= 3:
            return False
        await self._audit.record(
            "ticket.rated", actor=customer, about=customer, data={"ticket": ticket_id, "score": score}
        )
        return True

    async def customer_left(self, customer: int) -> TicketRow | None:
        """The customer erased their data mid-ticket: the ticket closes (its agent must be told)."""
        live = [
            t for t in await self._repository.tickets() if t.customer == customer and t.status != "closed"
        ]
        for ticket in live:
            await self._repository.close_ticket(ticket.id, None, self._clock.now())
            if ticket.agent is not None:
                self._forget(ticket, ticket.agent)
            self._held.pop(customer, None)
            await self._audit.record(
                "ticket.closed", data={"ticket": ticket.id, "why": "customer_left"}, critical=True
            )
        return live[0] if live else None

    async def agent_left(self, agent: int) -> list[int]:
        """An agent lost the role: everything they held goes back to the queue."""
        released = await self._repository.release_tickets_of(agent, self._clock.now())
        for ticket_id in released:
            self._held = {c: t for c, t in self._held.items() if t.id != ticket_id}
            await self._audit.record("ticket.released", data={"ticket": ticket_id, "why": "role_revoked"})
        self._current.pop(agent, None)
        return released

    async def overdue(
        self, *, escalate_after: float, idle_after: float
    ) -> tuple[list[TicketRow], list[TicketRow]]:
        """(Open tickets waiting longer than `escalate_after` seconds, assigned tickets idle longer than
        `idle_after`): the idle ones are closed here; both are for the caller to announce."""
        now = self._clock.now()
        waiting = [
            t
            for t in await self.queue()
            if now - t.opened_at >= escalate_after and t.id not in self._escalated
        ]
        self._escalated.update(t.id for t in waiting)  # announced once (per process)
        idle = []
        for ticket in await self._repository.tickets(status="assigned"):
            if now - ticket.last_activity >= idle_after and await self._repository.close_ticket(
                ticket.id, None, now
            ):
                if ticket.agent is not None:
                    self._forget(ticket, ticket.agent)
                await self._audit.record(
                    "ticket.closed",
                    about=ticket.customer,
                    data={"ticket": ticket.id, "why": "idle"},
                    critical=True,
                )
                idle.append(ticket)
        return waiting, idle

    async def activity(self, ticket: TicketRow) -> None:
        await self._repository.touch_ticket(ticket.id, self._clock.now())

    async def _current_ticket(self, agent: int) -> TicketRow | None:
        ticket_id = self._current.get(agent)
        return await self._repository.ticket(ticket_id) if ticket_id is not None else None

    def _forget(self, ticket: TicketRow, agent: int, *, keep_name: bool = False) -> None:
        self._held.pop(ticket.customer, None)
        if not keep_name:
            self._names.pop(ticket.customer, None)
        if self._current.get(agent) == ticket.id:
            del self._current[agent]
            others = [t for t in self._held.values() if t.agent == agent]
            if others:
                self._current[agent] = others[-1].id
