"""The first customer flow, end to end: the real bot, polling the emulator over HTTP, a real SQLite file."""

from __future__ import annotations

import logging

import pytest

from bot.app import Guardbot
from bot.emulator import BotApiEmulator, Fault
from tests.helpers import ACCEPT, MARKETING_NO, MARKETING_YES, is_notice, onboard

MENU_TITLES = [
    "Delivery times",
    "Returns and refunds",
    "Payment methods",
    "Where is my order?",
    "Opening hours",
    "Your data and privacy",
    "🙋 Talk to a person",
]


async def test_start_help_and_a_menu_button(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    alice = emulator.user(1001, first_name="Alice", language_code="en")
    alice.send("/start")
    notice = await alice.wait_for_bot_message()  # first contact: the privacy notice, nothing before it
    assert is_notice(notice)
    assert notice.text is not None and notice.text.startswith("Privacy notice (version 2026-11)")
    assert notice.buttons == [[ACCEPT], [MARKETING_YES, MARKETING_NO]]
    alice.press(notice.message_id, ACCEPT)
    thanks = await alice.wait_for_bot_message()
    assert thanks.text is not None
    assert thanks.text.startswith("Thank you: you accepted the privacy notice (version 2026-11).")
    greeting = await alice.wait_for_bot_message()
    assert greeting.text is not None
    assert greeting.text.startswith("Hello, Alice! I am the assistant of Example Shop.")
    assert [m.message_id for m in alice.bot_messages] == [
        notice.message_id,
        thanks.message_id,
        greeting.message_id,
    ]

    alice.send("/help")
    menu = await alice.wait_for_bot_message()
    assert menu.text == "Here is what I can help with. Pick a topic:"
    assert [row[0] for row in menu.buttons] == MENU_TITLES

    alice.press(menu.message_id, "Returns and refunds")
    answer = await alice.wait_for_bot_message()
    assert answer.text is not None
    assert answer.text.startswith("You can return any item within 30 days of delivery.")
    assert answer.buttons == [["« Back to the menu"]]
    await emulator.wait_for(lambda: len(alice.callback_answers) == 2)  # the accept button's, then this one

    alice.press(answer.message_id, "« Back to the menu")
    again = await alice.wait_for_bot_message()
    assert again.text == "Here is what I can help with. Pick a topic:"
    assert guardbot.gate.refusals == type(guardbot.gate.refusals)()


async def test_free_text_is_matched_to_an_approved_answer(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    bob = emulator.user(1002, first_name="Bob")
    await onboard(bob)
    bob.send("When will my parcel be delivered?")
    reply = await bob.wait_for_bot_message()
    assert reply.text is not None
    assert reply.text.startswith("Orders placed before 14:00")
    assert reply.buttons == [["« Back to the menu"]]


async def test_unmatched_text_falls_back_to_the_menu(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    carol = emulator.user(1003, first_name="Carol")
    await onboard(carol)
    carol.send("blorp zzz")
    reply = await carol.wait_for_bot_message()
    assert reply.text == (
        "Sorry, I did not understand that. Send /agent to talk to a person, or pick a topic I can help with:"
    )
    assert [row[0] for row in reply.buttons] == MENU_TITLES


async def test_unknown_and_forged_callbacks_get_a_polite_answer(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    dan = emulator.user(1004, first_name="Dan")
    await onboard(dan)
    answered = len(dan.callback_answers)  # the accept button's
    dan.send("/help")
    menu = await dan.wait_for_bot_message()
    for data in ("totally-unknown", "faq:no_such_answer", "faq", "x" * 64, "menu:extra:parts"):
        dan.press_data(menu.message_id, data)
    await emulator.wait_for(lambda: len(dan.callback_answers) == answered + 5)
    texts = [a["text"] for a in dan.callback_answers[answered:]]
    assert texts == ["This button is no longer valid. Send /help for the current menu."] * 5
    # The bot is still fine afterwards.
    dan.send("/start")
    assert (await dan.wait_for_bot_message()).text.startswith("Hello, Dan!")  # type: ignore[union-attr]


async def test_a_non_text_message_is_answered_politely(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    erin = emulator.user(1005, first_name="Erin")
    await onboard(erin)
    update_id = emulator.push_raw_update(
        {
            "message": {
                "message_id": 100,
                "date": 1_700_000_000,
                "chat": {"id": 1005, "type": "private", "first_name": "Erin"},
                "from": {"id": 1005, "is_bot": False, "first_name": "Erin"},
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                },
            }
        }
    )
    assert update_id
    reply = await erin.wait_for_bot_message()
    assert (
        reply.text == "I can only read text messages. Please type your question, or send /help for the menu."
    )


async def test_malformed_and_foreign_updates_do_not_stop_the_bot(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    emulator.push_raw_update({"message": {"message_id": "not-a-number"}})
    emulator.push_raw_update({"totally_new_update_type": {"x": 1}})
    emulator.push_raw_update(
        {
            "message": {
                "message_id": 5,
                "date": 1_700_000_000,
                "chat": {"id": -100, "type": "group", "title": "Some group"},
                "from": {"id": 1006, "is_bot": False, "first_name": "Gus"},
                "text": "/start",
            }
        }
    )
    frank = emulator.user(1007, first_name="Frank")
    await onboard(frank)
    frank.send("/start")
    reply = await frank.wait_for_bot_message()
    assert reply.text is not None and reply.text.startswith("Hello, Frank!")
    await emulator.wait_for(lambda: emulator.pending_updates == 0 and guardbot.feeder.in_flight == 0)
    assert not [c for c in emulator.calls if c.params.get("chat_id") in (-100, 1006)]


async def test_huge_message_is_handled(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    gina = emulator.user(1008, first_name="Gina")
    await onboard(gina)
    gina.send("refund " * 600)  # 4200 characters: more than Telegram lets a user send
    reply = await gina.wait_for_bot_message()
    assert reply.text is not None and reply.text.startswith("You can return any item")


async def test_duplicate_update_is_processed_once(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    hank = emulator.user(1009, first_name="Hank")
    await onboard(hank)
    update = {
        "update_id": 777_777,
        "message": {
            "message_id": 100,
            "date": 1_700_000_000,
            "chat": {"id": 1009, "type": "private", "first_name": "Hank"},
            "from": {"id": 1009, "is_bot": False, "first_name": "Hank"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    emulator.push_raw_update(dict(update))
    await hank.wait_for_bot_message()
    emulator.push_raw_update(dict(update, update_id=777_778))  # a marker after the duplicate
    emulator.push_raw_update(dict(update))
    hank.send("/help")
    await hank.wait_for_bot_message(lambda m: m.text is not None and m.text.startswith("Here is"))
    greetings = [m for m in hank.bot_messages if m.text and m.text.startswith("Hello, Hank")]
    assert len(greetings) == 3  # onboarding's, then 777777 once, 777778 once


async def test_flood_control_waits_and_delivers_once(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    ivy = emulator.user(1010, first_name="Ivy")
    await onboard(ivy)
    sent_before, shown_before = len(emulator.calls_to("sendMessage")), len(ivy.bot_messages)
    emulator.inject_fault(Fault(method="sendMessage", status=429, retry_after=1, times=1))
    ivy.send("/start")
    reply = await ivy.wait_for_bot_message(timeout=10)
    assert reply.text is not None and reply.text.startswith("Hello, Ivy!")
    sends = emulator.calls_to("sendMessage")[sent_before:]
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 0.9
    assert len(ivy.bot_messages) == shown_before + 1


async def test_user_who_blocked_the_bot(
    emulator: BotApiEmulator, guardbot: Guardbot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    jay = emulator.user(1011, first_name="Jay")
    emulator.block(1011)
    jay.send("/start")
    await emulator.wait_for(lambda: any(c.status == 403 for c in emulator.calls_to("sendMessage")))
    # Telegram's my_chat_member update already logged telegram.blocked, and Jay's /start then cleared the
    # mark (writing does). Wait for the error handler's line about the 403 on the reply: by then the gate
    # has marked Jay again.
    await emulator.wait_for(
        lambda: any(
            r.name == "guardbot.errors" and r.getMessage() == "telegram.blocked" for r in caplog.records
        )
    )
    assert await guardbot.repository.is_blocked(1011)
    # Still serving others.
    kim = emulator.user(1012, first_name="Kim")
    await onboard(kim)
    assert (kim.last_bot_message.text or "").startswith("Hello, Kim!")  # type: ignore[union-attr]
    # And Jay is welcome back once they unblock: the notice they never saw, then the conversation.
    emulator.unblock(1011)
    await onboard(jay)
    assert (jay.last_bot_message.text or "").startswith("Hello, Jay!")  # type: ignore[union-attr]
    assert not await guardbot.repository.is_blocked(1011)


async def test_command_menu_is_published_from_the_catalog(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    await emulator.wait_for(lambda: bool(emulator.commands()))
    assert emulator.commands() == [
        {"command": "start", "description": "Start the conversation"},
        {"command": "help", "description": "Show the menu of topics"},
        {"command": "agent", "description": "Talk to a person"},
        {"command": "offers", "description": "Current offers for you"},
        {"command": "verify", "description": "Check that an offer is genuine"},
        {"command": "privacy", "description": "Your privacy choices"},
        {"command": "stop", "description": "Stop offers and news"},
        {"command": "mydata", "description": "Get a copy of your data"},
        {"command": "forget", "description": "Erase your data"},
    ]


async def test_an_answer_with_its_own_buttons(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    lou = emulator.user(1020, first_name="Lou")
    await onboard(lou)
    lou.send("where is my order")
    answer = await lou.wait_for_bot_message()
    assert (answer.text or "").startswith("Your tracking link is in the dispatch email")
    assert answer.buttons == [["Delivery times"], ["Returns and refunds"], ["« Back to the menu"]]
    lou.press(answer.message_id, "Delivery times")
    delivery = await lou.wait_for_bot_message()
    assert (delivery.text or "").startswith("Orders placed before 14:00")
    assert guardbot.gate.refusals == type(guardbot.gate.refusals)()
