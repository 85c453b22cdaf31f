"""Sensitive data typed into the chat: deleted from the chat, stored and logged only masked, the customer told
why and given a secure link; nothing of the value in any file or in the audit export."""

from __future__ import annotations

import re

from bot.app import Guardbot
from bot.emulator import BotApiEmulator
from config import Settings
from tests.helpers import guardbot_cli, is_notice, logged_entries, onboard

CARD = "4111 1111 1111 1111"
WARNING = "For your security I deleted your message"


def digit_runs(data: bytes) -> set[bytes]:
    return set(re.findall(rb"\d{6,}", data))


async def test_a_card_number_is_deleted_masked_and_answered_with_a_secure_link(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    max_ = emulator.user(7101, first_name="Max")
    await onboard(max_)
    typed = max_.send(f"hi, my card is {CARD}, expires 12/29, please charge it")
    warning = await max_.wait_for_bot_message()
    assert (warning.text or "").startswith(WARNING)
    assert "(card, expiry)" in (warning.text or "")
    link = await max_.wait_for_bot_message()
    assert (link.text or "").startswith("Please use this secure form: Card details for your order.")
    assert link.protect_content
    await emulator.wait_for(lambda: max_.message(typed.message_id).deleted)
    assert [c.params.get("message_id") for c in emulator.calls_to("deleteMessage")] == [typed.message_id]

    inbound = [e for e in logged_entries(settings.audit_path) if e["type"] == "in.update" and e["content"]]
    stored = await guardbot.audit.read(max_.id, inbound[-1]["seq"])
    assert stored == {"text": "hi, my card is [card •••• 1111], expires [expiry ••••], please charge it"}
    removed = [e for e in logged_entries(settings.audit_path) if e["type"] == "sensitive.removed"]
    assert [(e["data"]["kinds"], e["data"]["deleted"]) for e in removed] == [(["card", "expiry"], True)]

    export = settings.data_dir.parent / "audit.jsonl"
    assert guardbot_cli("audit", "export", "--out", str(export), data_dir=settings.data_dir).returncode == 0
    files = [export.read_bytes()] + [p.read_bytes() for p in settings.data_dir.iterdir() if ".db" in p.name]
    for data in files:
        assert b"4111111111111111" not in data
        assert CARD.encode() not in data
        assert not any(run.startswith(b"411111") for run in digit_runs(data))


async def test_before_consent_the_message_is_deleted_but_no_link_is_offered(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    una = emulator.user(7102, first_name="Una")
    typed = una.send(f"card {CARD}")
    assert ((await una.wait_for_bot_message()).text or "").startswith(WARNING)
    await emulator.wait_for(lambda: una.message(typed.message_id).deleted)
    una.send("/start")
    assert is_notice(await una.wait_for_bot_message())  # the next thing she sees: no link came in between


async def test_data_that_may_stay_is_kept_in_chat_but_stored_masked(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    vic = emulator.user(7103, first_name="Vic")
    await onboard(vic)
    typed = vic.send("please email me at vic.lane@example.org about my order")
    await vic.wait_for_bot_message()
    assert not vic.message(typed.message_id).deleted
    inbound = [e for e in logged_entries(settings.audit_path) if e["type"] == "in.update" and e["content"]]
    stored = await guardbot.audit.read(vic.id, inbound[-1]["seq"])
    assert stored is not None
    assert "vic.lane@example.org" not in stored["text"]
    assert "[email " in stored["text"]


async def test_a_card_added_by_editing_a_message_is_caught_too(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    assert "edited_message" in guardbot.dispatcher.resolve_used_update_types()
    wil = emulator.user(7104, first_name="Wil")
    await onboard(wil)
    typed = wil.send("hello there")
    await wil.wait_for_bot_message()
    emulator.push_raw_update(
        {
            "edited_message": {
                "message_id": typed.message_id,
                "from": {"id": wil.id, "is_bot": False, "first_name": "Wil"},
                "chat": {"id": wil.id, "type": "private", "first_name": "Wil"},
                "date": typed.date,
                "edit_date": typed.date + 5,
                "text": f"hello there, card {CARD}",
            }
        }
    )
    assert ((await wil.wait_for_bot_message()).text or "").startswith(WARNING)
    await emulator.wait_for(lambda: wil.message(typed.message_id).deleted)


async def test_fullwidth_digits_are_digits(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    xen = emulator.user(7105, first_name="Xen")
    await onboard(xen)
    typed = xen.send("カード ４１１１ １１１１ １１１１ １１１１")
    assert ((await xen.wait_for_bot_message()).text or "").startswith(WARNING)
    await emulator.wait_for(lambda: xen.message(typed.message_id).deleted)
