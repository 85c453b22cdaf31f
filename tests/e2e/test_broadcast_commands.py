"""The staff side of broadcasts (issue #8), end to end through the emulator: a marketer proposes one with
`/broadcast_new` (content, language, tags, send time, coupons), sees its preview and dry run, and submits
it; another compliance officer approves or rejects it (`/pending`, `/approve B1`, `/reject B1 REASON`);
`/broadcast_status` and `/broadcast_cancel` follow and stop it.

Every broadcast here is scheduled for tomorrow, so an engine running beside the bot never sends one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import Guardbot
from bot.content import Recipient
from bot.emulator import BotApiEmulator, ChatMessage, EmulatedUser
from bot.services.broadcasts import plan_of
from bot.telegram.broadcast_texts import progress_text, report_finished, report_stopped
from config import Settings
from flows.broadcasts import ContentKind, Plan, Progress, Status
from tests.helpers import (
    AGENT_ID,
    COMPLIANCE_2_ID,
    COMPLIANCE_ID,
    MARKETER_ID,
    logged_entries,
    make_settings,
    onboard,
    running_bot,
)

NEWSLETTER = "News from Example Shop: our winter collection is in."
OFFER_TEXT = "Tea week: 15% off every tea with code TEA15."
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")


def starts(prefix: str) -> Callable[[ChatMessage], bool]:
    return lambda message: (message.text or "").startswith(prefix)


def at(day: str, clock: str) -> float:
    """A local time in the test deployment's time zone (UTC) as the desk stores it."""
    return datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=UTC).timestamp()


async def say(user: EmulatedUser, text: str, expect: str) -> ChatMessage:
    user.send(text)
    return await user.wait_for_bot_message(starts(expect))


def lines(message: ChatMessage) -> list[str]:
    return (message.text or "").splitlines()


async def seed_customers(emulator: BotApiEmulator, app: Guardbot) -> dict[str, EmulatedUser]:
    """Six customers, one for each thing the dry run counts:

    ann, ben (English) and cat (German) agreed to marketing; dan never did; fay agreed and then sent /stop;
    gus agreed and then blocked the bot. ann is tagged `vip` and dan `berlin`."""
    people = {
        "gus": emulator.user(7106, first_name="Gus"),
        "ann": emulator.user(7101, first_name="Ann", language_code="en"),
        "ben": emulator.user(7102, first_name="Ben", language_code="en"),
        "cat": emulator.user(7103, first_name="Cat", language_code="de"),
        "dan": emulator.user(7104, first_name="Dan", language_code="en"),
        "fay": emulator.user(7105, first_name="Fay", language_code="en"),
    }
    gus = people["gus"]
    await onboard(gus, marketing=True)
    gus.block()
    await emulator.wait_for(lambda: app.customers.unreachable(gus.id))
    for name in ("ann", "ben", "fay"):
        await onboard(people[name], marketing=True)
    await say(people["fay"], "/stop", "Done: you will receive no more offers")
    people["cat"].send("/start")
    notice = await people["cat"].wait_for_bot_message(starts("Datenschutzhinweis"))
    people["cat"].press(notice.message_id, 0)
    await people["cat"].wait_for_bot_message(starts("Hallo, "))
    people["cat"].press(notice.message_id, 1)
    await people["cat"].wait_for_bot_message(starts("Sie erhalten"))
    await onboard(people["dan"])
    now = app.clock.now()
    await app.repository.set_customer_attributes(people["ann"].id, time_zone=None, tags=["vip"], now=now)
    await app.repository.set_customer_attributes(people["dan"].id, time_zone=None, tags=["berlin"], now=now)
    return people


async def start_staff(*staff: EmulatedUser) -> None:
    """Staff start the bot once, so that it may write to them (notices)."""
    for person in staff:
        await say(person, "/start", "Hello")


def broadcast_number(message: ChatMessage) -> int:
    found = re.search(r"\bB(\d+)\b", message.text or "")
    assert found is not None, message.text
    return int(found.group(1))


async def propose_offer(marketer: EmulatedUser, officer: EmulatedUser) -> int:
    """An offer, proposed and approved as in tests/e2e/test_offers.py; its proposal number."""
    until = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%d")
    await say(marketer, "/offer_new", "Propose an offer")
    await say(marketer, OFFER_TEXT, "What discount")
    await say(marketer, "15", "Which promo code")
    await say(marketer, "TEA15", "Valid until")
    audience = await say(marketer, until, "Who may see")
    marketer.press(audience.message_id, 0)
    preview = await marketer.wait_for_bot_message(starts("Your proposal"))
    marketer.press(preview.message_id, "Submit for approval")
    submitted = await marketer.wait_for_bot_message(starts("Submitted as proposal #"))
    found = re.search(r"#(\d+)", submitted.text or "")
    assert found is not None
    await say(officer, f"/approve {found.group(1)}", "Approved proposal")
    await marketer.wait_for_bot_message(starts("Your proposal"))
    return int(found.group(1))


async def test_a_template_broadcast_is_previewed_with_its_dry_run_and_ends_pending(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer, second = emulator.user(COMPLIANCE_ID, first_name="Cora"), emulator.user(COMPLIANCE_2_ID)
    await start_staff(officer, second)
    await seed_customers(emulator, guardbot)

    choices = await say(marketer, "/broadcast_new", "New broadcast.")
    assert choices.buttons == [["📣 Template: newsletter"]]  # no offer is valid now
    marketer.press(choices.message_id, "📣 Template: newsletter")
    languages = await marketer.wait_for_bot_message(starts("Which language?"))
    assert languages.buttons == [["🌍 All languages"], ["🗣 en", "🗣 de", "🗣 ru"]]
    marketer.press(languages.message_id, "🌍 All languages")
    await marketer.wait_for_bot_message(starts("Only customers with certain tags?"))
    # Every typed step says what is wrong and asks again.
    await say(marketer, "VIP!", "Tags are words of lower-case letters")
    await say(marketer, ", ,", "Tags are words of lower-case letters")
    await say(marketer, "all", "When should it be sent?")
    await say(marketer, "tomorrow", "Please send now, or a date and time")
    await say(marketer, "2020-01-01 10:00", "Please send now, or a date and time")  # in the past
    marketer.send(f"{TOMORROW} 12:00")

    shown = await marketer.wait_for_bot_message(starts(NEWSLETTER))
    assert shown.buttons == []  # shown to the marketer, not as marketing: no unsubscribe button
    preview = await marketer.wait_for_bot_message(starts("Your broadcast"))
    assert lines(preview)[1:-1] == [
        "Content: template newsletter",
        "Languages: all",
        "Tags: none (everyone)",
        f"Send at: {TOMORROW} 12:00 UTC",
        "Personal coupons: none (a template carries no code)",
        "Dry run for the send time — audience: 6 · would receive it: 3"
        " (in their quiet hours then, so sent when those end: 0)",
        "Left out — no marketing consent: 1 · opted out: 1 · weekly limit reached: 0 · unreachable: 1"
        " · other language: 0",
        "Sending takes about 1 s at the configured rate.",
        "Cost: none (paid broadcasts are off)",
    ]
    assert preview.buttons == [["Submit for approval"], ["Cancel"]]
    marketer.press(preview.message_id, "Submit for approval")
    submitted = await marketer.wait_for_bot_message(starts("Broadcast B"))
    number = broadcast_number(submitted)
    assert (submitted.text or "").startswith(f"Broadcast B{number} is pending approval.")
    for person in (officer, second):
        await person.wait_for_bot_message(starts(f"Broadcast B{number} is waiting for your decision"))
    marketer.press(preview.message_id, "Submit for approval")  # a second press proposes nothing more
    await emulator.wait_for(
        lambda: any("no longer valid" in (a.get("text") or "") for a in marketer.callback_answers)
    )

    row = await guardbot.repository.broadcast(number)
    assert row is not None
    assert (row.status, row.author, row.decided_by) == (Status.PENDING, MARKETER_ID, None)
    template = guardbot.catalog.templates["newsletter"]
    assert plan_of(row) == Plan(
        ContentKind.TEMPLATE, "newsletter", template.digest, send_at=at(TOMORROW, "12:00")
    )
    assert await guardbot.broadcasts.pending() == [row]

    listed = await say(officer, "/pending", f"Broadcast B{number} (by {MARKETER_ID}):")
    assert "Dry run for the send time — audience: 6 · would receive it: 3" in (listed.text or "")
    assert lines(listed)[-1] == f"/approve B{number} or /reject B{number} REASON"
    status = await say(marketer, f"/broadcast_status B{number}", f"Broadcast B{number}: pending")
    assert "Content: template newsletter" in (status.text or "")

    # The preview went out under its own key, not as a marketing message.
    sent = [e for e in logged_entries(settings.audit_path) if e["type"] == "out.call"]
    keys = [r["key"] for e in sent for r in e["data"]["renderings"]]
    assert "preview:template:newsletter" in keys
    assert "template:newsletter" not in keys
    assert [e["type"] for e in logged_entries(settings.audit_path) if e["type"].startswith("broadcast.")] == [
        "broadcast.proposed"
    ]


async def test_an_offer_broadcast_with_coupons_is_approved_by_another_officer_then_cancelled(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", emulator.base_url, broadcast_paid=True, broadcast_rate=100)
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer, second = emulator.user(COMPLIANCE_ID, first_name="Cora"), emulator.user(COMPLIANCE_2_ID)
    async with running_bot(settings) as app:
        await start_staff(officer, second)
        await seed_customers(emulator, app)
        proposal = await propose_offer(marketer, officer)
        offer = next(o for o in app.offers.in_force() if o.key == f"runtime:{proposal}")

        choices = await say(marketer, "/broadcast_new", "New broadcast.")
        assert choices.buttons == [["📣 Template: newsletter"], [f"🏷 Offer #{proposal}"]]
        marketer.press(choices.message_id, f"🏷 Offer #{proposal}")
        languages = await marketer.wait_for_bot_message(starts("Which language?"))
        marketer.press(languages.message_id, "🗣 en")
        await marketer.wait_for_bot_message(starts("Only customers with certain tags?"))
        await say(marketer, "VIP, berlin", "When should it be sent?")
        coupons = await say(marketer, f"{TOMORROW} 22:00", "Should each recipient get a personal coupon")
        marketer.press(coupons.message_id, "Yes, a personal coupon each")

        card = await marketer.wait_for_bot_message(starts(OFFER_TEXT))
        coupon = app.offers.coupon_for(offer, MARKETER_ID)
        assert coupon.startswith("TEA15") and coupon != "TEA15"
        assert f"Promo code: {coupon} ·" in (card.text or "")  # the coupon minted for the marketer
        assert app.offers.code_for(offer, MARKETER_ID) in (card.text or "")
        preview = await marketer.wait_for_bot_message(starts("Your broadcast"))
        assert lines(preview)[1:-1] == [
            f"Content: offer #{proposal}",
            "Languages: en",
            "Tags: berlin, vip",
            f"Send at: {TOMORROW} 22:00 UTC",
            "Personal coupons: yes, each recipient gets their own",
            # ann (vip) would get it, after her quiet hours (21:00-09:00); dan (berlin) never agreed.
            "Dry run for the send time — audience: 2 · would receive it: 1"
            " (in their quiet hours then, so sent when those end: 1)",
            "Left out — no marketing consent: 1 · opted out: 0 · weekly limit reached: 0 · unreachable: 0"
            " · other language: 0",
            "Sending takes about 1 s at the configured rate.",
            "Cost of the paid broadcast: about 0.1 Telegram Stars",
        ]
        marketer.press(preview.message_id, "Submit for approval")
        number = broadcast_number(await marketer.wait_for_bot_message(starts("Broadcast B")))
        row = await app.repository.broadcast(number)
        assert row is not None
        assert plan_of(row) == Plan(
            ContentKind.OFFER,
            offer.key,
            offer.digest,
            locales=frozenset({"en"}),
            tags=frozenset({"vip", "berlin"}),
            send_at=at(TOMORROW, "22:00"),
            coupons=True,
        )

        listed = await say(second, "/pending", f"Broadcast B{number} (by {MARKETER_ID}):")
        assert "Personal coupons: yes, each recipient gets their own" in (listed.text or "")
        assert "would receive it: 1 (in their quiet hours then, so sent when those end: 1)" in (
            listed.text or ""
        )
        await say(second, f"/approve B{number}", f"Approved broadcast B{number}.")
        await marketer.wait_for_bot_message(starts(f"Your broadcast B{number} was approved."))
        await say(officer, f"/approve B{number}", f"Broadcast B{number} is not pending any more")
        await say(officer, "/pending", "Nothing is waiting for approval.")
        await say(officer, f"/broadcast_status {number}", f"Broadcast B{number}: approved")
        approved = await app.repository.broadcast(number)
        assert approved is not None
        assert (approved.status, approved.decided_by) == (Status.APPROVED, COMPLIANCE_2_ID)

        # Either side may stop it; stopping needs no second pair of eyes. Once is enough.
        await say(marketer, f"/broadcast_cancel B{number}", f"Broadcast B{number} is cancelled")
        await say(officer, f"/broadcast_cancel B{number}", f"Broadcast B{number} cannot be cancelled")
        await say(marketer, f"/broadcast_status B{number}", f"Broadcast B{number}: cancelled")
        cancelled = await app.repository.broadcast(number)
        assert cancelled is not None and cancelled.status == Status.CANCELLED
    kinds = [e["type"] for e in logged_entries(settings.audit_path) if e["type"].startswith("broadcast.")]
    # (The engine may log the end of the cancelled broadcast; it never started one.)
    assert kinds[:3] == ["broadcast.proposed", "broadcast.approved", "broadcast.cancelled"]
    assert "broadcast.started" not in kinds


async def test_cancel_leaves_the_flow_at_any_step_and_old_buttons_expire(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    choices = await say(marketer, "/broadcast_new", "New broadcast.")
    await say(marketer, "/cancel", "No broadcast was proposed.")
    marketer.press(choices.message_id, "📣 Template: newsletter")
    await emulator.wait_for(lambda: len(marketer.callback_answers) == 1)
    assert marketer.callback_answers[0]["text"].startswith("This button is no longer valid")

    choices = await say(marketer, "/broadcast_new", "New broadcast.")
    marketer.press(choices.message_id, 0)
    languages = await marketer.wait_for_bot_message(starts("Which language?"))
    marketer.press(languages.message_id, "🗣 de")
    await marketer.wait_for_bot_message(starts("Only customers with certain tags?"))
    await say(marketer, "/cancel", "No broadcast was proposed.")

    choices = await say(marketer, "/broadcast_new", "New broadcast.")
    marketer.press(choices.message_id, 0)
    languages = await marketer.wait_for_bot_message(starts("Which language?"))
    marketer.press(languages.message_id, 0)
    await say(marketer, "-", "When should it be sent?")
    marketer.send("now")
    preview = await marketer.wait_for_bot_message(starts("Your broadcast"))
    marketer.press(preview.message_id, "Cancel")
    await marketer.wait_for_bot_message(starts("No broadcast was proposed."))
    assert await guardbot.broadcasts.pending() == []
    assert await guardbot.repository.broadcast(1) is None


async def test_an_author_never_decides_their_own_broadcast_and_a_rejection_needs_a_reason(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    # The marketer holds compliance too: four eyes still means someone else.
    settings = make_settings(
        tmp_path / "data", emulator.base_url, compliance_ids=(COMPLIANCE_ID, COMPLIANCE_2_ID, MARKETER_ID)
    )
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer, second = emulator.user(COMPLIANCE_ID, first_name="Cora"), emulator.user(COMPLIANCE_2_ID)
    async with running_bot(settings) as app:
        await start_staff(officer, second)
        choices = await say(marketer, "/broadcast_new", "New broadcast.")
        marketer.press(choices.message_id, "📣 Template: newsletter")
        languages = await marketer.wait_for_bot_message(starts("Which language?"))
        marketer.press(languages.message_id, "🌍 All languages")
        await say(marketer, "all", "When should it be sent?")
        marketer.send(f"{TOMORROW} 12:00")
        preview = await marketer.wait_for_bot_message(starts("Your broadcast"))
        marketer.press(preview.message_id, "Submit for approval")
        number = broadcast_number(await marketer.wait_for_bot_message(starts("Broadcast B")))
        await officer.wait_for_bot_message(starts(f"Broadcast B{number} is waiting"))

        await say(
            marketer, f"/approve B{number}", f"You cannot decide on proposal #{number}: you proposed it"
        )
        await say(marketer, f"/reject B{number} fine by me", f"You cannot decide on proposal #{number}")
        await say(second, f"/reject B{number}", "Usage: /approve ID")  # a reason is required
        await say(second, f"/reject B{number}   ", "Usage: /approve ID")
        row = await app.repository.broadcast(number)
        assert row is not None and row.status == Status.PENDING

        await say(second, f"/reject b{number} too pushy for December", f"Rejected broadcast B{number}.")
        notice = await marketer.wait_for_bot_message(starts(f"Your broadcast B{number} was rejected."))
        assert lines(notice)[-1] == "too pushy for December"
        await say(officer, f"/approve B{number}", f"Broadcast B{number} is not pending any more")
        await say(marketer, f"/broadcast_status B{number}", f"Broadcast B{number}: rejected")
        await say(marketer, f"/broadcast_cancel B{number}", f"Broadcast B{number} cannot be cancelled")
        rejected = await app.repository.broadcast(number)
        assert rejected is not None
        assert (rejected.status, rejected.decided_by, rejected.reason) == (
            Status.REJECTED,
            COMPLIANCE_2_ID,
            "too pushy for December",
        )
    kinds = [e["type"] for e in logged_entries(settings.audit_path) if e["type"].startswith("broadcast.")]
    assert kinds == [
        "broadcast.proposed",
        "broadcast.refused_own",
        "broadcast.refused_own",
        "broadcast.rejected",
    ]


async def test_the_engine_s_texts_reach_the_author_and_each_officer_once(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """What the engine calls when a broadcast ends (`report_finished`, `report_stopped`) and what
    `/broadcast_status` shows while one runs (`progress_text`), through the real gate and emulator."""
    settings = make_settings(
        tmp_path / "data", emulator.base_url, compliance_ids=(COMPLIANCE_ID, COMPLIANCE_2_ID, MARKETER_ID)
    )
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer, second = emulator.user(COMPLIANCE_ID, first_name="Cora"), emulator.user(COMPLIANCE_2_ID)
    async with running_bot(settings) as app:
        await start_staff(marketer, officer, second)
        digest = app.catalog.templates["newsletter"].digest
        plan = Plan(ContentKind.TEMPLATE, "newsletter", digest, send_at=int(at(TOMORROW, "12:00")))
        number = await app.broadcasts.propose(MARKETER_ID, plan)  # pending: the engine leaves it alone
        row = await app.repository.broadcast(number)
        assert row is not None

        ended = Progress(
            sent=120,
            excluded={"no_consent": 4, "frequency_cap": 2, "gate_refused": 1},
            failed=3,
            uncertain=2,
            remaining=0,
            cancelled=5,
        )
        await report_finished(app.bot, app.renderer, app.role_book, replace(row, status="done"), ended, 25.0)
        for person in (marketer, officer, second):
            report = await person.wait_for_bot_message(starts(f"Broadcast B{number} finished (done)."))
            assert lines(report) == [
                f"Broadcast B{number} finished (done).",
                "Sent: 120 · failed: 3 · not sent because it was cancelled: 5",
                "Left out — no marketing consent: 4 · opted out: 0 · weekly limit reached: 2 · unreachable: 0"
                " · other language: 0",
                "Left out for other reasons: 1",
                "Uncertain: 2. The send to them was interrupted, so it may or may not have arrived; they were"
                " not sent it again, so nobody got it twice.",
            ]
        # The author holds compliance too, and is told once.
        finished = [m for m in marketer.bot_messages if (m.text or "").startswith(f"Broadcast B{number} fin")]
        assert len(finished) == 1

        cut = Progress(sent=7, excluded={}, failed=0, uncertain=0, remaining=0, cancelled=30)
        await report_stopped(app.bot, app.renderer, app.role_book, replace(row, status="stopped"), cut, 25.0)
        for person in (marketer, officer, second):
            notice = await person.wait_for_bot_message(starts(f"Broadcast B{number} was stopped (stopped)"))
            assert "Sent before the stop: 7 · failed: 0 · not sent: 30" in lines(notice)

        running = Progress(
            sent=50, excluded={"opted_out": 1}, failed=0, uncertain=0, remaining=1500, cancelled=0
        )
        for locale, first in (
            ("en", f"Broadcast B{number}: running"),
            ("de", f"Massenversand B{number}: running"),
        ):
            text = progress_text(
                app.renderer, Recipient(MARKETER_ID, locale), number, "running", running, 25.0
            )
            await app.bot.send_message(MARKETER_ID, text)
            shown = await marketer.wait_for_bot_message(starts(first))
            assert len(lines(shown)) == 4
        assert lines(shown)[1] == (
            "Gesendet: 50 · fehlgeschlagen: 0 · ungewiss (nie erneut gesendet): 0 · ausstehend: 1500"
            " · abgebrochen: 0"
        )
        assert lines(shown)[-1] == "Restzeit mit der eingestellten Rate: etwa 1 min 0 s"


async def test_unknown_and_malformed_broadcast_ids(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    marketer = emulator.user(MARKETER_ID, first_name="Mara")
    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    await say(marketer, "/broadcast_status B999", "There is no broadcast B999.")
    await say(officer, "/broadcast_status 999", "There is no broadcast B999.")
    await say(marketer, "/broadcast_status", "Usage: /broadcast_status ID")
    await say(marketer, "/broadcast_status Bx", "Usage: /broadcast_status ID")
    await say(marketer, "/broadcast_status 1 2", "Usage: /broadcast_status ID")
    await say(officer, "/broadcast_cancel B999", "There is no broadcast B999.")
    await say(marketer, "/broadcast_cancel", "Usage: /broadcast_cancel ID")
    await say(officer, "/approve B999", "There is no broadcast B999.")
    await say(officer, "/reject B999 no", "There is no broadcast B999.")
    await say(officer, "/approve B", "Usage: /approve ID")


async def test_people_without_the_role_never_reach_the_broadcast_commands(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    customer = emulator.user(7201, first_name="Ida")
    agent = emulator.user(AGENT_ID, first_name="Al")
    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    await onboard(customer)
    for person in (customer, agent):
        for command in ("/broadcast_new", "/broadcast_status B1", "/broadcast_cancel B1"):
            person.send(command)
            reply = await person.wait_for_bot_message()
            assert not (reply.text or "").startswith(("New broadcast", "There is no broadcast", "Usage:"))
    # Compliance follows and stops broadcasts, but proposing one is marketing's.
    officer.send("/broadcast_new")
    reply = await officer.wait_for_bot_message()
    assert not (reply.text or "").startswith("New broadcast")
    assert await guardbot.broadcasts.pending() == []


async def test_a_customer_gets_the_polite_staff_refusal(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    customer = emulator.user(7301, first_name="Jo")
    await onboard(customer)
    for command in ("/broadcast_new", "/broadcast_status B1", "/broadcast_cancel B1"):
        await say(customer, command, "Sorry, this command is only for staff")
