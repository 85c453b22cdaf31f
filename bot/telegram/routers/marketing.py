"""Marketing: `/offer_new`, a guided proposal of an offer (text, discount, code, validity, audience) that
becomes pending until a compliance officer other than its author approves it; `/offer_edit ID` walks
through the same steps for an existing proposal, which is then pending again (an approval binds to the
exact terms). The whole router needs `marketing`. `/cancel` leaves the flow at any step."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.content import Recipient, Renderer
from bot.errors import GateRefused
from bot.services import RoleBook
from bot.services.offers import Decision, OfferBook
from bot.telegram.callbacks import AudienceChoice, DraftChoice
from bot.telegram.filters import HasRole
from bot.telegram.keyboards import audience_choices, draft_choices
from bot.telegram.notify import alert_words, notify
from flows.offers import (
    MAX_DISCOUNT,
    Audience,
    OfferTerms,
    parse_code,
    parse_discount,
    parse_offer_text,
    parse_proposal_ref,
    parse_until,
)
from flows.roles import Role

_TYPED = F.text & ~F.text.startswith("/")
"""An answer typed in the flow; a command is never taken as an answer."""


class OfferDraft(StatesGroup):
    text = State()
    discount = State()
    code = State()
    until = State()
    audience = State()
    confirm = State()


async def start(message: Message, state: FSMContext, renderer: Renderer, recipient: Recipient) -> None:
    await state.clear()
    await state.set_state(OfferDraft.text)
    await message.answer(renderer.text("offer_new.ask_text", recipient))


async def start_edit(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    offer_book: OfferBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    proposal_id, rest = parse_proposal_ref(command.args)
    if proposal_id is None or rest:
        await message.answer(renderer.text("offer_edit.usage", recipient))
        return
    if await offer_book.proposal(proposal_id) is None:
        await message.answer(renderer.text("decide.not_found", recipient, id=proposal_id))
        return
    await state.clear()
    await state.update_data(editing=proposal_id)
    await state.set_state(OfferDraft.text)
    await message.answer(renderer.text("offer_new.ask_text", recipient))


async def cancel(message: Message, state: FSMContext, renderer: Renderer, recipient: Recipient) -> None:
    await state.clear()
    await message.answer(renderer.text("offer_new.cancelled", recipient))


async def got_text(message: Message, state: FSMContext, renderer: Renderer, recipient: Recipient) -> None:
    text = parse_offer_text(message.text or "")
    if text is None:
        await message.answer(renderer.text("offer_new.bad_text", recipient))
        return
    await state.update_data(text=text, locale=recipient.locale)
    await state.set_state(OfferDraft.discount)
    await message.answer(renderer.text("offer_new.ask_discount", recipient))


async def got_discount(message: Message, state: FSMContext, renderer: Renderer, recipient: Recipient) -> None:
    discount = parse_discount(message.text or "")
    if discount is None:
        await message.answer(renderer.text("offer_new.bad_discount", recipient, max=MAX_DISCOUNT))
        return
    await state.update_data(discount=discount)
    await state.set_state(OfferDraft.code)
    await message.answer(renderer.text("offer_new.ask_code", recipient))


async def got_code(message: Message, state: FSMContext, renderer: Renderer, recipient: Recipient) -> None:
    code = parse_code(message.text or "")
    if code is None:
        await message.answer(renderer.text("offer_new.bad_code", recipient))
        return
    await state.update_data(code=code)
    await state.set_state(OfferDraft.until)
    await message.answer(renderer.text("offer_new.ask_until", recipient))


async def got_until(
    message: Message, state: FSMContext, clock: Clock, renderer: Renderer, recipient: Recipient
) -> None:
    now = clock.now()
    until = parse_until(message.text or "", now)
    if until is None:
        await message.answer(renderer.text("offer_new.bad_until", recipient))
        return
    await state.update_data(valid_from=float(int(now)), valid_until=until)
    await state.set_state(OfferDraft.audience)
    await message.answer(
        renderer.text("offer_new.ask_audience", recipient), reply_markup=audience_choices(renderer, recipient)
    )


def _terms(data: dict[str, Any]) -> OfferTerms:
    return OfferTerms(
        texts={data["locale"]: data["text"]},
        discount=data["discount"],
        code=data["code"],
        valid_from=data["valid_from"],
        valid_until=data["valid_until"],
        audience=Audience(data["audience"]),
    )


async def got_audience(
    query: CallbackQuery,
    callback_data: AudienceChoice,
    state: FSMContext,
    bot: Bot,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    await query.answer()
    await state.update_data(audience=callback_data.audience.value)
    await state.set_state(OfferDraft.confirm)
    terms = _terms(await state.get_data())
    preview = renderer.review(
        "offer_new.preview",
        recipient,
        0,
        terms.digest,
        offer=[renderer.proposal_text(terms.texts[next(iter(terms.texts))])],
        discount=terms.discount,
        code=terms.code,
        until=terms.valid_until,
        audience=terms.audience.value,
    )
    try:
        await bot.send_message(query.from_user.id, preview, reply_markup=draft_choices(renderer, recipient))
    except GateRefused as refused:
        # The proposal itself holds what must never be sent (a card number, another customer's data):
        # say why, in an approved text, and start again from its words.
        check, kind = alert_words(refused.reason)
        await state.set_state(OfferDraft.text)
        await bot.send_message(
            query.from_user.id, renderer.text("offer_new.refused", recipient, check=check, kind=kind)
        )


async def decide_draft(
    query: CallbackQuery,
    callback_data: DraftChoice,
    state: FSMContext,
    bot: Bot,
    offer_book: OfferBook,
    role_book: RoleBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    await query.answer()
    data = await state.get_data()
    await state.clear()
    author = query.from_user.id
    if not callback_data.submit:
        await bot.send_message(author, renderer.text("offer_new.cancelled", recipient))
        return
    editing = data.get("editing")
    if isinstance(editing, int):
        if not await offer_book.revise(editing, author, _terms(data)):
            await bot.send_message(author, renderer.text("decide.not_found", recipient, id=editing))
            return
        proposal = editing
    else:
        proposal = await offer_book.propose(author, _terms(data))
    await bot.send_message(author, renderer.text("offer_new.submitted", recipient, id=proposal))
    for officer in role_book.holders(Role.COMPLIANCE):
        if officer != author:
            await notify(bot, renderer, officer, "proposal.pending_notice", id=proposal)


async def withdraw(
    message: Message, command: CommandObject, offer_book: OfferBook, renderer: Renderer, recipient: Recipient
) -> None:
    assert message.from_user is not None
    proposal_id, rest = parse_proposal_ref(command.args)
    if proposal_id is None or rest:
        await message.answer(renderer.text("offer_withdraw.usage", recipient))
        return
    outcome = await offer_book.withdraw(proposal_id, message.from_user.id)
    key = {
        Decision.DONE: "offer_withdraw.done",
        Decision.NOT_FOUND: "decide.not_found",
    }.get(outcome, "decide.not_pending")
    await message.answer(renderer.text(key, recipient, id=proposal_id))


async def stale_button(query: CallbackQuery, renderer: Renderer, recipient: Recipient) -> None:
    """A flow button pressed outside its step (an old preview, a second press)."""
    await query.answer(renderer.text("callback.expired", recipient))


def create_router() -> Router:
    router = Router(name="marketing")
    router.message.filter(HasRole(Role.MARKETING))
    router.callback_query.filter(HasRole(Role.MARKETING))
    router.message.register(start, Command("offer_new"))
    router.message.register(start_edit, Command("offer_edit"))
    router.message.register(withdraw, Command("offer_withdraw"))
    router.message.register(cancel, Command("cancel"), StateFilter(OfferDraft))
    router.message.register(got_text, OfferDraft.text, _TYPED)
    router.message.register(got_discount, OfferDraft.discount, _TYPED)
    router.message.register(got_code, OfferDraft.code, _TYPED)
    router.message.register(got_until, OfferDraft.until, _TYPED)
    router.callback_query.register(got_audience, OfferDraft.audience, AudienceChoice.filter())
    router.callback_query.register(decide_draft, OfferDraft.confirm, DraftChoice.filter())
    router.callback_query.register(stale_button, AudienceChoice.filter())
    router.callback_query.register(stale_button, DraftChoice.filter())
    return router
