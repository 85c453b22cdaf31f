"""The customer conversation: greeting, the help menu, approved answers, free text matched to an answer,
the offers they may have, and checking that an offer message is genuine."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from bot.content import Recipient, Renderer
from bot.services import ConsentBook
from bot.services.offers import Check, OfferBook, Verdict
from bot.telegram.callbacks import FaqAnswer, ShowMenu
from bot.telegram.filters import IsCommand
from bot.telegram.keyboards import answer_keyboard, faq_menu
from bot.telegram.routers.handoff import ask_for_a_person
from flows.faq import FaqIndex


async def greet(message: Message, renderer: Renderer, recipient: Recipient) -> None:
    first_name = message.from_user.first_name if message.from_user else ""
    await message.answer(renderer.text("start.greeting", recipient, first_name=first_name))


async def show_help(message: Message, renderer: Renderer, recipient: Recipient) -> None:
    await message.answer(renderer.text("help.menu", recipient), reply_markup=faq_menu(renderer, recipient))


async def show_menu_again(query: CallbackQuery, bot: Bot, renderer: Renderer, recipient: Recipient) -> None:
    await query.answer()
    # A new message rather than an edit: the conversation keeps its history, and old menus stay valid.
    await bot.send_message(
        query.from_user.id,
        renderer.text("help.menu", recipient),
        reply_markup=faq_menu(renderer, recipient),
    )


async def show_answer(
    query: CallbackQuery,
    callback_data: FaqAnswer,
    bot: Bot,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    if callback_data.answer not in renderer.catalog.answers:
        # An answer withdrawn from the catalog since the menu was sent.
        await query.answer(renderer.text("callback.expired", recipient))
        return
    await query.answer()
    await bot.send_message(
        query.from_user.id,
        renderer.answer(callback_data.answer, recipient),
        reply_markup=answer_keyboard(renderer, recipient, callback_data.answer),
    )


async def answer_free_text(message: Message, renderer: Renderer, recipient: Recipient, faq: FaqIndex) -> None:
    answer_id = faq.match(message.text or "", recipient.locale)
    if answer_id is None:
        await message.answer(
            renderer.text("faq.fallback", recipient), reply_markup=faq_menu(renderer, recipient)
        )
        return
    await message.answer(
        renderer.answer(answer_id, recipient), reply_markup=answer_keyboard(renderer, recipient, answer_id)
    )


MAX_OFFERS_SHOWN = 5
_CHECK_CODE = re.compile(r"\bV-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}\b", re.IGNORECASE)


async def show_offers(
    message: Message,
    offer_book: OfferBook,
    consent_book: ConsentBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """The approved offers valid now that this customer may have, each with its own verification code."""
    assert message.from_user is not None
    user_id = message.from_user.id
    marketing = await consent_book.may_market(user_id)
    offers = offer_book.eligible_for(locale=recipient.locale, marketing=marketing)[:MAX_OFFERS_SHOWN]
    if not offers:
        await message.answer(renderer.text("offers.none", recipient))
        return
    for offer in offers:
        check = await offer_book.issue(offer, user_id)
        await message.answer(renderer.offer_card(offer, recipient, check))


async def _tell_verdict(message: Message, check: Check, renderer: Renderer, recipient: Recipient) -> None:
    if check.verdict is Verdict.GENUINE and check.offer is not None:
        await message.answer(renderer.text("verify.genuine", recipient, until=check.offer.terms.valid_until))
    else:
        await message.answer(renderer.text(f"verify.{check.verdict.value}", recipient))


async def verify_code(
    message: Message, command: CommandObject, offer_book: OfferBook, renderer: Renderer, recipient: Recipient
) -> None:
    assert message.from_user is not None
    if not command.args:
        await message.answer(renderer.text("verify.usage", recipient))
        return
    check = await offer_book.verify(command.args[:64], message.from_user.id)
    await _tell_verdict(message, check, renderer, recipient)


async def verify_forwarded(
    message: Message, offer_book: OfferBook, renderer: Renderer, recipient: Recipient
) -> None:
    """A forwarded message: if it claims to be our offer, its verification code says whether it is."""
    assert message.from_user is not None
    found = _CHECK_CODE.search(message.text or message.caption or "")
    if found is None:
        await message.answer(renderer.text("verify.no_code", recipient))
        return
    await _tell_verdict(
        message, await offer_book.verify(found.group(0), message.from_user.id), renderer, recipient
    )


async def refuse_non_text(message: Message, renderer: Renderer, recipient: Recipient) -> None:
    await message.answer(renderer.text("message.unsupported", recipient))


def create_router() -> Router:
    """The conversation, in the order it is tried: commands (their own router, which plain text skips at
    once), then buttons, forwarded messages, free text, anything else."""
    commands = Router(name="customer-commands")
    commands.message.filter(IsCommand())
    commands.message.register(greet, CommandStart())
    commands.message.register(show_help, Command("help"))
    commands.message.register(show_offers, Command("offers"))
    commands.message.register(verify_code, Command("verify"))
    commands.message.register(ask_for_a_person, Command("agent"))
    conversation = Router(name="customer-conversation")
    conversation.callback_query.register(show_menu_again, ShowMenu.filter())
    conversation.callback_query.register(show_answer, FaqAnswer.filter())
    conversation.message.register(verify_forwarded, F.forward_origin)
    conversation.message.register(answer_free_text, F.text)
    conversation.message.register(refuse_non_text)
    router = Router(name="customer")
    router.include_routers(commands, conversation)
    return router
