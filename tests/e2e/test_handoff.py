"""Handoff to a person, end to end with two agents and three customers: exclusive take under a real race,
relay both ways, the bot silent meanwhile, agent text reaching only its customer and passing the gate's
checks, close, and the audit log telling the story."""

from __future__ import annotations

from bot.app import Guardbot
from bot.emulator import BotApiEmulator, ChatMessage, EmulatedUser
from config import Settings
from tests.helpers import ADMIN_ID, AGENT_ID, logged_entries, onboard

AGENT_2 = 905
PHONE = "+44 7700 900456"


def starts(prefix: str):  # type: ignore[no-untyped-def]
    return lambda message: (message.text or "").startswith(prefix)


async def say(user: EmulatedUser, text: str, expect: str) -> ChatMessage:
    user.send(text)
    return await user.wait_for_bot_message(starts(expect))


async def test_two_agents_three_customers(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    admin = emulator.user(ADMIN_ID, first_name="Ada")
    await say(admin, f"/roles grant {AGENT_2} agent", f"Granted agent to {AGENT_2}")
    ali, bea = emulator.user(AGENT_ID, first_name="Ali"), emulator.user(AGENT_2, first_name="Bea")
    for agent in (ali, bea):
        await say(agent, "/queue", "No open tickets.")
    ann = emulator.user(8101, first_name="Ann")
    ben = emulator.user(8102, first_name="Ben")
    cyd = emulator.user(8103, first_name="Cyd", last_name="Moss")
    for customer in (ann, ben, cyd):
        await onboard(customer)
    await guardbot.customers.add_identifier(cyd.id, "phone", PHONE)

    await say(ann, "My order ORD-5521 never came, call me on +49 1512 3456789", "")
    await say(ann, "/agent", "A colleague will answer you here as soon as possible (you are number 1")
    for agent in (ali, bea):
        new = await agent.wait_for_bot_message(starts("New ticket #1: Ann (en)"))
        assert "Moss" not in (new.text or "") and str(ann.id) not in (new.text or "")
        assert "My order ORD-5521 never came, call me on [phone" in (new.text or "")  # context, masked
        assert "3456789" not in (new.text or "")
    ben.send("/help")  # the menu's button does what /agent does
    menu = await ben.wait_for_bot_message(starts("Here is what I can help with"))
    ben.press(menu.message_id, "🙋 Talk to a person")
    await ben.wait_for_bot_message(
        starts("A colleague will answer you here as soon as possible (you are number 2")
    )
    listing = await say(ali, "/queue", "Open tickets:")
    assert "#1, waiting" in (listing.text or "") and "#2, waiting" in (listing.text or "")

    # A real race: both take ticket 1 in the same batch of updates; exactly one wins.
    ali.send("/take 1")
    bea.send("/take 1")
    results = [
        await ali.wait_for_bot_message(lambda m: (m.text or "").startswith(("You took", "Ticket #1 was"))),
        await bea.wait_for_bot_message(lambda m: (m.text or "").startswith(("You took", "Ticket #1 was"))),
    ]
    winners = [(m.text or "").startswith("You took ticket #1 (Ann)") for m in results]
    assert sorted(winners) == [False, True]
    holder, other = (ali, bea) if winners[0] else (bea, ali)
    await ann.wait_for_bot_message(starts("A colleague has joined the conversation"))
    await holder.wait_for_bot_message(starts("Reminder: conversations with customers are recorded"))

    # The customer's words go to the holder only, masked; the bot says nothing itself.
    before = len(ann.bot_messages)
    ann.send("When will my parcel be delivered? Mail me at ann@example.org")
    relayed = await holder.wait_for_bot_message(starts("#1 Ann:"))
    assert "When will my parcel be delivered?" in (relayed.text or "")
    assert "plain text goes to #1." in (relayed.text or "")
    assert "ann@example.org" not in (relayed.text or "") and "[email " in (relayed.text or "")
    other_before = len(other.bot_messages)

    # The holder's text reaches Ann, and only Ann.
    holder.send("Your parcel left our warehouse today.")
    reply = await ann.wait_for_bot_message(starts("Your parcel left"))
    assert reply.text == "Your parcel left our warehouse today."
    assert len(ann.bot_messages) == before + 1  # no FAQ answer of the bot's own to her question
    for bystander in (ben, cyd):
        assert not any("warehouse today" in (m.text or "") for m in bystander.bot_messages)
    assert len(other.bot_messages) == other_before

    # Another customer's phone number is refused, and the agent is told why; Ann gets nothing.
    holder.send(f"You can also call Cyd on {PHONE}")
    refused = await holder.wait_for_bot_message(starts("Not sent: the outbound checks stopped your message"))
    assert "(foreign_personal_data: phone)" in (refused.text or "")
    assert not any(PHONE in (m.text or "") for m in ann.bot_messages)

    # The other agent holds nothing: their text goes nowhere.
    await say(other, "hello?", "You hold no ticket")

    # A customer cannot take tickets.
    await say(cyd, "/take 2", "Sorry, this command is only for staff")

    # Her opt-out is honoured at once, and the agent is told.
    await say(ann, "STOP", "Done: you will receive no more offers")
    await holder.wait_for_bot_message(starts("The customer of ticket #1 opted out of offers"))

    # Close: Ann is told, and the bot answers her again.
    await say(holder, "/close", "Ticket #1 is closed")
    await ann.wait_for_bot_message(starts("Our colleague has closed this conversation"))
    await say(ann, "When will my parcel be delivered?", "Orders placed before 14:00")

    logged = logged_entries(settings.audit_path)
    story = [e["type"] for e in logged if e["type"].startswith("ticket.")]
    assert story == ["ticket.opened", "ticket.opened", "ticket.taken", "ticket.closed"]
    refusals = [e for e in logged if e["type"] == "staff.refused"]
    assert [e["data"]["command"] for e in refusals] == ["take"]
    assert any(
        e["data"].get("reason") == "personal data of another customer: phone"
        for e in logged
        if e["type"] == "gate.refused"
    )
