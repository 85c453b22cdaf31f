"""An unmodified aiogram Dispatcher long-polling the emulator, driven by an emulated user:
the way the rest of the test suite will use it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.emulator import BotApiEmulator


def build_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        button = InlineKeyboardButton(text="Menu", callback_data="menu")
        await message.answer(
            "<b>Welcome!</b>",
            parse_mode="HTML",
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
        )

    @router.callback_query(F.data == "menu")
    async def menu(query: CallbackQuery) -> None:
        await query.answer("Opening the menu")
        if isinstance(query.message, Message):
            await query.message.edit_text("Menu")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"You said: {message.text}")

    return router


@pytest.fixture
async def polling_bot(emu: BotApiEmulator, bot: Bot) -> AsyncIterator[Bot]:
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    task = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    await emu.wait_for(lambda: emu.polling)
    yield bot
    await dispatcher.stop_polling()
    await task


async def test_a_conversation_through_a_real_dispatcher(emu: BotApiEmulator, polling_bot: Bot) -> None:
    alice = emu.user(1001, "Alice", language_code="en")

    alice.send("/start")
    welcome = await alice.wait_for_bot_message()
    assert welcome.text == "Welcome!"
    assert welcome.buttons == [["Menu"]]

    alice.press(welcome.message_id, "Menu")
    await emu.wait_for(lambda: welcome.text == "Menu")
    assert alice.callback_answers[0]["text"] == "Opening the menu"
    assert welcome.reply_markup is None  # the edit did not repeat the keyboard

    alice.send("hello")
    echo = await alice.wait_for_bot_message(lambda m: m.text is not None and "hello" in m.text)
    assert echo.text == "You said: hello"
    await emu.wait_for(lambda: emu.pending_updates == 0)


async def test_two_users_are_kept_apart(emu: BotApiEmulator, polling_bot: Bot) -> None:
    alice, bob = emu.user(1001, "Alice"), emu.user(1002, "Bob")

    alice.send("from alice")
    bob.send("from bob")

    assert (await alice.wait_for_bot_message()).text == "You said: from alice"
    assert (await bob.wait_for_bot_message()).text == "You said: from bob"
    assert [m.message_id for m in alice.messages] == [1, 2]
