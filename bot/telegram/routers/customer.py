"""The customer conversation: greeting, the help menu, approved answers, free text matched to an answer."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message

from bot.content import Recipient, Renderer
from bot.telegram.callbacks import FaqAnswer, ShowMenu
from bot.telegram.keyboards import back_to_menu, faq_menu
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
        reply_markup=back_to_menu(renderer, recipient),
    )


async def answer_free_text(message: Message, renderer: Renderer, recipient: Recipient, faq: FaqIndex) -> None:
    answer_id = faq.match(message.text or "", recipient.locale)
    if answer_id is None:
        await message.answer(
            renderer.text("faq.fallback", recipient), reply_markup=faq_menu(renderer, recipient)
        )
        return
    await message.answer(
        renderer.answer(answer_id, recipient), reply_markup=back_to_menu(renderer, recipient)
    )


async def refuse_non_text(message: Message, renderer: Renderer, recipient: Recipient) -> None:
    await message.answer(renderer.text("message.unsupported", recipient))


def create_router() -> Router:
    """The conversation, in the order it is tried."""
    router = Router(name="customer")
    router.message.register(greet, CommandStart())
    router.message.register(show_help, Command("help"))
    router.callback_query.register(show_menu_again, ShowMenu.filter())
    router.callback_query.register(show_answer, FaqAnswer.filter())
    router.message.register(answer_free_text, F.text)
    router.message.register(refuse_non_text)
    return router
