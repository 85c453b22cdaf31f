"""Agent commands: the queue (`/queue`, `/take N`, `/release`, `/close`), typing to the customer of the
current ticket (free text, through every outbound check), and `/secure FORM USER_ID` (a one-time secure
link). The whole router needs `agent`."""

from __future__ import annotations

import contextlib

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.clock import Clock
from bot.content import Recipient, Renderer
from bot.errors import GateRefused
from bot.services import ConsentBook, CustomerDirectory, RoleBook
from bot.services.reviews import ReplyReviews
from bot.services.tickets import Take, TicketDesk
from bot.storage import TicketRow
from bot.telegram.filters import HasRole
from bot.telegram.keyboards import rating_buttons
from bot.telegram.notify import alert_words, customer_recipient, notify
from bot.telegram.secure import SecureLinkMessages
from flows.offers import parse_proposal_ref
from flows.roles import Role

MAX_LISTED = 30


async def send_secure_link(
    message: Message,
    command: CommandObject,
    bot: Bot,
    secure_messages: SecureLinkMessages,
    consent_book: ConsentBook,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    forms = sorted(renderer.catalog.forms)
    parts = (command.args or "").split()
    if (
        len(parts) != 2
        or parts[0] not in renderer.catalog.forms
        or not (parts[1].isascii() and parts[1].isdigit())
    ):
        await message.answer(renderer.text("secure.usage", recipient, forms=forms))
        return
    form_id, user_id = parts[0], int(parts[1])
    if not await consent_book.may_chat(user_id) or customers.unreachable(user_id):
        await message.answer(renderer.text("secure.not_customer", recipient, user_id=user_id))
        return
    to = await customer_recipient(customers, renderer, user_id)
    await secure_messages.send(bot, to, user_id, form_id, issued_by=message.from_user.id)
    await message.answer(renderer.text("secure.sent", recipient, user_id=user_id, form=form_id))


async def show_queue(
    message: Message, clock: Clock, ticket_desk: TicketDesk, renderer: Renderer, recipient: Recipient
) -> None:
    queue = await ticket_desk.queue()
    if not queue:
        await message.answer(renderer.text("handoff.queue_empty", recipient))
        return
    now = clock.now()
    # A ticket number and its wait, not who it is: an agent learns that by taking it (least privilege).
    rows = [
        renderer.fragment("handoff.queue_row", recipient, id=t.id, minutes=int((now - t.opened_at) // 60))
        for t in queue[:MAX_LISTED]
    ]
    await message.answer(renderer.text("handoff.queue", recipient, tickets=rows))


async def take(
    message: Message,
    command: CommandObject,
    bot: Bot,
    ticket_desk: TicketDesk,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    ticket_id, rest = parse_proposal_ref(command.args)
    if ticket_id is None or rest:
        await message.answer(renderer.text("handoff.take_usage", recipient))
        return
    outcome, ticket = await ticket_desk.take(ticket_id, message.from_user.id)
    if outcome is Take.GONE or ticket is None:
        await message.answer(renderer.text("handoff.gone", recipient, id=ticket_id))
        return
    if outcome is Take.TAKEN:
        await message.answer(renderer.text("handoff.already_taken", recipient, id=ticket_id))
        return
    name = ticket_desk.name_of(ticket.customer)
    await message.answer(renderer.text("handoff.taken", recipient, id=ticket.id, first_name=name))
    if ticket_desk.first_take(message.from_user.id):
        await message.answer(renderer.text("handoff.recorded", recipient))
    to = await customer_recipient(customers, renderer, ticket.customer)
    with contextlib.suppress(TelegramAPIError, GateRefused):
        await bot.send_message(ticket.customer, renderer.text("handoff.joined", to))


async def release(
    message: Message, ticket_desk: TicketDesk, renderer: Renderer, recipient: Recipient
) -> None:
    assert message.from_user is not None
    ticket = await ticket_desk.release(message.from_user.id)
    if ticket is None:
        await message.answer(renderer.text("handoff.no_ticket", recipient))
        return
    await message.answer(renderer.text("handoff.released", recipient, id=ticket.id))


async def close(
    message: Message,
    bot: Bot,
    ticket_desk: TicketDesk,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    ticket = await ticket_desk.close(message.from_user.id)
    if ticket is None:
        await message.answer(renderer.text("handoff.no_ticket", recipient))
        return
    to = await customer_recipient(customers, renderer, ticket.customer)
    with contextlib.suppress(TelegramAPIError, GateRefused):  # the ticket is closed either way
        await bot.send_message(
            ticket.customer,
            renderer.text("handoff.closed", to),
            reply_markup=rating_buttons(renderer, to, ticket.id),
        )
    await message.answer(renderer.text("handoff.closed_agent", recipient, id=ticket.id))


async def _held_ticket(
    agent: int,
    ticket_desk: TicketDesk,
    customers: CustomerDirectory,
    renderer: Renderer,
    reply_to: int | None = None,
) -> tuple[TicketRow, Recipient] | None:
    """The ticket an agent's message is for — the one of the relayed message it replies to, else their
    current one — if they still hold it, and its customer as a recipient."""
    ticket_id = ticket_desk.ticket_for(agent, reply_to)
    ticket = await ticket_desk.ticket(ticket_id) if ticket_id is not None else None
    if ticket is None or ticket.status != "assigned" or ticket.agent != agent:
        return None
    return ticket, await customer_recipient(customers, renderer, ticket.customer)


async def reply_approved(
    message: Message,
    command: CommandObject,
    bot: Bot,
    ticket_desk: TicketDesk,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """`/reply KEY`: an approved answer, rendered for the customer (their language), to their ticket."""
    assert message.from_user is not None
    key = (command.args or "").strip()
    if key not in renderer.catalog.answers:
        keys = sorted(renderer.catalog.answers)
        await message.answer(renderer.text("handoff.reply_usage", recipient, keys=keys))
        return
    found = await _held_ticket(message.from_user.id, ticket_desk, customers, renderer)
    if found is None:
        await message.answer(renderer.text("handoff.no_ticket", recipient))
        return
    ticket, to = found
    await bot.send_message(ticket.customer, renderer.answer(key, to))
    await ticket_desk.activity(ticket)


async def transfer(
    message: Message,
    command: CommandObject,
    bot: Bot,
    ticket_desk: TicketDesk,
    role_book: RoleBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    parts = (command.args or "").split()
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 16 for p in parts):
        await message.answer(renderer.text("handoff.transfer_usage", recipient))
        return
    ticket_id, to_agent = int(parts[0]), int(parts[1])
    if Role.AGENT not in role_book.roles_of(to_agent):
        await message.answer(renderer.text("handoff.not_an_agent", recipient, agent=to_agent))
        return
    ticket = await ticket_desk.transfer(ticket_id, message.from_user.id, to_agent)
    if ticket is None:
        await message.answer(renderer.text("handoff.gone", recipient, id=ticket_id))
        return
    await message.answer(renderer.text("handoff.transferred", recipient, id=ticket_id, agent=to_agent))
    name = ticket_desk.name_of(ticket.customer)
    await notify(bot, renderer, to_agent, "handoff.transfer_in", id=ticket_id, first_name=name)


async def write_to_customer(
    message: Message,
    bot: Bot,
    ticket_desk: TicketDesk,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
    reply_reviews: ReplyReviews,
    role_book: RoleBook,
    free_text_mode: str = "allow",
) -> None:
    """Free text from an agent goes to the customer of their current ticket, and only there; the gate checks
    it (unapproved offers, other customers' data, sensitive data) and the agent is told why if it refuses."""
    assert message.from_user is not None
    agent = message.from_user.id
    reply_to = message.reply_to_message.message_id if message.reply_to_message else None
    found = await _held_ticket(agent, ticket_desk, customers, renderer, reply_to)
    if found is None:
        await message.answer(renderer.text("handoff.no_ticket", recipient))
        return
    if free_text_mode == "deny":
        await message.answer(renderer.text("handoff.free_text_denied", recipient))
        return
    ticket, to = found
    if free_text_mode == "review":
        review = await reply_reviews.propose(ticket, agent, message.text or "")
        await message.answer(renderer.text("review.waiting", recipient, id=review))
        for officer in role_book.holders(Role.COMPLIANCE):
            if officer != agent:
                await notify(bot, renderer, officer, "review.pending_notice", id=review)
        return
    try:
        await bot.send_message(ticket.customer, renderer.free_text(message.text or "", to, agent))
    except GateRefused as refused:
        check, kind = alert_words(refused.reason)
        await message.answer(renderer.text("handoff.refused", recipient, check=check, kind=kind))
        return
    await ticket_desk.activity(ticket)


def create_router() -> Router:
    router = Router(name="agent")
    router.message.filter(HasRole(Role.AGENT))
    router.message.register(send_secure_link, Command("secure"))
    router.message.register(show_queue, Command("queue"))
    router.message.register(take, Command("take"))
    router.message.register(release, Command("release"))
    router.message.register(close, Command("close"))
    router.message.register(reply_approved, Command("reply"))
    router.message.register(transfer, Command("transfer"))
    router.message.register(write_to_customer, F.text & ~F.text.startswith("/"))
    return router
