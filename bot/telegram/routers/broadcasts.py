"""Broadcasts (issue #8), the staff side: `/broadcast_new`, a guided proposal of a marketing broadcast
(content, language, tags, send time, coupons), previewed with its dry run, that becomes pending until a
compliance officer other than its author approves it (`/approve B12` in the compliance router); then
`/broadcast_status ID` and `/broadcast_cancel ID`. Nothing here sends a broadcast: the engine
(`bot.telegram.broadcasting`) picks up approved ones.

The proposal flow needs `marketing`; following and cancelling a broadcast need `marketing` or
`compliance` (stopping needs no second pair of eyes). `/cancel` leaves the flow at any step."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter, or_f
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.content import Recipient, Rendered, Renderer
from bot.services import RoleBook
from bot.services.broadcasts import BroadcastDesk, Content, plan_of
from bot.services.offers import Decision, OfferBook
from bot.telegram.broadcast_texts import dry_run_fragment, plan_fragment, progress_text
from bot.telegram.callbacks import BroadcastCoupons, BroadcastLanguage, BroadcastPick, BroadcastSubmit
from bot.telegram.filters import HasRole
from bot.telegram.keyboards import (
    broadcast_content_choices,
    broadcast_coupon_choices,
    broadcast_language_choices,
    broadcast_submit_choices,
)
from bot.telegram.notify import notify
from flows.broadcasts import ContentKind, Plan, parse_send_time, parse_tags
from flows.offers import Offer, parse_proposal_ref
from flows.roles import Role

_TYPED = F.text & ~F.text.startswith("/")
"""An answer typed in the flow; a command is never taken as an answer."""

EVERYONE_WORDS = frozenset({"all", "-", "*", "everyone", "alle", "все", "всем"})
"""What a marketer types at the tag step for "no tag filter" (the catalog text names `all`)."""
MAX_TAGS = 20


class BroadcastDraft(StatesGroup):
    content = State()
    language = State()
    tags = State()
    send_time = State()
    coupons = State()
    confirm = State()


def parse_broadcast_ref(args: str | None) -> tuple[int | None, str]:
    """A command's `B12 [REST…]` or `12 [REST…]` → (12, rest); id None when it is neither."""
    text = (args or "").strip()
    if text[:1] in ("B", "b"):
        text = text[1:]
    return parse_proposal_ref(text)


def _plan(data: dict[str, Any]) -> Plan:
    """The plan the flow has gathered so far (kept in FSM data as plain values).

    The send time is whole seconds held as an `int`: the plan's canonical form goes into the audit log,
    whose canonical encoding admits integers but no floats (and a typed time has no fraction anyway)."""
    return Plan(
        kind=ContentKind(data["kind"]),
        key=data["key"],
        content_digest=data["digest"],
        locales=frozenset(data.get("locales", ())),
        tags=frozenset(data.get("tags", ())),
        send_at=int(data.get("send_at", 0)),
        coupons=bool(data.get("coupons", False)),
    )


# --- /broadcast_new -----------------------------------------------------------------------------------------


async def start(
    message: Message,
    state: FSMContext,
    broadcast_desk: BroadcastDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    await state.clear()
    templates, offers = broadcast_desk.templates(), broadcast_desk.offers()
    if not templates and not offers:
        await message.answer(renderer.text("broadcast_new.nothing", recipient))
        return
    await state.set_state(BroadcastDraft.content)
    await message.answer(
        renderer.text("broadcast_new.ask_content", recipient),
        reply_markup=broadcast_content_choices(renderer, recipient, templates, offers),
    )


async def cancel(message: Message, state: FSMContext, renderer: Renderer, recipient: Recipient) -> None:
    await state.clear()
    await message.answer(renderer.text("broadcast_new.cancelled", recipient))


async def _content_gone(bot: Bot, chat_id: int, state: FSMContext, renderer: Renderer, to: Recipient) -> None:
    """The picked content stopped being approved or valid (an offer withdrawn or expired meanwhile)."""
    await state.clear()
    await bot.send_message(chat_id, renderer.text("broadcast_new.gone", to))


async def got_content(
    query: CallbackQuery,
    callback_data: BroadcastPick,
    state: FSMContext,
    bot: Bot,
    broadcast_desk: BroadcastDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    await query.answer()
    plan = broadcast_desk.plan_for(callback_data.kind, callback_data.content_key)
    if plan is None:
        await _content_gone(bot, query.from_user.id, state, renderer, recipient)
        return
    await state.update_data(kind=plan.kind.value, key=plan.key, digest=plan.content_digest)
    await state.set_state(BroadcastDraft.language)
    await bot.send_message(
        query.from_user.id,
        renderer.text("broadcast_new.ask_language", recipient),
        reply_markup=broadcast_language_choices(renderer, recipient),
    )


async def got_language(
    query: CallbackQuery,
    callback_data: BroadcastLanguage,
    state: FSMContext,
    bot: Bot,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    chosen = callback_data.locale
    if chosen and chosen not in renderer.catalog.locales:  # forged, or a locale since removed
        await query.answer(renderer.text("callback.expired", recipient))
        return
    await query.answer()
    await state.update_data(locales=[chosen] if chosen else [])
    await state.set_state(BroadcastDraft.tags)
    await bot.send_message(query.from_user.id, renderer.text("broadcast_new.ask_tags", recipient))


async def got_tags(message: Message, state: FSMContext, renderer: Renderer, recipient: Recipient) -> None:
    text = (message.text or "").strip()
    everyone = text.lower() in EVERYONE_WORDS
    tags = frozenset[str]() if everyone else parse_tags(text)
    # Only commas is not "everyone": that needs saying.
    if tags is None or not (tags or everyone) or len(tags) > MAX_TAGS:
        await message.answer(renderer.text("broadcast_new.bad_tags", recipient, max=MAX_TAGS))
        return
    await state.update_data(tags=sorted(tags))
    await state.set_state(BroadcastDraft.send_time)
    await message.answer(renderer.text("broadcast_new.ask_time", recipient))


async def got_send_time(
    message: Message,
    state: FSMContext,
    bot: Bot,
    clock: Clock,
    broadcast_desk: BroadcastDesk,
    offer_book: OfferBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    limits = broadcast_desk.limits
    send_at = parse_send_time(message.text or "", clock.now(), limits.default_zone)
    if send_at is None:
        await message.answer(renderer.text("broadcast_new.bad_time", recipient))
        return
    await state.update_data(send_at=int(send_at))
    data = await state.get_data()
    if data["kind"] == ContentKind.OFFER.value:
        await state.set_state(BroadcastDraft.coupons)
        await message.answer(
            renderer.text("broadcast_new.ask_coupons", recipient),
            reply_markup=broadcast_coupon_choices(renderer, recipient),
        )
        return
    await _preview(bot, recipient, state, broadcast_desk, offer_book, renderer)


async def got_coupons(
    query: CallbackQuery,
    callback_data: BroadcastCoupons,
    state: FSMContext,
    bot: Bot,
    broadcast_desk: BroadcastDesk,
    offer_book: OfferBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    await query.answer()
    await state.update_data(coupons=callback_data.coupons)
    await _preview(bot, recipient, state, broadcast_desk, offer_book, renderer)


def _content_preview(
    plan: Plan, content: Content, to: Recipient, offer_book: OfferBook, renderer: Renderer
) -> Rendered:
    """The content as a customer would read it, rendered for the marketer themselves and not as marketing
    (they may have no marketing consent): an offer with the marketer's own verification code, and with the
    coupon minted for them when each recipient gets one."""
    assert isinstance(to.chat_id, int)
    if isinstance(content, Offer):
        code = offer_book.coupon_for(content, to.chat_id) if plan.coupons else None
        return renderer.offer_card(content, to, offer_book.code_for(content, to.chat_id), code=code)
    return renderer.template_preview(plan.key, to)


async def _preview(
    bot: Bot,
    recipient: Recipient,
    state: FSMContext,
    broadcast_desk: BroadcastDesk,
    offer_book: OfferBook,
    renderer: Renderer,
) -> None:
    """Show the content (in the broadcast's language when it has one), then the plan and its dry run with
    Submit / Cancel."""
    assert isinstance(recipient.chat_id, int)
    chat_id = recipient.chat_id
    plan = _plan(await state.get_data())
    content = broadcast_desk.content(plan)
    if content is None:
        await _content_gone(bot, chat_id, state, renderer, recipient)
        return
    shown_in = Recipient(chat_id, next(iter(plan.locales))) if len(plan.locales) == 1 else recipient
    await bot.send_message(chat_id, _content_preview(plan, content, shown_in, offer_book, renderer))
    dry = await broadcast_desk.dry_run(plan)
    await state.set_state(BroadcastDraft.confirm)
    await bot.send_message(
        chat_id,
        renderer.text(
            "broadcast_new.preview",
            recipient,
            plan=[plan_fragment(renderer, recipient, plan)],
            dry_run=[dry_run_fragment(renderer, recipient, dry)],
        ),
        reply_markup=broadcast_submit_choices(renderer, recipient),
    )


async def decide_draft(
    query: CallbackQuery,
    callback_data: BroadcastSubmit,
    state: FSMContext,
    bot: Bot,
    broadcast_desk: BroadcastDesk,
    role_book: RoleBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    await query.answer()
    data = await state.get_data()
    await state.clear()
    author = query.from_user.id
    if not callback_data.submit:
        await bot.send_message(author, renderer.text("broadcast_new.cancelled", recipient))
        return
    plan = _plan(data)
    if broadcast_desk.content(plan) is None:
        await _content_gone(bot, author, state, renderer, recipient)
        return
    broadcast_id = await broadcast_desk.propose(author, plan)
    await bot.send_message(author, renderer.text("broadcast_new.submitted", recipient, id=broadcast_id))
    for officer in role_book.holders(Role.COMPLIANCE):
        if officer != author:
            await notify(bot, renderer, officer, "broadcast.pending_notice", id=broadcast_id)


async def stale_button(query: CallbackQuery, renderer: Renderer, recipient: Recipient) -> None:
    """A flow button pressed outside its step (an old preview, a second press)."""
    await query.answer(renderer.text("callback.expired", recipient))


# --- /broadcast_status and /broadcast_cancel -------------------------------------------------------------


async def show_status(
    message: Message,
    command: CommandObject,
    broadcast_desk: BroadcastDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """Where a broadcast stands: its plan until it starts, then its live counts and the time left."""
    broadcast_id, rest = parse_broadcast_ref(command.args)
    if broadcast_id is None or rest:
        await message.answer(renderer.text("broadcast_status.usage", recipient))
        return
    row = await broadcast_desk.get(broadcast_id)
    if row is None:
        await message.answer(renderer.text("broadcast.not_found", recipient, id=broadcast_id))
        return
    if row.started_at is None:
        await message.answer(
            renderer.text(
                "broadcast.status",
                recipient,
                id=row.id,
                status=row.status,
                plan=[plan_fragment(renderer, recipient, plan_of(row))],
            )
        )
        return
    progress = await broadcast_desk.progress(row.id)
    await message.answer(
        progress_text(renderer, recipient, row.id, row.status, progress, broadcast_desk.limits.rate)
    )


async def cancel_broadcast(
    message: Message,
    command: CommandObject,
    broadcast_desk: BroadcastDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    broadcast_id, rest = parse_broadcast_ref(command.args)
    if broadcast_id is None or rest:
        await message.answer(renderer.text("broadcast_cancel.usage", recipient))
        return
    outcome = await broadcast_desk.cancel(broadcast_id, message.from_user.id)
    key = {
        Decision.DONE: "broadcast_cancel.done",
        Decision.NOT_FOUND: "broadcast.not_found",
    }.get(outcome, "broadcast_cancel.not_live")
    await message.answer(renderer.text(key, recipient, id=broadcast_id))


def create_router() -> Router:
    """The proposal flow (marketing) and the desk commands (marketing or compliance), each guarded as a
    whole."""
    flow = Router(name="broadcast-flow")
    flow.message.filter(HasRole(Role.MARKETING))
    flow.callback_query.filter(HasRole(Role.MARKETING))
    flow.message.register(start, Command("broadcast_new"))
    flow.message.register(cancel, Command("cancel"), StateFilter(BroadcastDraft))
    flow.message.register(got_tags, BroadcastDraft.tags, _TYPED)
    flow.message.register(got_send_time, BroadcastDraft.send_time, _TYPED)
    flow.callback_query.register(got_content, BroadcastDraft.content, BroadcastPick.filter())
    flow.callback_query.register(got_language, BroadcastDraft.language, BroadcastLanguage.filter())
    flow.callback_query.register(got_coupons, BroadcastDraft.coupons, BroadcastCoupons.filter())
    flow.callback_query.register(decide_draft, BroadcastDraft.confirm, BroadcastSubmit.filter())
    for stale in (BroadcastPick, BroadcastLanguage, BroadcastCoupons, BroadcastSubmit):
        flow.callback_query.register(stale_button, stale.filter())
    desk = Router(name="broadcast-desk")
    desk.message.filter(or_f(HasRole(Role.MARKETING), HasRole(Role.COMPLIANCE)))
    desk.message.register(show_status, Command("broadcast_status"))
    desk.message.register(cancel_broadcast, Command("broadcast_cancel"))
    router = Router(name="broadcasts")
    router.include_routers(flow, desk)
    return router
