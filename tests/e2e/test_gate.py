"""The outbound gate (invariant 1), exercised through the real aiogram Bot against the emulator."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from aiogram.methods import SendMessage
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    LoginUrl,
    ReplyKeyboardMarkup,
    ReplyParameters,
)

from bot.app import Guardbot
from bot.content import Recipient
from bot.emulator import BotApiEmulator, ChatMessage
from bot.errors import GateRefused
from tests.helpers import is_notice, onboard

OTHER_CUSTOMER = 2002


@pytest.fixture
async def chat(emulator: BotApiEmulator, guardbot: Guardbot) -> int:
    lena = emulator.user(2001, first_name="Lena")
    await onboard(lena)  # so the chat exists on the emulator, and the bot may answer her
    lena.send("hi")
    # The bot's answer to "hi" must be out before a test counts calls.
    await lena.wait_for_bot_message()
    return 2001


def said_hi(emulator: BotApiEmulator, chat: int) -> ChatMessage:
    """The customer's own "hi" in `chat`."""
    return next(m for m in emulator.user(chat).messages if not m.from_bot and m.text == "hi")


async def refused_unsent(
    emulator: BotApiEmulator, call: Awaitable[Any], reason: str, method: str = "sendMessage"
) -> None:
    """`call` is refused by the gate with `reason`, and nothing reached the Bot API."""
    before = len(emulator.calls_to(method))
    with pytest.raises(GateRefused) as refused:
        await call
    assert refused.value.reason == reason
    assert len(emulator.calls_to(method)) == before


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(buttons)])


async def test_literal_text_is_refused_rendered_text_passes(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
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


async def test_a_link_preview_card_is_refused_and_the_text_not_consumed(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    rendered = guardbot.renderer.text("help.menu", Recipient(chat, "en"))
    preview = LinkPreviewOptions(url="https://evil.example/90-percent-off")
    await refused_unsent(
        emulator,
        guardbot.bot.send_message(chat, rendered, link_preview_options=preview),
        "parameter link_preview_options.url is not allowed",
    )
    await refused_unsent(
        emulator,
        guardbot.bot.send_message(chat, rendered, link_preview_options=LinkPreviewOptions()),
        "link_preview_options may only disable the preview",
    )
    await guardbot.bot.send_message(chat, rendered)  # still redeemable, exactly once
    with pytest.raises(GateRefused):
        await guardbot.bot.send_message(chat, rendered)


async def test_a_reply_may_not_quote_or_point_at_another_customers_chat(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    mo = emulator.user(OTHER_CUSTOMER, first_name="Mo")
    theirs = mo.send("my card ends 4242")
    await mo.wait_for_bot_message(is_notice)  # the bot's answer to Mo is out before calls are counted
    rendered = guardbot.renderer.text("help.menu", Recipient(chat, "en"))
    quoting = ReplyParameters(chat_id=OTHER_CUSTOMER, message_id=theirs.message_id, quote="4242")
    await refused_unsent(
        emulator,
        guardbot.bot.send_message(chat, rendered, reply_parameters=quoting),
        "parameter reply_parameters.quote is not allowed",
    )
    elsewhere = ReplyParameters(chat_id=OTHER_CUSTOMER, message_id=theirs.message_id)
    await refused_unsent(
        emulator,
        guardbot.bot.send_message(chat, rendered, reply_parameters=elsewhere),
        "reply_parameters points at another chat",
    )
    own = said_hi(emulator, chat)
    quoting_own = ReplyParameters(message_id=own.message_id, quote="hi")
    await refused_unsent(
        emulator,
        guardbot.bot.send_message(chat, rendered, reply_parameters=quoting_own),
        "parameter reply_parameters.quote is not allowed",
    )
    message = await guardbot.bot.send_message(chat, rendered)
    assert message.reply_to_message is None


async def test_a_callback_answer_may_not_open_a_url(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    lena = emulator.user(chat)
    menu = lena.bot_messages[-1]
    if not menu.reply_markup:  # the reply to "hi" may be plain text; /help always has the menu
        lena.send("/help")
        menu = await lena.wait_for_bot_message(lambda m: bool(m.reply_markup))
    answered = len(emulator.calls_to("answerCallbackQuery"))
    query_id = lena.press(menu.message_id, 0)
    await emulator.wait_for(lambda: len(emulator.calls_to("answerCallbackQuery")) == answered + 1)

    # No text at all used to make the gate wave the call through as content-free.
    await refused_unsent(
        emulator,
        guardbot.bot.answer_callback_query(query_id, url="https://evil.example"),
        "parameter url is not allowed",
        method="answerCallbackQuery",
    )
    rendered = guardbot.renderer.text("callback.expired", Recipient(chat, "en"))
    await refused_unsent(
        emulator,
        guardbot.bot.answer_callback_query(query_id, text=rendered, url="https://evil.example"),
        "parameter url is not allowed",
        method="answerCallbackQuery",
    )
    await guardbot.bot.send_message(chat, rendered)  # the rendering was not consumed


@pytest.mark.parametrize(
    ("button", "field"),
    [
        (
            {"login_url": LoginUrl(url="https://evil.example", forward_text="Claim your 90% voucher")},
            "login_url",
        ),
        ({"switch_inline_query": "90% off"}, "switch_inline_query"),
        ({"callback_data": "menu", "style": "danger"}, "style"),
    ],
)
async def test_button_fields_beyond_label_url_and_callback_are_refused(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int, button: dict[str, Any], field: str
) -> None:
    to = Recipient(chat, "en")
    text = guardbot.renderer.text("help.menu", to)
    label = guardbot.renderer.text("button.back_to_menu", to)
    markup = keyboard(InlineKeyboardButton(text=label, **button))
    await refused_unsent(
        emulator,
        guardbot.bot.send_message(chat, text, reply_markup=markup),
        f"markup field InlineKeyboardButton.{field} is not allowed",
    )
    # Neither the text nor the label was consumed by the refused call.
    plain = keyboard(InlineKeyboardButton(text=label, callback_data="menu"))
    await guardbot.bot.send_message(chat, text, reply_markup=plain)


async def test_reply_keyboard_buttons_may_not_request_anything(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    to = Recipient(chat, "en")
    text = guardbot.renderer.text("help.menu", to)
    label = guardbot.renderer.text("button.back_to_menu", to)
    markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=label, request_contact=True)]])
    await refused_unsent(
        emulator,
        guardbot.bot.send_message(chat, text, reply_markup=markup),
        "markup field KeyboardButton.request_contact is not allowed",
    )
    plain = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=label)]], resize_keyboard=True)
    await guardbot.bot.send_message(chat, text, reply_markup=plain)


async def test_extra_fields_on_methods_and_markup_are_refused(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    to = Recipient(chat, "en")
    text = guardbot.renderer.text("help.menu", to)
    label = guardbot.renderer.text("button.back_to_menu", to)
    await refused_unsent(
        emulator,
        guardbot.bot(SendMessage(chat_id=chat, text=text, foo="x")),
        "parameter foo is not allowed",
    )
    sneaky = keyboard(InlineKeyboardButton(text=label, callback_data="menu", foo="x"))
    await refused_unsent(
        emulator,
        guardbot.bot.send_message(chat, text, reply_markup=sneaky),
        "markup field InlineKeyboardButton.foo is not allowed",
    )
    await guardbot.bot.send_message(
        chat, text, reply_markup=keyboard(InlineKeyboardButton(text=label, callback_data="menu"))
    )


async def test_harmless_delivery_options_pass(
    emulator: BotApiEmulator, guardbot: Guardbot, chat: int
) -> None:
    own = said_hi(emulator, chat)
    rendered = guardbot.renderer.text("help.menu", Recipient(chat, "en"))
    message = await guardbot.bot.send_message(
        chat,
        rendered,
        reply_parameters=ReplyParameters(chat_id=chat, message_id=own.message_id),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        protect_content=True,
        disable_notification=True,
    )
    assert message.reply_to_message is not None
    assert message.reply_to_message.message_id == own.message_id
    sent = emulator.user(chat).bot_messages[-1]
    assert sent.reply_to_message_id == own.message_id
    assert sent.protect_content
    assert sent.link_preview_options == {"is_disabled": True}
    # reply_parameters without a chat_id means this chat.
    again = guardbot.renderer.text("help.menu", Recipient(chat, "en"))
    await guardbot.bot.send_message(chat, again, reply_parameters=ReplyParameters(message_id=own.message_id))
