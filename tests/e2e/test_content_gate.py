"""The gate's content checks on text that is not approved content (an agent's free text, rendered with
`Renderer.free_text`): unapproved discounts, another customer's personal data and card numbers are refused,
logged, and compliance is told; the customer receives nothing."""

from __future__ import annotations

import pytest

from bot.app import Guardbot
from bot.content import Recipient
from bot.emulator import BotApiEmulator
from bot.errors import GateRefused
from config import Settings
from tests.helpers import AGENT_ID, COMPLIANCE_ID, logged_entries, onboard

BART_PHONE = "+44 7700 900123"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Good news: 70% off everything today only!", "unapproved discount or price"),
        ("Use code MEGA70 at checkout.", "unapproved promo code"),
        ("I have passed your case to Bartholomew Quince.", "personal data of another customer: name"),
        ("Call our customer on 07700 900123 if needed.", "personal data of another customer: phone"),
        ("The card on file is 4111 1111 1111 1111.", "sensitive data: card"),
        ("Please pay to DE89 3704 0044 0532 0130 00.", "sensitive data: iban"),
        ("Your one-time password is 834920.", "sensitive data: otp"),
    ],
)
async def test_free_text_with_forbidden_content_is_refused_and_logged(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings, text: str, reason: str
) -> None:
    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    officer.send("/start")
    await officer.wait_for_bot_message()
    ann = emulator.user(5401, first_name="Ann", last_name="Lee")
    bart = emulator.user(5402, first_name="Bartholomew", last_name="Quince")
    await onboard(ann)
    await onboard(bart)
    await guardbot.customers.add_identifier(bart.id, "phone", BART_PHONE)

    to_ann = Recipient(ann.id, "en")
    before = len(ann.bot_messages)
    with pytest.raises(GateRefused) as refused:
        await guardbot.bot.send_message(ann.id, guardbot.renderer.free_text(text, to_ann, AGENT_ID))
    assert refused.value.reason == reason
    assert len(ann.bot_messages) == before
    # The same words are fine for the person they are about (Bart's own name and phone).
    if "another customer" in reason:
        to_bart = Recipient(bart.id, "en")
        await guardbot.bot.send_message(bart.id, guardbot.renderer.free_text(text, to_bart, AGENT_ID))
    # Clean free text goes out.
    await guardbot.bot.send_message(
        ann.id, guardbot.renderer.free_text("Your parcel left our warehouse today.", to_ann, AGENT_ID)
    )
    alert = await officer.wait_for_bot_message(lambda m: (m.text or "").startswith("Guardbot stopped"))
    assert text not in (alert.text or "")
    entries = [e for e in logged_entries(settings.audit_path) if e["type"] == "gate.refused"]
    assert [e["data"]["reason"] for e in entries] == [reason]
    assert entries[0]["content"] is not None  # what was attempted is kept, encrypted, as evidence


async def test_approved_content_passes_and_a_name_in_a_catalog_rendering_is_the_recipients(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    bart = emulator.user(5502, first_name="Bartholomew", last_name="Quince")
    await onboard(bart)
    bart.send("/start")
    greeting = await bart.wait_for_bot_message()
    assert (greeting.text or "").startswith("Hello, Bartholomew!")
    assert guardbot.gate.refusals == type(guardbot.gate.refusals)()
