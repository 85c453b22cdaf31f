"""The emulator against a real aiogram Bot over real HTTP: identity, polling, messages,
keyboards, callbacks, documents, copies, errors and injected faults."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)

from bot.emulator import BotApiEmulator, Fault


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row] for row in rows
        ]
    )


# --- identity and polling ---------------------------------------------------------------------


async def test_get_me_returns_the_bot_user(bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == 123456
    assert me.is_bot
    assert me.username == "guardbot_test_bot"
    assert me.first_name == "Guardbot"


async def test_any_well_formed_token_is_accepted_by_default(
    bot_factory: Callable[..., Bot],
) -> None:
    assert (await bot_factory("999:another-token").get_me()).id == 999


async def test_a_configured_token_is_the_only_one_accepted(
    bot_factory: Callable[..., Bot],
) -> None:
    async with BotApiEmulator(token="42:right") as emulator:
        assert (await bot_factory("42:right", emulator).get_me()).id == 42
        with pytest.raises(TelegramUnauthorizedError):
            await bot_factory("42:wrong", emulator).get_me()


async def drain(bot: Bot) -> None:
    """Confirm every pending update."""
    updates = await bot.get_updates()
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1)


async def test_get_updates_confirms_by_offset_and_honours_limit(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001, "Alice", language_code="en")
    for text in ("one", "two", "three"):
        alice.send(text)

    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    assert emu.pending_updates == 3  # nothing confirmed yet

    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert emu.pending_updates == 1

    await bot.get_updates(offset=rest[-1].update_id + 1)
    assert emu.pending_updates == 0


async def test_negative_offset_keeps_only_the_latest_updates(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    for text in ("a", "b", "c"):
        alice.send(text)

    latest = await bot.get_updates(offset=-1)

    assert [u.message.text for u in latest if u.message] == ["c"]
    assert emu.pending_updates == 1


async def test_long_poll_returns_as_soon_as_an_update_arrives(emu: BotApiEmulator, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for(lambda: emu.polling)

    emu.user(1001).send("wake up")
    updates = await asyncio.wait_for(poll, 2)

    assert [u.message.text for u in updates if u.message] == ["wake up"]
    assert loop.time() - started < 2


async def test_long_poll_times_out_with_an_empty_list(bot: Bot) -> None:
    assert await bot.get_updates(timeout=1) == []


async def test_a_second_poller_terminates_the_waiting_one(emu: BotApiEmulator, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for(lambda: emu.polling)

    newer = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(older, 2)

    emu.user(1001).send("for the newer poller")
    assert len(await asyncio.wait_for(newer, 2)) == 1


async def test_allowed_updates_filters_update_types(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.get_updates(allowed_updates=["callback_query"])
    emu.user(1001).send("dropped: messages are not allowed")
    assert emu.pending_updates == 0


# --- messages and keyboards -------------------------------------------------------------------


async def test_send_message_stores_text_keyboard_and_options(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001, "Alice")
    alice.send("/start")

    sent = await bot.send_message(
        1001,
        "Pick one",
        reply_markup=keyboard([("Yes", "answer:yes"), ("No", "answer:no")], [("Help", "help")]),
        protect_content=True,
        disable_notification=True,
    )

    message = alice.last_bot_message
    assert message is not None
    assert message.message_id == sent.message_id == 2  # ids are shared with the user's /start
    assert message.text == "Pick one"
    assert message.buttons == [["Yes", "No"], ["Help"]]
    assert message.protect_content
    assert message.disable_notification
    assert sent.reply_markup is not None
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    call = emu.calls_to("sendMessage")[-1]
    assert call.params["chat_id"] == 1001
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "answer:yes"


async def test_html_is_rendered_into_text_and_entities(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")

    sent = await bot.send_message(1001, "  <b>Bold</b> &amp; <i>it</i> ", parse_mode="HTML")

    assert sent.text == "Bold & it"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 0, 4),
        ("italic", 7, 2),
    ]
    assert alice.last_bot_message is not None
    assert alice.last_bot_message.source_text == "  <b>Bold</b> &amp; <i>it</i> "


async def test_unbalanced_html_is_refused(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001).send("hi")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1001, "<b>oops", parse_mode="HTML")


async def test_callback_data_over_64_bytes_is_refused(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")

    ok = "é" * 32  # 64 bytes in UTF-8: the limit is in bytes, not characters
    await bot.send_message(1001, "fits", reply_markup=keyboard([("ok", ok)]))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1001, "too long", reply_markup=keyboard([("x", ok + "a")]))

    assert [m.text for m in alice.bot_messages] == ["fits"]


async def test_text_limits(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001).send("hi")

    await bot.send_message(1001, "x" * 4096 + "   ")  # surrounding spaces do not count
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1001, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1001, "   ")


async def test_unknown_chats_and_users_who_never_started(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(3003, "nobody by that id")

    bob = emu.user(2002, "Bob", started=False)  # e.g. an operator who never pressed Start
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation"):
        await bot.send_message(2002, "hello?")
    bob.send("/start")
    await bot.send_message(2002, "hello!")


async def test_user_updates_look_like_telegram(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001, "Alice", language_code="de", username="alice")
    first = alice.send("/start promo-42")
    alice.send("thanks", reply_to=first.message_id)

    updates = await bot.get_updates()
    start, reply = (u.message for u in updates)

    assert start is not None
    assert reply is not None
    assert start.from_user is not None
    assert start.from_user.language_code == "de"
    assert start.entities is not None
    assert (start.entities[0].type, start.entities[0].offset, start.entities[0].length) == (
        "bot_command",
        0,
        6,
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "/start promo-42"


async def test_bot_replies_need_an_existing_message(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    question = alice.send("question")

    await bot.send_message(1001, "answer", reply_parameters=ReplyParameters(message_id=question.message_id))
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(1001, "lost", reply_parameters=ReplyParameters(message_id=99))

    assert alice.bot_messages[-1].reply_to_message_id == question.message_id


async def test_edit_message_text_and_not_modified(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    markup = keyboard([("Go", "go")])
    sent = await bot.send_message(1001, "draft", reply_markup=markup)

    await bot.edit_message_text("final", chat_id=1001, message_id=sent.message_id, reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("final", chat_id=1001, message_id=sent.message_id, reply_markup=markup)
    # As on Telegram, an edit that does not repeat the inline keyboard removes it.
    await bot.edit_message_text("final", chat_id=1001, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=999)

    message = alice.message(sent.message_id)
    assert message.text == "final"
    assert message.edited
    assert message.reply_markup is None


async def test_edit_reply_markup(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    sent = await bot.send_message(1001, "menu", reply_markup=keyboard([("A", "a")]))

    await bot.edit_message_reply_markup(
        chat_id=1001, message_id=sent.message_id, reply_markup=keyboard([("B", "b")])
    )
    assert alice.message(sent.message_id).buttons == [["B"]]
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_reply_markup(
            chat_id=1001, message_id=sent.message_id, reply_markup=keyboard([("B", "b")])
        )


async def test_delete_messages_including_the_users(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    customer = alice.send("my card number is 4111...")
    notice = await bot.send_message(1001, "Please do not share card numbers")

    assert await bot.delete_message(1001, customer.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(1001, customer.message_id)
    assert await bot.delete_messages(1001, [notice.message_id, 12345])

    assert customer.deleted
    assert alice.bot_messages == []


async def test_answer_callback_query_only_once(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    sent = await bot.send_message(1001, "Sure?", reply_markup=keyboard([("Yes", "y")]))

    query_id = alice.press(sent.message_id, "Yes")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert query is not None
    assert query.id == query_id
    assert query.data == "y"
    assert query.message is not None
    assert query.message.message_id == sent.message_id

    await bot.answer_callback_query(query_id, text="Done", show_alert=True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("unknown")

    assert [(a["text"], a["show_alert"]) for a in alice.callback_answers] == [("Done", True)]


async def test_press_finds_buttons_and_explains_misses(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="A", callback_data="a")],
            [InlineKeyboardButton(text="Site", url="https://example.org")],
        ]
    )
    sent = await bot.send_message(1001, "menu", reply_markup=markup)

    alice.press(sent.message_id, 0)
    alice.press(sent.message_id, (0, 0))
    with pytest.raises(LookupError, match="no button 'Z'"):
        alice.press(sent.message_id, "Z")
    with pytest.raises(LookupError, match="no callback_data"):
        alice.press(sent.message_id, "Site")
    forged = alice.press_data(sent.message_id, "admin:grant")

    updates = await bot.get_updates()
    assert updates[-1].callback_query is not None
    assert updates[-1].callback_query.id == forged
    assert updates[-1].callback_query.data == "admin:grant"


async def test_send_document_records_the_upload(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("invoice please")
    data = b"%PDF-1.4 fake invoice"

    sent = await bot.send_document(
        1001, BufferedInputFile(data, filename="invoice.pdf"), caption="Your invoice"
    )
    again = await bot.send_document(1001, sent.document.file_id if sent.document else "")

    document = alice.bot_messages[0].document
    assert document is not None
    assert (document.filename, document.size, document.data) == ("invoice.pdf", len(data), data)
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert document.mime_type == "application/pdf"
    assert alice.bot_messages[0].caption == "Your invoice"
    assert again.document is not None
    assert again.document.file_id == document.file_id


async def test_copy_and_forward_messages(emu: BotApiEmulator, bot: Bot) -> None:
    alice, operator = emu.user(1001, "Alice"), emu.user(9000, "Operator")
    question = alice.send("Where is my order?")
    operator.send("/start")

    copied = await bot.copy_message(9000, from_chat_id=1001, message_id=question.message_id)
    forwarded = await bot.forward_message(9000, from_chat_id=1001, message_id=question.message_id)

    assert operator.message(copied.message_id).text == "Where is my order?"
    assert operator.message(copied.message_id).from_bot
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.type == "user"
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(9000, from_chat_id=1001, message_id=999)


async def test_user_forwards_a_bot_message(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    await bot.send_message(1001, "Your code is 1234")
    await drain(bot)

    assert alice.last_bot_message is not None
    alice.forward(alice.last_bot_message)
    updates = await bot.get_updates()

    message = updates[-1].message
    assert message is not None
    assert message.text == "Your code is 1234"
    origin = message.forward_origin
    assert origin is not None
    assert origin.type == "user"
    assert origin.sender_user.id == 123456  # type: ignore[union-attr]


async def test_commands_and_chat_actions(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")

    await bot.set_my_commands([BotCommand(command="start", description="Start over")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert emu.commands() == [{"command": "start", "description": "Start over"}]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])

    await bot.send_chat_action(1001, "typing")
    assert alice.chat_actions == ["typing"]


# --- blocking and faults ----------------------------------------------------------------------


async def test_blocked_user_answers_403(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    await drain(bot)

    emu.block(1001)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(1001, "still there?")
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None
    assert member.new_chat_member.status == "kicked"

    emu.unblock(1001)
    await bot.send_message(1001, "welcome back")
    assert [m.text for m in alice.bot_messages] == ["welcome back"]


async def test_rate_limit_fault_then_retry(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    emu.inject_fault(Fault(method="sendMessage", status=429, retry_after=3, times=1))

    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(1001, "hello")
    assert raised.value.retry_after == 3
    assert alice.bot_messages == []  # a refused call changes nothing

    await bot.send_message(1001, "hello")
    assert [m.text for m in alice.bot_messages] == ["hello"]
    assert [c.status for c in emu.calls_to("sendMessage")] == [429, 200]
    assert emu.calls_to("sendMessage")[0].response["parameters"] == {"retry_after": 3}
    assert emu.faults == []


async def test_server_error_fault_applies_times_then_disappears(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001).send("hi")
    emu.inject_fault(Fault(method="sendMessage", status=500, times=2))

    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.send_message(1001, "x")
    await bot.send_message(1001, "x")


async def test_faults_can_target_one_chat_and_be_cleared(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001).send("hi")
    emu.user(1002).send("hi")
    emu.inject_fault(Fault(method="sendMessage", status=502, times=None, chat_id=1002))

    await bot.send_message(1001, "fine")
    with pytest.raises(TelegramServerError):
        await bot.send_message(1002, "fails")
    emu.clear_faults()
    await bot.send_message(1002, "fine now")


async def test_delay_fault_slows_the_answer(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001).send("hi")
    emu.inject_fault(Fault(method=None, delay=0.3, times=1))
    loop = asyncio.get_running_loop()

    started = loop.time()
    await bot.send_message(1001, "slow")
    assert loop.time() - started >= 0.3
    started = loop.time()
    await bot.send_message(1001, "fast")
    assert loop.time() - started < 0.3


# --- observation helpers ----------------------------------------------------------------------


async def test_wait_for_bot_message_returns_each_new_message_once(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")

    async def reply_later() -> None:
        await bot.send_message(1001, "first")
        await bot.send_message(1001, "second")

    task = asyncio.create_task(reply_later())
    assert (await alice.wait_for_bot_message()).text == "first"
    assert (await alice.wait_for_bot_message()).text == "second"
    await task
    with pytest.raises(TimeoutError, match="no new bot message"):
        await alice.wait_for_bot_message(timeout=0.05)


async def test_listeners_and_wait_for(emu: BotApiEmulator, bot: Bot) -> None:
    seen: list[str] = []
    emu.add_listener(lambda call: seen.append(call.method))
    emu.user(1001).send("hi")

    await bot.send_message(1001, "x")
    await emu.wait_for(lambda: "sendMessage" in seen)
    with pytest.raises(TimeoutError, match="not met within"):
        await emu.wait_for(lambda: False, timeout=0.05)


async def test_dates_come_from_the_injected_clock(bot_factory: Callable[..., Bot]) -> None:
    async with BotApiEmulator(clock=lambda: 1_700_000_000.5) as emulator:
        emulator.user(1001).send("hi")

        sent = await bot_factory(emulator=emulator).send_message(1001, "x")

        assert int(sent.date.timestamp()) == 1_700_000_000
        assert emulator.calls[-1].at == 1_700_000_000.5


async def test_messages_belong_to_their_chat(emu: BotApiEmulator, bot: Bot) -> None:
    alice, bob = emu.user(1001), emu.user(1002)
    alice.send("a")
    bob.send("b1")
    bob.send("b2")

    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(1001, 2)  # Bob's message 2, not Alice's
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("rewritten", chat_id=1002, message_id=1)
    assert await bot.delete_message(1002, 2)


async def test_protected_messages_cannot_be_forwarded(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    emu.user(9000).send("hi")
    sent = await bot.send_message(1001, "one-time code 5555", protect_content=True)

    with pytest.raises(ValueError, match="protected content"):
        alice.forward(alice.message(sent.message_id))
    with pytest.raises(TelegramBadRequest, match="message can't be forwarded"):
        await bot.forward_message(9000, from_chat_id=1001, message_id=sent.message_id)


async def test_blocking_lasts_until_unblocked(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    alice.block()
    alice.send("/start")  # a blocked user's message still reaches the bot...

    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(1001, "...but the answer cannot reach them")
    alice.unblock()
    kinds = [
        (u.my_chat_member.new_chat_member.status if u.my_chat_member else u.message and u.message.text)
        for u in await bot.get_updates()
    ]
    assert kinds == ["hi", "kicked", "/start", "member"]
    await bot.send_message(1001, "hello again")


async def test_raw_updates_teach_the_emulator_their_user_message_and_query(
    emu: BotApiEmulator, bot: Bot
) -> None:
    user = {"id": 7007, "is_bot": False, "first_name": "Raw"}
    chat = {"id": 7007, "type": "private", "first_name": "Raw"}
    message = {"message_id": 41, "date": 1, "chat": chat, "from": user, "text": "typed by hand"}
    emu.push_raw_update({"message": message})
    emu.push_raw_update({"callback_query": {"id": "cq-1", "from": user, "chat_instance": "1"}})
    emu.push_raw_update({"message": {"message_id": "not-a-number"}})  # teaches nothing

    reply = await bot.send_message(7007, "got it", reply_parameters=ReplyParameters(message_id=41))
    await bot.answer_callback_query("cq-1", text="ok")

    assert reply.message_id == 42  # ids continue after the hand-built message
    assert [m.text for m in emu.user(7007).messages] == ["typed by hand", "got it"]
    assert emu.user(7007).callback_answers[0]["text"] == "ok"


async def test_caption_limit(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001).send("hi")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(1001, BufferedInputFile(b"x", filename="x.txt"), caption="c" * 1025)


async def test_wait_for_bot_message_skips_past_non_matching_messages(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    await bot.send_message(1001, "a")
    await bot.send_message(1001, "b")

    assert (await alice.wait_for_bot_message(lambda m: m.text == "b")).text == "b"
    with pytest.raises(TimeoutError):
        await alice.wait_for_bot_message(timeout=0.02)
    await bot.send_message(1001, "c")
    assert (await alice.wait_for_bot_message()).text == "c"


def test_faults_must_describe_a_failure() -> None:
    with pytest.raises(ValueError, match="HTTP error"):
        Fault(status=200)
    with pytest.raises(ValueError, match="status, a delay"):
        Fault(method="sendMessage")
