"""Broadcasts end to end: the real engine sends through the gate and the pacer to the emulator over HTTP.

What must hold (issue #8): exactly the eligible customers receive exactly one message each; an opt-out
during the run stops it for that person; 429s pause everything and lose nothing; no one-second window above
BROADCAST_RATE and no chat above one message per second; quiet hours wait in the customer's time zone;
cancel stops within a second; an unapproved broadcast never starts.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import create_guardbot
from bot.content import Recipient
from bot.emulator import BotApiEmulator, Fault
from bot.errors import GateRefused
from bot.telegram.keyboards import unsubscribe
from flows.broadcasts import ContentKind, QuietHours, Status, zone
from flows.offers import Audience, OfferTerms
from tests.e2e.broadcast_world import (
    approved_broadcast,
    broadcast_sends,
    busiest_chat_second,
    busiest_second,
    populate,
    received,
    until_status,
)
from tests.helpers import COMPLIANCE_ID, MARKETER_ID, MovableClock, logged_entries, make_settings, running_bot

RATE = 200


def broadcast_settings(tmp_path: Path, emulator: BotApiEmulator, **overrides: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "broadcast_rate": RATE,
        "broadcast_paid": True,
        "quiet_hours": "off",
    }
    values.update(overrides)
    return make_settings(tmp_path / "data", emulator.base_url, **values)


async def test_exactly_the_eligible_receive_exactly_once_at_telegrams_pace(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    settings = broadcast_settings(tmp_path, emulator)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        author, officer = emulator.user(MARKETER_ID), emulator.user(COMPLIANCE_ID)
        world = await populate(app, emulator, 1000)
        latecomer = max(world.eligible)  # the last in line: their STOP arrives long before their turn
        broadcast_id = await approved_broadcast(app)
        await emulator.wait_for(lambda: len(broadcast_sends(emulator, world.everyone)) >= 50, timeout=30)
        emulator.user(latecomer).send("STOP")
        emulator.inject_fault(Fault(method="sendMessage", status=429, retry_after=1, times=3))
        await until_status(app, emulator, broadcast_id, Status.DONE, 60)

        counts = received(emulator, world.everyone)
        eligible = world.eligible - {latecomer}
        assert {user for user, n in counts.items() if n} == eligible
        assert set(counts[user] for user in eligible) == {1}
        # Rendered for each recipient: in their own language (German here), English when we have none.
        languages = {user: emulator.user(user).profile.language_code for user in eligible}
        for user, language in list(languages.items())[:25]:
            text = emulator.user(user).bot_messages[-1].text or ""
            start = {"de": "Neues von", "ru": "Новости"}.get(language or "", "News from")
            assert text.startswith(start), (language, text[:20])
        sends = broadcast_sends(emulator, world.everyone)
        assert busiest_second([call.at for call in sends]) <= RATE
        assert busiest_chat_second(sends) <= 1
        # Each call paid for the higher rate (allow_paid_broadcast), as BROADCAST_PAID asks.
        assert all(call.params.get("allow_paid_broadcast") in (True, "true") for call in sends)

        rejected = [c for c in emulator.calls_to("sendMessage") if c.status == 429]
        assert len(rejected) == 3
        after_pause = [c.at for c in sends if c.at > rejected[0].at]
        assert after_pause and min(after_pause) >= rejected[0].at + 0.9  # everything waited out retry_after

        progress = await app.broadcasts.progress(broadcast_id)
        assert progress.sent == len(eligible)
        assert dict(progress.excluded) == {
            "no_consent": len(world.no_consent),
            "opted_out": len(world.opted_out) + 1,
            "unreachable": len(world.blocked),
        }
        assert progress.failed == progress.uncertain == progress.remaining == 0

        for staff in (author, officer):
            report = await staff.wait_for_bot_message(lambda m: f"B{broadcast_id}" in (m.text or ""))
            assert str(len(eligible)) in (report.text or "")
    entries = logged_entries(settings.audit_path)
    kinds = [entry["type"] for entry in entries]
    for kind in ("broadcast.proposed", "broadcast.approved", "broadcast.started", "broadcast.finished"):
        assert kind in kinds
    finished = next(e for e in entries if e["type"] == "broadcast.finished")
    assert finished["data"]["sent"] == len(eligible)


async def test_quiet_hours_wait_for_the_morning_in_the_customers_time_zone(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    clock = MovableClock()
    settings = broadcast_settings(tmp_path, emulator, quiet_hours="21:00-09:00")
    app = await create_guardbot(settings, clock=clock)
    quiet = QuietHours.parse("21:00-09:00")
    async with running_bot(settings, app=app):
        world = await populate(app, emulator, 96, kinds=lambda index: "eligible")
        now = clock.now()

        def sleeping(user: int) -> bool:
            local = datetime.fromtimestamp(clock.now(), UTC).astimezone(zone(world.zones[user], "UTC"))
            return quiet.contains(local)

        asleep = {user for user in world.eligible if sleeping(user)}
        awake = world.eligible - asleep
        assert asleep and awake
        broadcast_id = await approved_broadcast(app)
        await emulator.wait_for(lambda: sum(received(emulator, awake).values()) == len(awake), timeout=30)
        assert sum(received(emulator, asleep).values()) == 0
        row = await app.broadcasts.get(broadcast_id)
        assert row is not None and row.status == Status.RUNNING  # still waiting for the sleepers
        clock.offset += 12 * 3600  # morning everywhere that was night
        await until_status(app, emulator, broadcast_id, Status.DONE, 30)
        assert set(received(emulator, world.eligible).values()) == {1}
        assert clock.now() > now


async def test_cancel_stops_sending_within_a_second(tmp_path: Path, emulator: BotApiEmulator) -> None:
    settings = broadcast_settings(tmp_path, emulator, broadcast_rate=20, broadcast_paid=False)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        author = emulator.user(MARKETER_ID)
        world = await populate(app, emulator, 200, kinds=lambda index: "eligible", with_zones=False)
        broadcast_id = await approved_broadcast(app)
        await emulator.wait_for(lambda: len(broadcast_sends(emulator, world.everyone)) >= 10, timeout=30)
        author.send(f"/broadcast_status B{broadcast_id}")
        status = await author.wait_for_bot_message(
            lambda m: (m.text or "").startswith(f"Broadcast B{broadcast_id}")
        )
        live = status.text or ""
        assert "running" in live and "Sent: " in live and "remaining: " in live and "Time left" in live
        sent_then = int(live.split("Sent: ", 1)[1].split(" ", 1)[0])
        remaining_then = int(live.split("remaining: ", 1)[1].split(" ", 1)[0])
        assert sent_then >= 1 and 0 < remaining_then < 200 and sent_then + remaining_then <= 200
        author.send(f"/broadcast_cancel {broadcast_id}")
        cancelled_at = time.time()
        await until_status(app, emulator, broadcast_id, Status.CANCELLED, 10)
        late = [c for c in broadcast_sends(emulator, world.everyone) if c.at > cancelled_at + 1.0]
        assert late == []
        progress = await app.broadcasts.progress(broadcast_id)
        assert progress.cancelled > 100
        assert progress.sent == sum(received(emulator, world.eligible).values())


async def test_an_unapproved_broadcast_never_starts(tmp_path: Path, emulator: BotApiEmulator) -> None:
    settings = broadcast_settings(tmp_path, emulator)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        world = await populate(app, emulator, 20, kinds=lambda index: "eligible", with_zones=False)
        plan = app.broadcasts.plan_for(ContentKind.TEMPLATE, "newsletter")
        assert plan is not None
        waiting = await app.broadcasts.propose(MARKETER_ID, plan)
        own = await app.broadcasts.decide(waiting, MARKETER_ID, approve=True)
        assert own.value == "own"
        # A second, approved broadcast runs to its end: the engine has had every chance to start the first.
        later = await approved_broadcast(app)
        await until_status(app, emulator, later, Status.DONE, 30)
        row = await app.broadcasts.get(waiting)
        assert row is not None and row.status == Status.PENDING
        progress = await app.broadcasts.progress(waiting)
        assert progress.sent == progress.remaining == 0
        assert set(received(emulator, world.eligible).values()) == {1}  # the approved one only


@pytest.mark.parametrize("status", [500, 400])
async def test_telegram_errors_are_retried_or_recorded(
    tmp_path: Path, emulator: BotApiEmulator, status: int
) -> None:
    settings = broadcast_settings(tmp_path, emulator)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        world = await populate(app, emulator, 10, kinds=lambda index: "eligible", with_zones=False)
        unlucky = min(world.eligible)
        emulator.inject_fault(Fault(method="sendMessage", status=status, chat_id=unlucky, times=1))
        broadcast_id = await approved_broadcast(app)
        await until_status(app, emulator, broadcast_id, Status.DONE, 30)
        progress = await app.broadcasts.progress(broadcast_id)
        if status == 500:  # retried after a backoff: everyone has it
            assert received(emulator, [unlucky])[unlucky] == 1
            assert progress.sent == 10 and progress.failed == 0
        else:  # Telegram said no: recorded, not retried
            assert received(emulator, [unlucky])[unlucky] == 0
            assert progress.sent == 9 and progress.failed == 1


async def test_an_offer_with_personal_coupons_each_for_its_owner_only(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    settings = broadcast_settings(tmp_path, emulator)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        world = await populate(app, emulator, 40, kinds=lambda index: "eligible", with_zones=False)
        now = app.clock.now()
        terms = OfferTerms(
            texts={"en": "Green tea for less this week."},
            discount=15,
            code="TEA15",
            valid_from=float(int(now)),
            valid_until=float(int(now + 7 * 86_400)),
            audience=Audience.OPTED_IN,
        )
        proposal = await app.offers.propose(MARKETER_ID, terms)
        await app.offers.decide(proposal, COMPLIANCE_ID, approve=True)
        offer = next(o for o in app.offers.in_force() if o.key == f"runtime:{proposal}")
        plan = app.broadcasts.plan_for(ContentKind.OFFER, offer.key)
        assert plan is not None
        broadcast_id = await approved_broadcast(app, replace(plan, coupons=True))
        await until_status(app, emulator, broadcast_id, Status.DONE, 30)

        cards = {user: emulator.user(user).bot_messages for user in world.eligible}
        reached = {user for user, messages in cards.items() if messages}
        coupons = {}
        for user in reached:
            (card,) = cards[user]
            coupon = app.offers.coupon_for(offer, user)
            assert f": {coupon} ·" in (card.text or "")  # "Promo code: …", "Aktionscode: …"
            assert app.offers.code_for(offer, user) in (card.text or "")  # their verification code
            coupons[user] = coupon
        assert len(set(coupons.values())) == len(reached)  # each their own
        assert reached == world.eligible  # the offer has no language limit: its words, each one's frame
        progress = await app.broadcasts.progress(broadcast_id)
        assert progress.sent == len(reached) and not progress.excluded
        delivered = await app.offers.sent_to(min(reached))
        assert [d.offer_key for d in delivered] == [offer.key]

        # One customer's coupon can never be shown to another, however it is rendered.
        first, second = sorted(reached)[:2]
        to_second = Recipient(second, "en")
        forged = app.renderer.offer_card(
            offer, to_second, app.offers.code_for(offer, second), marketing=True, code=coupons[first]
        )
        with pytest.raises(GateRefused, match="unapproved promo code"):
            await app.bot.send_message(second, forged, reply_markup=unsubscribe(app.renderer, to_second))


async def test_two_broadcasts_in_one_round_respect_the_weekly_cap(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    settings = broadcast_settings(tmp_path, emulator, marketing_max_per_week=1)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        world = await populate(app, emulator, 5, kinds=lambda index: "eligible", with_zones=False)
        plan = app.broadcasts.plan_for(ContentKind.TEMPLATE, "newsletter")
        assert plan is not None
        first = await app.broadcasts.propose(MARKETER_ID, plan)
        second = await app.broadcasts.propose(MARKETER_ID, plan)
        for broadcast_id in (first, second):  # approved back to back: both start in the same round
            await app.broadcasts.decide(broadcast_id, COMPLIANCE_ID, approve=True)
        await until_status(app, emulator, first, Status.DONE, 30)
        await until_status(app, emulator, second, Status.DONE, 30)
        assert set(received(emulator, world.eligible).values()) == {1}
        capped = (await app.broadcasts.progress(first)).excluded.get("frequency_cap", 0)
        capped += (await app.broadcasts.progress(second)).excluded.get("frequency_cap", 0)
        assert capped == len(world.eligible)


async def test_a_stop_during_a_flood_pause_wins(tmp_path: Path, emulator: BotApiEmulator) -> None:
    """The send that got the 429 is judged again after the pause, so an opt-out meanwhile counts."""
    settings = broadcast_settings(tmp_path, emulator)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        world = await populate(app, emulator, 10, kinds=lambda index: "eligible", with_zones=False)
        unlucky = min(world.eligible)
        emulator.inject_fault(Fault(method="sendMessage", status=429, retry_after=2, chat_id=unlucky))
        broadcast_id = await approved_broadcast(app)
        await emulator.wait_for(
            lambda: any(c.status == 429 for c in emulator.calls_to("sendMessage")), timeout=10
        )
        emulator.user(unlucky).send("STOP")
        await until_status(app, emulator, broadcast_id, Status.DONE, 30)
        assert received(emulator, [unlucky])[unlucky] == 0
        assert set(received(emulator, world.eligible - {unlucky}).values()) == {1}
        progress = await app.broadcasts.progress(broadcast_id)
        assert progress.excluded == {"opted_out": 1} and progress.sent == len(world.eligible) - 1


async def test_a_retry_pending_when_cancelled_ends_cancelled_and_reported(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    settings = broadcast_settings(tmp_path, emulator)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        emulator.user(MARKETER_ID)
        world = await populate(app, emulator, 10, kinds=lambda index: "eligible", with_zones=False)
        unlucky = min(world.eligible)
        emulator.inject_fault(Fault(method="sendMessage", status=500, chat_id=unlucky))
        broadcast_id = await approved_broadcast(app)
        await emulator.wait_for(
            lambda: any(c.status == 500 for c in emulator.calls_to("sendMessage")), timeout=10
        )
        assert await app.broadcasts.cancel(broadcast_id, MARKETER_ID) == "done"
        await until_status(app, emulator, broadcast_id, Status.CANCELLED, 30)
        progress = await app.broadcasts.progress(broadcast_id)
        assert progress.remaining == 0 and progress.cancelled >= 1
        assert received(emulator, [unlucky])[unlucky] == 0


async def test_an_unreachable_bot_api_pauses_the_broadcast_and_loses_nobody(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    settings = broadcast_settings(tmp_path, emulator, broadcast_rate=40)
    app = await create_guardbot(settings)
    async with running_bot(settings, app=app):
        world = await populate(app, emulator, 120, kinds=lambda index: "eligible", with_zones=False)
        broadcast_id = await approved_broadcast(app)
        await emulator.wait_for(lambda: len(broadcast_sends(emulator, world.everyone)) >= 20, timeout=30)
        port = int(emulator.base_url.rsplit(":", 1)[1].split("/")[0])
        await emulator.stop()  # connection refused: nothing reaches Telegram
        await emulator.wait_for(lambda: app.broadcast_engine.offline > 0, timeout=10)
        await emulator.start(port=port)
        await until_status(app, emulator, broadcast_id, Status.DONE, 60)
        # Sends that never reached the server are kept and sent later; only one whose request was already
        # written when the server went away may be uncertain (it may have been acted on): at most those in
        # flight then, never the rest of the audience.
        progress = await app.broadcasts.progress(broadcast_id)
        assert progress.sent + progress.uncertain == len(world.eligible) and progress.uncertain <= 8
        counts = received(emulator, world.eligible)
        assert max(counts.values()) == 1
        assert sum(counts.values()) >= progress.sent
