"""The customer's side of a handoff: `/agent` opens a ticket; while a person holds it, everything the
customer writes goes to that person (masked first) and the bot's own automation stays silent."""

from __future__ import annotations

import contextlib

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.audit.trail import AuditTrail
from bot.content import Recipient, Renderer
from bot.errors import GateRefused
from bot.services import RoleBook
from bot.services.sensitive import SensitiveGuard
from bot.services.tickets import TicketDesk
from bot.telegram.callbacks import Rating, TalkToPerson
from flows.roles import Role

RECENT_SHOWN = 3


async def ask_for_a_person(
    message: Message,
    bot: Bot,
    audit: AuditTrail,
    ticket_desk: TicketDesk,
    role_book: RoleBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    await open_ticket(message.from_user, bot, audit, ticket_desk, role_book, renderer, recipient)


async def ask_by_button(
    query: CallbackQuery,
    bot: Bot,
    audit: AuditTrail,
    ticket_desk: TicketDesk,
    role_book: RoleBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    await query.answer()
    await open_ticket(query.from_user, bot, audit, ticket_desk, role_book, renderer, recipient)


async def open_ticket(
    customer: User,
    bot: Bot,
    audit: AuditTrail,
    ticket_desk: TicketDesk,
    role_book: RoleBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """Open (or find) the customer's ticket, tell them their place, and tell the agents."""
    ticket, new, position = await ticket_desk.open(customer.id)
    ticket_desk.note_name(customer.id, customer.first_name)
    await bot.send_message(customer.id, renderer.text("handoff.opened", recipient, position=max(position, 1)))
    if new:
        language = recipient.locale.lower().replace("-", "_")
        # The last few things they wrote (stored masked already), for context; nothing else about them.
        written = [
            text
            for item in await audit.history(customer.id)
            if item.type == "in.update" and isinstance(text := item.content.get("text"), str)
        ]
        recent = [renderer.relayed_words(ticket.id, text) for text in written[:-1][-RECENT_SHOWN:]]
        for agent in role_book.holders(Role.AGENT):
            to = renderer.recipient(agent, None)
            notice = renderer.relay(
                "handoff.new",
                to,
                ticket.id,
                id=ticket.id,
                first_name=customer.first_name,
                language=language,
                recent=recent,
            )
            with contextlib.suppress(TelegramAPIError, GateRefused):
                await bot.send_message(agent, notice)


class HeldByAPerson(Filter):
    """A customer whose ticket a person holds right now."""

    async def __call__(
        self,
        event: TelegramObject,
        ticket_desk: TicketDesk,
        event_from_user: User | None = None,
        roles: frozenset[Role] = frozenset(),
    ) -> bool:
        return event_from_user is not None and not roles and ticket_desk.held(event_from_user.id) is not None


async def relay_to_agent(
    message: Message,
    bot: Bot,
    ticket_desk: TicketDesk,
    guard: SensitiveGuard,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    ticket = ticket_desk.held(message.from_user.id)
    words = message.text or message.caption
    if ticket is None or ticket.agent is None:
        return
    if not words:
        await message.answer(renderer.text("message.unsupported", recipient))
        return
    to = renderer.recipient(ticket.agent, None)
    relayed = renderer.relay(
        "handoff.relay",
        to,
        ticket.id,
        id=ticket.id,
        first_name=message.from_user.first_name,
        message=[renderer.relayed_words(ticket.id, guard.redact(words))],
        current=ticket_desk.current(ticket.agent) or ticket.id,
    )
    sent = await bot.send_message(ticket.agent, relayed)
    ticket_desk.relayed(ticket.agent, sent.message_id, ticket.id)
    await ticket_desk.activity(ticket)


async def rate(
    query: CallbackQuery,
    callback_data: Rating,
    ticket_desk: TicketDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    if await ticket_desk.rate(callback_data.ticket, query.from_user.id, callback_data.score):
        await query.answer(renderer.text("handoff.rate_thanks", recipient))
    else:
        await query.answer(renderer.text("callback.expired", recipient))


async def quiet_button(query: CallbackQuery) -> None:
    """An old menu button while a person handles the customer: the bot does not answer on its own."""
    await query.answer()


def create_rating_router() -> Router:
    """Ratings of closed tickets, and the menu's "talk to a person", from customers not under handoff."""
    router = Router(name="handoff-rating")
    router.callback_query.register(rate, Rating.filter())
    router.callback_query.register(ask_by_button, TalkToPerson.filter())
    return router


def create_router() -> Router:
    router = Router(name="handoff")
    router.message.filter(HeldByAPerson())
    router.callback_query.filter(HeldByAPerson())
    router.message.register(relay_to_agent, ~F.text.startswith("/"))
    router.callback_query.register(quiet_button)
    return router
