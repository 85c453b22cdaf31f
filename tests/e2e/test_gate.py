"""The outbound gate (invariant 1), exercised through the real aiogram Bot against the emulator."""

from __future__ import annotations

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app import Guardbot
from bot.content import Recipient
from bot.emulator import BotApiEmulator
from bot.errors import GateRefused


@pytest.fixture
def chat(emulator: BotApiEmulator) -> int:
    emulator.user(2001, first_name="Lena").send("hi")  # so the chat exists on the emulator
    return 2001


async def test_literal_text_is_refused_rendered_text_passes(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    await emulator.wait_for(lambda: len(emulator.user(chat).bot_messages) == 1)
    before = len(emulator.calls_to("sendMessage"))

    with pytest.raises(GateRefused) as refused:
        await guardbot.bot.send_message(chat, "anything")
    assert refused.value.reason == "text not rendered from the catalog for this chat"
    assert len(emulator.calls_to("sendMessage")) == before
    assert guardbot.gate.refusals[-1].method == "sendMessage"

    # The very same words, rendered from the catalog for this chat, pass.
    to = Recipient(chat, "en")
    rendered = guardbot.renderer.text("help.menu", to)
    with pytest.raises(GateRefused):
        await guardbot.bot.send_message(chat, str(rendered) + " ")  # not what was rendered
    message = await guardbot.bot.send_message(chat, rendered)
    assert message.text == "Here is what I can help with. Pick a topic:"
    assert emulator.calls_to("sendMessage")[-1].params["text"] == rendered


async def test_a_rendering_is_bound_to_its_recipient_and_used_once(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    emulator.user(2002, first_name="Mo").send("hi")
    rendered = guardbot.renderer.text("help.menu", Recipient(chat, "en"))
    with pytest.raises(GateRefused):
        await guardbot.bot.send_message(2002, rendered)  # rendered for someone else
    await guardbot.bot.send_message(chat, rendered)
    with pytest.raises(GateRefused):
        await guardbot.bot.send_message(chat, rendered)  # replayed


async def test_button_labels_and_formatting_are_checked(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    to = Recipient(chat, "en")
    forged = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="70% off today!", callback_data="menu")]]
    )
    with pytest.raises(GateRefused):
        await guardbot.bot.send_message(chat, guardbot.renderer.text("help.menu", to), reply_markup=forged)
    link = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=guardbot.renderer.text("button.back_to_menu", to), url="https://evil.example"
                )
            ]
        ]
    )
    with pytest.raises(GateRefused):
        await guardbot.bot.send_message(chat, guardbot.renderer.text("help.menu", to), reply_markup=link)
    with pytest.raises(GateRefused) as refused:
        await guardbot.bot.send_message(chat, guardbot.renderer.text("help.menu", to), parse_mode="HTML")
    assert "formatting" in refused.value.reason


async def test_methods_the_gate_cannot_check_are_refused(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    await emulator.wait_for(lambda: len(emulator.user(chat).bot_messages) == 1)
    calls_before = len(emulator.calls)
    with pytest.raises(GateRefused, match="unchecked content"):
        await guardbot.bot.copy_message(chat, from_chat_id=chat, message_id=1)
    with pytest.raises(GateRefused, match="unchecked content"):
        await guardbot.bot.send_contact(chat, phone_number="+441234567890", first_name="X")
    assert len(emulator.calls) == calls_before
    # Non-content calls pass untouched.
    await guardbot.bot.send_chat_action(chat, "typing")


async def test_a_refused_reply_inside_a_handler_is_logged_and_the_customer_told(
    emulator: BotApiEmulator, guardbot: Guardbot, caplog: pytest.LogCaptureFixture
) -> None:
    from aiogram.types import Message

    async def rogue(message: Message) -> None:
        await message.answer("70% off, today only!")

    guardbot.dispatcher.message.register(rogue)  # before any router: catches everything
    nora = emulator.user(2003, first_name="Nora")
    nora.send("hello")
    reply = await nora.wait_for_bot_message()
    assert reply.text == "Sorry, something went wrong on our side. Please try again in a moment."
    assert "70%" not in caplog.text
    assert "gate.refused" in caplog.text
    assert all("70%" not in (c.params.get("text") or "") for c in emulator.calls)
