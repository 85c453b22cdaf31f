"""Approved offers end to end: a marketer proposes, four eyes approve, customers get the offer with a
verification code, /verify and forwarding check it, and nothing unapproved, rejected or expired is served."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Guardbot, create_guardbot
from bot.content import Recipient
from bot.emulator import BotApiEmulator, ChatMessage, EmulatedUser
from bot.errors import GateRefused
from bot.services.offers import terms_of
from config import Settings
from flows.offers import Offer
from tests.helpers import (
    ADMIN_ID,
    COMPLIANCE_2_ID,
    COMPLIANCE_ID,
    DAY,
    MARKETER_ID,
    MovableClock,
    guardbot_cli,
    logged_entries,
    onboard,
    running_bot,
)

OFFER_TEXT = "Winter deal: 20% off all scarves with code SCARF20."
CHECK = re.compile(r"V-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")


def starts(prefix: str):  # type: ignore[no-untyped-def]
    return lambda message: (message.text or "").startswith(prefix)


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


async def say(user: EmulatedUser, text: str, expect: str) -> ChatMessage:
    user.send(text)
    return await user.wait_for_bot_message(starts(expect))


async def propose(author: EmulatedUser, text: str, discount: str, code: str, until: str) -> int:
    """The guided /offer_new flow, as a marketer types it; returns the proposal number."""
    await say(author, "/offer_new", "Propose an offer")
    await say(author, text, "What discount")
    await say(author, discount, "Which promo code")
    await say(author, code, "Valid until")
    audience = await say(author, until, "Who may see")
    author.press(audience.message_id, 0)
    preview = await author.wait_for_bot_message(starts("Your proposal"))
    assert text in (preview.text or "")
    author.press(preview.message_id, "Submit for approval")
    submitted = await author.wait_for_bot_message(starts("Submitted as proposal #"))
    found = re.search(r"#(\d+)", submitted.text or "")
    assert found is not None
    return int(found.group(1))


def card_check(card: ChatMessage) -> str:
    found = CHECK.search(card.text or "")
    assert found is not None, card.text
    return found.group(0)


async def test_propose_approve_serve_and_verify(emulator: BotApiEmulator, settings: Settings) -> None:
    clock = MovableClock()
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    ann, ben = emulator.user(5101, first_name="Ann"), emulator.user(5102, first_name="Ben")
    async with running_bot(settings, app=await create_guardbot(settings, clock)) as app:
        await say(officer, "/start", "Hello")  # staff start the bot once, so it may write to them
        await onboard(ann)
        await onboard(ben)
        await say(ann, "/offers", "There are no offers")

        number = await propose(marketer, OFFER_TEXT, "20%", "scarf20", in_days(30))
        notice = await officer.wait_for_bot_message(starts(f"Proposal #{number} is waiting"))
        assert notice is not None
        # Pending is not served.
        await say(ann, "/offers", "There are no offers")
        # The marketer has no compliance role; and an author can never approve their own proposal.
        await say(marketer, f"/approve {number}", "Sorry, this command is only for staff")
        listed = await say(officer, "/pending", f"Proposal #{number}")
        assert OFFER_TEXT in (listed.text or "")
        await say(officer, f"/approve {number}", f"Approved proposal #{number}")
        await marketer.wait_for_bot_message(starts(f"Your proposal #{number} was approved"))
        await say(officer, f"/approve {number}", f"Proposal #{number} is not pending")

        card = await say(ann, "/offers", OFFER_TEXT)
        assert "SCARF20" in (card.text or "")
        check = card_check(card)
        assert not card.protect_content  # customers may forward it to check it

        await say(ann, f"/verify {check}", "Genuine:")
        await say(ann, f"/verify {check.lower().replace('-', ' ')}", "Genuine:")
        await say(ben, f"/verify {check}", "This code is genuine but was not issued to you")
        changed = check[:-1] + ("A" if check[-1] != "A" else "B")
        await say(ann, f"/verify {changed}", "We did not issue this code")
        await say(ann, "/verify", "Send /verify followed by")

        # Forwarding the offer message checks it too; a rogue account's "70% off" does not pass.
        ann.forward(card)
        await ann.wait_for_bot_message(starts("Genuine:"))
        rogue = emulator.user(6666, first_name="Example Shop Deals")
        fake = rogue.send("70% off everything today only! Verify: V-ABCD-EFGH-IJKL")
        ann.forward(fake)
        await ann.wait_for_bot_message(starts("We did not issue this code"))
        ann.forward(rogue.send("90% off, trust me"))
        await ann.wait_for_bot_message(starts("This forwarded message carries no verification code"))

        # Expired: not served, and the code says so.
        clock.offset = 31 * DAY
        await say(ann, "/offers", "There are no offers")
        await say(ann, f"/verify {check}", "This offer has expired or was withdrawn")
        offer = next(o for o in app.offers.in_force() if o.key == f"runtime:{number}")
        with pytest.raises(GateRefused, match="unapproved"):
            await app.bot.send_message(ann.id, app.renderer.offer_card(offer, Recipient(ann.id, "en"), check))

    logged = logged_entries(settings.audit_path)
    kinds = [e["type"] for e in logged if e["type"].startswith("proposal.")]
    assert kinds == ["proposal.created", "proposal.approved"]
    sent = [e for e in logged if e["type"] == "out.call" and e["data"]["renderings"][:1]]
    assert any(e["data"]["renderings"][0]["key"] == f"offer:runtime:{number}" for e in sent)
    with sqlite3.connect(settings.database_path) as conn:
        deliveries = conn.execute("SELECT user_id, offer_key, code FROM offer_deliveries").fetchall()
    assert deliveries == [(ann.id, f"runtime:{number}", check)]


async def test_an_author_never_approves_their_own_and_rejected_is_never_served(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    admin = emulator.user(ADMIN_ID, first_name="Ada")  # admin holds every role, four eyes still apply
    officer = emulator.user(COMPLIANCE_2_ID, first_name="Otto")
    cat = emulator.user(5201, first_name="Cat")
    await say(admin, "/start", "Hello")
    await onboard(cat, marketing=True)

    number = await propose(admin, "Flash sale: 40% off lamps with code LAMP40.", "40", "LAMP40", in_days(5))
    await say(admin, f"/approve {number}", f"You cannot decide on proposal #{number}: you proposed it")
    await say(officer, f"/reject {number}", "Usage: /approve ID")  # a reason is required
    await say(officer, f"/reject {number} discount too high", f"Rejected proposal #{number}")
    await admin.wait_for_bot_message(starts(f"Your proposal #{number} was rejected"))
    await say(cat, "/offers", "There are no offers")
    await say(officer, "/approve 999", "There is no proposal #999")

    # Even a handler that rendered the rejected offer could not send it: its discount is not approved.
    row = await guardbot.offers.proposal(number)
    assert row is not None
    rejected = Offer(f"runtime:{number}", terms_of(row))
    card = guardbot.renderer.offer_card(
        rejected, Recipient(cat.id, "en"), guardbot.offers.code_for(rejected, cat.id)
    )
    with pytest.raises(GateRefused, match="unapproved discount or price"):
        await guardbot.bot.send_message(cat.id, card)

    refused = [e for e in logged_entries(settings.audit_path) if e["type"] == "proposal.refused_own"]
    assert len(refused) == 1


async def test_an_approval_binds_to_the_exact_terms(emulator: BotApiEmulator, settings: Settings) -> None:
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    dan = emulator.user(5301, first_name="Dan")
    async with running_bot(settings):
        await onboard(dan)
        number = await propose(marketer, "Spring: 10% off tea with code TEA10.", "10", "TEA10", in_days(10))
        await say(officer, f"/approve {number}", f"Approved proposal #{number}")
        await say(dan, "/offers", "Spring: 10% off tea")
    # Someone edits the approved terms in the database (70% instead of 10%).
    with sqlite3.connect(settings.database_path) as conn:
        payload = conn.execute("SELECT payload FROM proposals WHERE id = ?", (number,)).fetchone()[0]
        conn.execute(
            "UPDATE proposals SET payload = ? WHERE id = ?",
            (payload.replace('"discount": 10', '"discount": 70'), number),
        )
    async with running_bot(settings) as app:
        assert app.offers.eligible_for(locale="en", marketing=True) == [
            o for o in app.offers.in_force() if o.key.startswith("catalog:")
        ]
        await say(dan, "/offers", "There are no offers")


async def test_editing_an_approved_offer_needs_approval_again(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    eve = emulator.user(5601, first_name="Eve")
    await onboard(eve)
    number = await propose(marketer, "Autumn: 10% off boots with code BOOT10.", "10", "BOOT10", in_days(9))
    await say(officer, f"/approve {number}", f"Approved proposal #{number}")
    old_check = card_check(await say(eve, "/offers", "Autumn: 10% off boots"))

    await say(marketer, "/offer_edit", "Usage: /offer_edit ID")
    await say(marketer, "/offer_edit 4242", "There is no proposal #4242")
    marketer.send(f"/offer_edit {number}")
    await marketer.wait_for_bot_message(starts("Propose an offer"))
    await say(marketer, "Autumn: 25% off boots with code BOOT25.", "What discount")
    await say(marketer, "25", "Which promo code")
    await say(marketer, "BOOT25", "Valid until")
    audience = await say(marketer, in_days(9), "Who may see")
    marketer.press(audience.message_id, 0)
    preview = await marketer.wait_for_bot_message(starts("Your proposal"))
    marketer.press(preview.message_id, "Submit for approval")
    await marketer.wait_for_bot_message(starts(f"Submitted as proposal #{number}"))

    await say(eve, "/offers", "There are no offers")  # out of service until approved again
    await say(eve, f"/verify {old_check}", "This offer has expired or was withdrawn")
    await say(officer, f"/approve {number}", f"Approved proposal #{number}")
    card = await say(eve, "/offers", "Autumn: 25% off boots")
    await say(eve, f"/verify {card_check(card)}", "Genuine:")
    kinds = [e["type"] for e in logged_entries(settings.audit_path) if e["type"].startswith("proposal.")]
    assert kinds == ["proposal.created", "proposal.approved", "proposal.revised", "proposal.approved"]


async def test_withdrawing_stops_an_offer_and_a_proposal_with_forbidden_content_is_sent_back(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    fin = emulator.user(5701, first_name="Fin")
    await onboard(fin)
    number = await propose(marketer, "Gift: 5% off mugs with code MUG5X.", "5", "MUG5X", in_days(3))
    await say(officer, f"/approve {number}", f"Approved proposal #{number}")
    check = card_check(await say(fin, "/offers", "Gift: 5% off mugs"))
    await say(marketer, f"/offer_withdraw {number}", f"Proposal #{number} is withdrawn")
    await say(fin, "/offers", "There are no offers")
    await say(fin, f"/verify {check}", "This offer has expired or was withdrawn")
    await say(marketer, f"/offer_withdraw {number}", f"Proposal #{number} is not pending")
    await say(marketer, "/offer_withdraw x", "Usage: /offer_withdraw ID")

    # A card number typed into the chat is deleted before it reaches the flow (which still waits for a text).
    await say(marketer, "/offer_new", "Propose an offer")
    await say(marketer, "Pay with card 4111 1111 1111 1111 for 10% off.", "For your security I deleted")
    # A proposal naming another customer never reaches anyone, not even its preview; the marketer is told why.
    bart = emulator.user(5702, first_name="Bartholomew", last_name="Quince")
    await onboard(bart)
    await say(marketer, "Dear Bartholomew Quince: 10% off for you.", "What discount")
    await say(marketer, "10", "Which promo code")
    await say(marketer, "CARD10", "Valid until")
    audience = await say(marketer, in_days(3), "Who may see")
    marketer.press(audience.message_id, 0)
    refused = await marketer.wait_for_bot_message(starts("This offer text cannot be used"))
    assert "(foreign_personal_data: name)" in (refused.text or "")
    assert "Quince" not in (refused.text or "")
    await say(marketer, "Clean text: 10% off with code CARD10.", "What discount")  # back at the text step


async def test_a_code_issued_before_a_key_rotation_still_verifies(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    gwen, hal = emulator.user(5801, first_name="Gwen"), emulator.user(5802, first_name="Hal")
    async with running_bot(settings):
        await onboard(gwen)
        await onboard(hal)
        number = await propose(marketer, "Tea time: 15% off with code TEA15.", "15", "TEA15", in_days(20))
        await say(officer, f"/approve {number}", f"Approved proposal #{number}")
        check = card_check(await say(gwen, "/offers", "Tea time"))
    rotated = guardbot_cli("keys", "rotate", "--data-only", data_dir=settings.data_dir)
    assert rotated.returncode == 0, rotated.stderr
    async with running_bot(settings) as app:
        offer = next(o for o in app.offers.in_force() if o.key == f"runtime:{number}")
        assert app.offers.code_for(offer, gwen.id) != check  # a new key: new codes from now on
        await say(gwen, f"/verify {check}", "Genuine:")
        await say(hal, f"/verify {check}", "This code is genuine but was not issued to you")
