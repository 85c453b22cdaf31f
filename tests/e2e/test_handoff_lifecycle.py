"""Handoff beyond the basics: approved replies rendered per customer, transfer, rating, escalation and idle
timeouts on a moved clock, /forget mid-ticket, an agent losing the role, and AGENT_FREE_TEXT=deny."""

from __future__ import annotations

import tomllib

from bot.app import create_guardbot
from bot.emulator import BotApiEmulator, ChatMessage, EmulatedUser
from config import DEFAULT_CONTENT_PATH, Settings
from tests.helpers import (
    ADMIN_ID,
    AGENT_ID,
    COMPLIANCE_ID,
    MovableClock,
    logged_entries,
    make_settings,
    onboard,
    running_bot,
)

AGENT_2 = 905
CATALOG = tomllib.loads(DEFAULT_CONTENT_PATH.read_text())


def starts(prefix: str):  # type: ignore[no-untyped-def]
    return lambda message: (message.text or "").startswith(prefix)


async def say(user: EmulatedUser, text: str, expect: str) -> ChatMessage:
    user.send(text)
    return await user.wait_for_bot_message(starts(expect))


async def onboard_de(user: EmulatedUser) -> None:
    user.send("/start")
    notice = await user.wait_for_bot_message()
    user.press(notice.message_id, 0)
    await user.wait_for_bot_message(starts("Hallo"))


async def test_reply_transfer_rating_and_forget(emulator: BotApiEmulator, settings: Settings) -> None:
    clock = MovableClock()
    async with running_bot(settings, app=await create_guardbot(settings, clock)) as app:
        admin = emulator.user(ADMIN_ID, first_name="Ada")
        await say(admin, f"/roles grant {AGENT_2} agent", "Granted")
        ali, bea = emulator.user(AGENT_ID, first_name="Ali"), emulator.user(AGENT_2, first_name="Bea")
        for agent in (ali, bea):
            await say(agent, "/queue", "No open tickets.")
        dora = emulator.user(8201, first_name="Dora", language_code="de")
        await onboard_de(dora)
        await say(dora, "/agent", "Eine Kollegin")
        await say(ali, "/take 1", "You took ticket #1 (Dora)")

        # An approved answer, rendered for the customer: in German.
        await say(ali, "/reply nope", "Usage: /reply KEY")
        ali.send("/reply returns")
        answer = await dora.wait_for_bot_message(
            lambda m: "Rücksendung" in (m.text or "") or "30 Tag" in (m.text or "")
        )
        assert answer.text == CATALOG["answers"]["returns"]["text"]["de"]

        # Transfer to Bea: her text now reaches Dora, Ali's does not.
        await say(ali, f"/transfer 1 {COMPLIANCE_ID}", f"{COMPLIANCE_ID} is not an agent")
        await say(ali, f"/transfer 1 {AGENT_2}", f"Ticket #1 now belongs to agent {AGENT_2}")
        await bea.wait_for_bot_message(starts("A colleague handed you ticket #1 (Dora)"))
        await say(ali, "still there?", "You hold no ticket")
        bea.send("Hello Dora, this is Bea.")
        await dora.wait_for_bot_message(starts("Hello Dora, this is Bea."))

        # Close with a rating.
        await say(bea, "/close", "Ticket #1 is closed")
        closed = await dora.wait_for_bot_message(starts("Unser Team hat dieses Gespräch beendet"))
        assert len(closed.buttons[0]) == 3
        dora.press(closed.message_id, 0)
        await emulator.wait_for(
            lambda: any(e["type"] == "ticket.rated" for e in logged_entries(settings.audit_path))
        )

        # /forget during a ticket: honoured, and the agent is told.
        await say(dora, "/agent", "Eine Kollegin")
        await say(bea, "/take 2", "You took ticket #2")
        dora.send("/forget")
        ask = await dora.wait_for_bot_message(lambda m: bool(m.buttons))
        dora.press(ask.message_id, 0)
        await bea.wait_for_bot_message(starts("The customer of ticket #2 ended the conversation"))
        assert app.tickets.held(dora.id) is None

    story = [e["type"] for e in logged_entries(settings.audit_path) if e["type"].startswith("ticket.")]
    assert story == [
        "ticket.opened",
        "ticket.taken",
        "ticket.transferred",
        "ticket.closed",
        "ticket.rated",
        "ticket.opened",
        "ticket.taken",
        "ticket.closed",
    ]


async def test_escalation_idle_close_and_losing_the_role(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    clock = MovableClock()
    async with running_bot(settings, app=await create_guardbot(settings, clock)) as app:
        ali = emulator.user(AGENT_ID, first_name="Ali")
        officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
        admin = emulator.user(ADMIN_ID, first_name="Ada")
        for staff in (ali, officer, admin):
            await say(staff, "/start", "Hello")
        eli, fay = emulator.user(8301, first_name="Eli"), emulator.user(8302, first_name="Fay")
        await onboard(eli)
        await onboard(fay)
        await say(eli, "/agent", "A colleague will answer")
        await say(fay, "/agent", "A colleague will answer")
        await say(ali, "/take 2", "You took ticket #2 (Fay)")

        clock.offset = settings.handoff_escalate_minutes * 60 + 5
        await app.handoff_watch.run_once(app.bot)
        await ali.wait_for_bot_message(starts("Ticket #1 has been waiting for"))
        await officer.wait_for_bot_message(starts("Ticket #1 has been waiting for"))
        await app.handoff_watch.run_once(app.bot)  # announced once, not every minute
        assert sum("has been waiting" in (m.text or "") for m in officer.bot_messages) == 1

        clock.offset += settings.handoff_idle_minutes * 60
        await app.handoff_watch.run_once(app.bot)
        await fay.wait_for_bot_message(starts("Our colleague has closed this conversation"))
        await ali.wait_for_bot_message(starts("Ticket #2 was closed after no activity"))
        await say(fay, "When will my parcel be delivered?", "Orders placed")  # the bot answers again

        await say(ali, "/take 1", "You took ticket #1 (Eli)")
        await say(admin, f"/roles revoke {AGENT_ID} agent", "Revoked agent")
        assert app.tickets.held(eli.id) is None
        assert [t.id for t in await app.tickets.queue()] == [1]
        await say(eli, "When will my parcel be delivered?", "Orders placed")


async def test_agent_free_text_can_be_switched_off(emulator: BotApiEmulator, settings: Settings) -> None:
    deny = make_settings(settings.data_dir, emulator.base_url, agent_free_text="deny")
    async with running_bot(deny):
        ali = emulator.user(AGENT_ID, first_name="Ali")
        gus = emulator.user(8401, first_name="Gus")
        await onboard(gus)
        await say(gus, "/agent", "A colleague will answer")
        await say(ali, "/take 1", "You took ticket #1")
        await gus.wait_for_bot_message(starts("A colleague has joined"))
        before = len(gus.bot_messages)
        await say(ali, "I can give you 5 euros back", "Free text to customers is switched off here")
        ali.send("/reply returns")
        await gus.wait_for_bot_message(starts("You can return any item"))
        assert len(gus.bot_messages) == before + 1


async def test_an_agent_with_two_tickets_answers_by_replying(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    async with running_bot(settings):
        ali = emulator.user(AGENT_ID, first_name="Ali")
        await say(ali, "/queue", "No open tickets.")
        hana, ivo = emulator.user(8501, first_name="Hana"), emulator.user(8502, first_name="Ivo")
        for customer in (hana, ivo):
            await onboard(customer)
            await say(customer, "/agent", "A colleague will answer")
        await say(ali, "/take 1", "You took ticket #1 (Hana)")
        await say(ali, "/take 2", "You took ticket #2 (Ivo)")  # now the current one
        hana.send("Is my refund on its way?")
        relayed = await ali.wait_for_bot_message(starts("#1 Hana:"))
        ali.send("Yes Hana, it left yesterday.", reply_to=relayed.message_id)
        await hana.wait_for_bot_message(starts("Yes Hana, it left yesterday."))
        ali.send("Hello Ivo, how can I help?")
        await ivo.wait_for_bot_message(starts("Hello Ivo"))
        assert not any("Yes Hana" in (m.text or "") for m in ivo.bot_messages)
        assert not any("Hello Ivo" in (m.text or "") for m in hana.bot_messages)


async def test_review_mode_needs_a_compliance_officers_approval(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    review = make_settings(settings.data_dir, emulator.base_url, agent_free_text="review")
    async with running_bot(review):
        ali, cora = emulator.user(AGENT_ID, first_name="Ali"), emulator.user(COMPLIANCE_ID, first_name="Cora")
        await say(cora, "/start", "Hello")
        jan = emulator.user(8601, first_name="Jan")
        await onboard(jan)
        await say(jan, "/agent", "A colleague will answer")
        await say(ali, "/take 1", "You took ticket #1")
        await jan.wait_for_bot_message(starts("A colleague has joined"))
        before = len(jan.bot_messages)

        await say(ali, "Your replacement ships on Monday.", "Your reply waits for review as R1")
        await cora.wait_for_bot_message(starts("An agent's reply R1 waits for your review"))
        assert len(jan.bot_messages) == before  # nothing reached the customer yet
        await say(ali, "/approve R1", "Sorry, this command is only for staff")  # not a compliance officer
        listed = await say(cora, "/pending", "Reply R1 by")
        assert "Your replacement ships on Monday." in (listed.text or "")
        await say(cora, "/approve R1", "Reply R1 was approved and sent.")
        await jan.wait_for_bot_message(starts("Your replacement ships on Monday."))
        await ali.wait_for_bot_message(starts("Reply R1 was approved and sent."))
        await say(cora, "/approve R1", "Proposal #1 is not pending")

        await say(ali, "We can refund you twice over.", "Your reply waits for review as R2")
        await say(cora, "/reject R2", "Usage: /approve ID")
        await say(cora, "/reject R2 not our policy", "Reply R2 was rejected")
        await ali.wait_for_bot_message(starts("Reply R2 was rejected"))
        assert not any("twice over" in (m.text or "") for m in jan.bot_messages)

    kinds = [e["type"] for e in logged_entries(settings.audit_path) if e["type"].startswith("reply.")]
    assert kinds == ["reply.proposed", "reply.approved", "reply.proposed", "reply.rejected"]
