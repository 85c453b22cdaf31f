"""Consent before contact, end to end: the notice, the ledger, opt-out anywhere, /privacy, re-consent on a new
notice version, and the gate refusing marketing to anyone without valid marketing consent."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiogram.filters import Command
from aiogram.types import Message

from bot.app import Guardbot, create_guardbot
from bot.content import Recipient, Renderer
from bot.emulator import BotApiEmulator, EmulatedUser
from bot.errors import GateRefused
from bot.telegram.keyboards import unsubscribe
from config import Settings
from flows.consent import Action, Scope, Via
from tests.helpers import (
    ACCEPT,
    MARKETING_NO,
    MARKETING_YES,
    is_notice,
    logged_entries,
    make_settings,
    onboard,
    running_bot,
)

STOPPED = "Done: you will receive no more offers or news from us."
NEWSLETTER = "News from Example Shop: our winter collection is in. Have a look at example.com/winter."
REQUIRED = "Before I can answer, please read our privacy notice below and accept it with the button."


def starts(prefix: str):  # type: ignore[no-untyped-def]
    return lambda message: (message.text or "").startswith(prefix)


def consent_rows(db: Path, user_id: int) -> list[tuple[str, str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return list(
            conn.execute(
                "SELECT scope, action, notice_version, via, detail FROM consent_events "
                "WHERE user_id = ? ORDER BY id",
                (user_id,),
            )
        )


async def send_newsletter(app: Guardbot, user_id: int) -> Message:
    """What a broadcast does: render the approved template for this person and send it with the button."""
    to = Recipient(user_id, "en")
    return await app.bot.send_message(
        user_id, app.renderer.template("newsletter", to), reply_markup=unsubscribe(app.renderer, to)
    )


async def privacy_lines(user: EmulatedUser) -> str:
    user.send("/privacy")
    status = await user.wait_for_bot_message(starts("Your privacy choices:"))
    return status.text or ""


async def test_new_customer_gets_only_the_notice_until_accepting(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    sam = emulator.user(3001, first_name="Sam", language_code="pt-BR")
    sam.send("Where is my order? My name is Samuel Quartz")
    assert (await sam.wait_for_bot_message()).text == REQUIRED
    notice = await sam.wait_for_bot_message()
    assert is_notice(notice)
    # Two separate choices, nothing pre-selected.
    assert notice.buttons == [[ACCEPT], [MARKETING_YES, MARKETING_NO]]
    sam.send("/help")
    assert (await sam.wait_for_bot_message()).text == REQUIRED
    assert is_notice(await sam.wait_for_bot_message())
    sam.press_data(notice.message_id, "faq:delivery")  # a forged or old menu button
    assert is_notice(await sam.wait_for_bot_message(is_notice))
    assert not any((m.text or "").startswith("Orders placed") for m in sam.bot_messages)

    # Only the minimum was stored: no language, no words.
    with sqlite3.connect(settings.database_path) as conn:
        assert conn.execute("SELECT language_code FROM users WHERE user_id = 3001").fetchone() == (None,)
    inbound = [e for e in logged_entries(settings.audit_path) if e["type"] == "in.update" and e["subject"]]
    assert inbound
    assert all(e["content"] is None and e["data"]["content"] == "withheld: no consent" for e in inbound)
    assert b"Samuel Quartz" not in settings.audit_path.read_bytes()

    sam.press(notice.message_id, ACCEPT)
    assert (await sam.wait_for_bot_message()).text == (
        "Thank you: you accepted the privacy notice (version 2026-11). "
        "You can review your choices at any time with /privacy."
    )
    assert (await sam.wait_for_bot_message()).text.startswith("Hello, Sam!")  # type: ignore[union-attr]
    sam.send("When will my parcel be delivered?")
    assert (await sam.wait_for_bot_message()).text.startswith("Orders placed")  # type: ignore[union-attr]
    with sqlite3.connect(settings.database_path) as conn:
        assert conn.execute("SELECT language_code FROM users WHERE user_id = 3001").fetchone() == ("pt-BR",)
    assert consent_rows(settings.database_path, 3001) == [
        ("notice", "grant", "2026-11", "button", "accept_notice")
    ]
    granted = [e for e in logged_entries(settings.audit_path) if e["type"] == "consent.granted"]
    assert [(e["data"]["scope"], e["data"]["message_id"]) for e in granted] == [("notice", notice.message_id)]
    assert granted[0]["data"]["notice_digest"] == guardbot.catalog.notice.digest


async def test_marketing_needs_marketing_consent_however_it_is_sent(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    app = await create_guardbot(settings)

    # A handler that pushes marketing (as a careless feature might): the gate must stop it too. Handlers
    # on the dispatcher itself are tried before its routers.
    async def push_promo(message: Message, renderer: Renderer, recipient: Recipient) -> None:
        await message.answer(
            renderer.template("newsletter", recipient), reply_markup=unsubscribe(renderer, recipient)
        )

    app.dispatcher.message.register(push_promo, Command("promo"))
    async with running_bot(settings, app=app):
        never, yes = emulator.user(3101, first_name="Nev"), emulator.user(3102, first_name="Yas")
        stranger = emulator.user(3103, first_name="Stra")
        stranger.send("hello")
        await stranger.wait_for_bot_message(is_notice)
        await onboard(never)
        await onboard(yes, marketing=True)

        # The broadcast path: straight through the bot.
        for person in (never, stranger):
            with pytest.raises(GateRefused, match="no valid marketing consent"):
                await send_newsletter(app, person.id)
        sent = await send_newsletter(app, yes.id)
        shown = yes.message(sent.message_id)
        assert shown.text == NEWSLETTER
        assert shown.buttons == [["Unsubscribe"]]

        # Without the unsubscribe button marketing is refused even with consent.
        to = Recipient(yes.id, "en")
        with pytest.raises(GateRefused, match="unsubscribe button"):
            await app.bot.send_message(yes.id, app.renderer.template("newsletter", to))

        # The handler path.
        refused_before = len(app.gate.refusals)
        never.send("/promo")
        await emulator.wait_for(lambda: len(app.gate.refusals) == refused_before + 1)
        assert app.gate.refusals[-1].reason == "no valid marketing consent"
        assert not any(m.text == NEWSLETTER for m in never.bot_messages)
        yes.send("/promo")
        await yes.wait_for_bot_message(lambda m: m.text == NEWSLETTER and m.message_id > sent.message_id)

    refused = [e for e in logged_entries(settings.audit_path) if e["type"] == "gate.refused"]
    reasons = [e["data"]["reason"] for e in refused]
    assert reasons.count("no valid marketing consent") == 3
    assert reasons.count("marketing without an unsubscribe button") == 1
    assert sum(m.text == NEWSLETTER for m in yes.bot_messages) == 2


OPT_OUTS = ["STOP", "stop.", "Unsubscribe!", "Stopp", "ABMELDEN", "Arrêt !", "désabonner", "BAJA", "¡Alto!"]
OPT_OUTS += ["СТОП", "Отписаться", "/stop"]


async def test_every_opt_out_withdraws_marketing_at_once(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    people = [emulator.user(3200 + i, first_name=f"O{i}") for i in range(len(OPT_OUTS))]
    for person in people:
        await onboard(person, marketing=True)
        assert await guardbot.consent.may_market(person.id)
    for person, word in zip(people, OPT_OUTS, strict=True):
        person.send(word)
    for person, word in zip(people, OPT_OUTS, strict=True):
        reply = await person.wait_for_bot_message()
        assert (reply.text or "").startswith(STOPPED), word
        assert not await guardbot.consent.may_market(person.id), word
        last = consent_rows(settings.database_path, person.id)[-1]
        expected_via = "command" if word == "/stop" else "keyword"
        assert last[:4] == ("marketing", "withdraw", "2026-11", expected_via), word
    # A keyword inside a sentence is a question, not an opt-out.
    asker = emulator.user(3299, first_name="Q")
    await onboard(asker, marketing=True)
    asker.send("how do I stop my order from being delivered")
    reply = await asker.wait_for_bot_message()
    assert not (reply.text or "").startswith(STOPPED)
    assert await guardbot.consent.may_market(asker.id)


async def test_unsubscribe_button_and_an_opt_out_before_a_queued_send(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    uma, vic = emulator.user(3301, first_name="Uma"), emulator.user(3302, first_name="Vic")
    await onboard(uma, marketing=True)
    await onboard(vic, marketing=True)
    sent = await send_newsletter(guardbot, uma.id)
    uma.press(sent.message_id, "Unsubscribe")
    await uma.wait_for_bot_message(starts(STOPPED))
    assert consent_rows(settings.database_path, uma.id)[-1] == (
        "marketing",
        "withdraw",
        "2026-11",
        "button",
        "unsubscribe",
    )
    with pytest.raises(GateRefused, match="no valid marketing consent"):
        await send_newsletter(guardbot, uma.id)

    # Rendered (queued) while Vic still consented, sent after Vic said STOP: refused at send time.
    to = Recipient(vic.id, "en")
    queued = guardbot.renderer.template("newsletter", to)
    vic.send("STOP")
    await vic.wait_for_bot_message(starts(STOPPED))
    with pytest.raises(GateRefused, match="no valid marketing consent"):
        await guardbot.bot.send_message(vic.id, queued, reply_markup=unsubscribe(guardbot.renderer, to))
    assert not any(m.text == NEWSLETTER for m in vic.bot_messages)


async def test_privacy_shows_the_truth_after_each_step(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    wes = emulator.user(3401, first_name="Wes")
    wes.send("/privacy")  # allowed before consent: it is the customer's right to know
    first = await wes.wait_for_bot_message(starts("Your privacy choices:"))
    assert "• Privacy notice: not accepted (current version 2026-11)" in (first.text or "")
    assert "• Offers and news: no\n" in (first.text or "")
    assert first.buttons == [[MARKETING_YES], [ACCEPT]]

    wes.press(first.message_id, ACCEPT)
    await wes.wait_for_bot_message(starts("Hello, Wes"))
    text = await privacy_lines(wes)
    assert "• Privacy notice: accepted (version 2026-11) on " in text
    assert "• Offers and news: no\n" in text

    wes.send("/privacy")
    menu = await wes.wait_for_bot_message(starts("Your privacy choices:"))
    assert menu.buttons == [[MARKETING_YES], ["Withdraw my acceptance"]]
    wes.press(menu.message_id, MARKETING_YES)
    await wes.wait_for_bot_message(starts("You will receive offers"))
    text = await privacy_lines(wes)
    assert "• Offers and news: yes, since " in text
    assert "(valid until " in text

    wes.send("STOP")
    await wes.wait_for_bot_message(starts(STOPPED))
    text = await privacy_lines(wes)
    assert "• Offers and news: no (stopped on " in text

    wes.send("/privacy")
    menu = await wes.wait_for_bot_message(starts("Your privacy choices:"))
    wes.press(menu.message_id, "Withdraw my acceptance")
    await wes.wait_for_bot_message(starts("You withdrew your acceptance"))
    text = await privacy_lines(wes)
    assert "• Privacy notice: acceptance withdrawn on " in text
    wes.send("When will my parcel be delivered?")
    assert (await wes.wait_for_bot_message()).text == REQUIRED
    assert [row[:2] for row in consent_rows(settings.database_path, wes.id)] == [
        ("notice", "grant"),
        ("marketing", "grant"),
        ("marketing", "withdraw"),
        ("notice", "withdraw"),
    ]


async def test_a_new_notice_version_asks_again_and_stops_marketing(
    tmp_path: Path, emulator: BotApiEmulator, settings: Settings
) -> None:
    xia = emulator.user(3501, first_name="Xia")
    async with running_bot(settings) as app:
        old_notice = await onboard(xia, marketing=True)
        assert await app.consent.may_market(xia.id)

    catalog = settings.content_path.read_text().replace('version = "2026-11"', 'version = "2027-01"', 1)
    new_catalog = tmp_path / "catalog.toml"
    new_catalog.write_text(catalog.replace("(version 2026-11)", "(version 2027-01)"))
    updated = make_settings(settings.data_dir, emulator.base_url, content_path=new_catalog)
    async with running_bot(updated) as app:
        assert not await app.consent.may_market(xia.id)
        with pytest.raises(GateRefused, match="no valid marketing consent"):
            await send_newsletter(app, xia.id)
        xia.send("When will my parcel be delivered?")
        assert (await xia.wait_for_bot_message()).text == (
            "Our privacy notice has changed (now version 2027-01). Please read it and accept it again to "
            "continue. Until then you get no offers from us."
        )
        notice = await xia.wait_for_bot_message(is_notice)
        assert (notice.text or "").startswith("Privacy notice (version 2027-01)")
        text = await privacy_lines(xia)
        assert "you accepted version 2026-11 on " in text
        assert "under an older privacy notice" in text

        xia.press(notice.message_id, ACCEPT)
        await xia.wait_for_bot_message(starts("Hello, Xia"))
        assert not await app.consent.may_market(xia.id)  # the old yes does not carry over
        xia.press(notice.message_id, MARKETING_YES)
        await xia.wait_for_bot_message(starts("You will receive offers"))
        assert await app.consent.may_market(xia.id)
        await send_newsletter(app, xia.id)
        # "No offers" counts whatever notice it was pressed under; only grants are bound to the version.
        xia.press(old_notice.message_id, MARKETING_NO)
        await xia.wait_for_bot_message(starts("Understood: no offers"))
        assert not await app.consent.may_market(xia.id)

    assert [(r[0], r[1], r[2]) for r in consent_rows(settings.database_path, xia.id)] == [
        ("notice", "grant", "2026-11"),
        ("marketing", "grant", "2026-11"),
        ("notice", "grant", "2027-01"),
        ("marketing", "grant", "2027-01"),
        ("marketing", "withdraw", "2027-01"),
    ]


async def test_an_old_notice_button_cannot_accept_the_new_notice(
    tmp_path: Path, emulator: BotApiEmulator, settings: Settings
) -> None:
    yan = emulator.user(3601, first_name="Yan")
    async with running_bot(settings):
        yan.send("/start")
        old_notice = await yan.wait_for_bot_message(is_notice)
    new_catalog = tmp_path / "catalog.toml"
    new_catalog.write_text(
        settings.content_path.read_text().replace('version = "2026-11"', 'version = "2027-01"', 1)
    )
    async with running_bot(
        make_settings(settings.data_dir, emulator.base_url, content_path=new_catalog)
    ) as app:
        yan.press(old_notice.message_id, ACCEPT)
        assert is_notice(await yan.wait_for_bot_message(is_notice))
        assert not await app.consent.may_chat(yan.id)
    assert consent_rows(settings.database_path, yan.id) == []


async def test_a_blocked_customer_is_not_sent_anything_until_they_write_again(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    zed = emulator.user(3701, first_name="Zed")
    await onboard(zed, marketing=True)
    zed.block(notify=False)  # Telegram does not always tell: the 403 on the next send does
    calls_before = len(emulator.calls_to("sendMessage"))
    with pytest.raises(Exception, match="Forbidden"):
        await send_newsletter(guardbot, zed.id)
    assert guardbot.customers.unreachable(zed.id)
    with pytest.raises(GateRefused, match="blocked the bot"):
        await send_newsletter(guardbot, zed.id)
    assert len(emulator.calls_to("sendMessage")) == calls_before + 1  # the second never left
    with sqlite3.connect(settings.database_path) as conn:
        assert conn.execute(
            "SELECT blocked_at IS NOT NULL FROM users WHERE user_id = ?", (zed.id,)
        ).fetchone() == (1,)

    zed.unblock(notify=False)
    zed.send("hello again")
    await zed.wait_for_bot_message()
    assert not guardbot.customers.unreachable(zed.id)
    await send_newsletter(guardbot, zed.id)


async def test_telegram_saying_the_bot_was_blocked_marks_the_customer(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    amy = emulator.user(3702, first_name="Amy")
    await onboard(amy)
    amy.block()  # with the my_chat_member update
    await emulator.wait_for(lambda: guardbot.customers.unreachable(amy.id))
    with pytest.raises(GateRefused, match="blocked the bot"):
        await guardbot.bot.send_message(amy.id, guardbot.renderer.text("help.menu", Recipient(amy.id, "en")))


async def test_an_opt_out_stops_a_marketing_send_already_under_way(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    """The send passed its consent check and is waiting for its audit record when STOP is handled: it must
    not go out (the gate checks again once the call is recorded)."""
    una = emulator.user(3801, first_name="Una")
    await onboard(una, marketing=True)
    withdrawal = asyncio.create_task(
        guardbot.consent.record(una.id, Scope.MARKETING, Action.WITHDRAW, via=Via.KEYWORD, detail="stop")
    )
    with pytest.raises(GateRefused, match="no valid marketing consent"):
        await send_newsletter(guardbot, una.id)
    await withdrawal
    assert not any(m.text == NEWSLETTER for m in una.bot_messages)
    call = next(e for e in reversed(logged_entries(settings.audit_path)) if e["type"] == "out.call")

    def result_of_call() -> dict[str, Any] | None:
        logged = logged_entries(settings.audit_path)
        return next(
            (e for e in logged if e["type"] == "out.result" and e["data"]["call"] == call["seq"]), None
        )

    await emulator.wait_for(lambda: result_of_call() is not None)
    result = result_of_call()
    assert result is not None
    assert result["data"]["ok"] is False
    assert result["data"]["error"] == "GateRefused"
