"""A population of customers for broadcast tests, and what the emulator's record says about the sends.

Customers are set up through the services a real conversation would use (the consent ledger, audit log
first; the directory), not through chat, so that a thousand of them take seconds; the broadcast itself then
runs for real: the engine, the gate, the pacer and the emulator over HTTP.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.app import Guardbot
from bot.emulator import BotApiEmulator
from bot.emulator.models import RecordedCall
from flows.broadcasts import ContentKind, Plan, Status
from flows.consent import Action, Scope, Via
from tests.helpers import COMPLIANCE_ID, MARKETER_ID

LANGUAGES = ("en", "de", "ru", "pt-BR", None)


@dataclass
class World:
    """Who is who: the ids of each kind of customer."""

    eligible: set[int] = field(default_factory=set)
    no_consent: set[int] = field(default_factory=set)
    opted_out: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    zones: dict[int, str] = field(default_factory=dict)

    @property
    def everyone(self) -> set[int]:
        return self.eligible | self.no_consent | self.opted_out | self.blocked


def zone_of(index: int) -> str:
    """Spread customers over every whole-hour offset, so some are always in their quiet hours."""
    offset = index % 24 - 11  # -11 .. +12
    return "UTC" if offset == 0 else f"Etc/GMT{'+' if offset < 0 else '-'}{abs(offset)}"


async def populate(
    app: Guardbot,
    emulator: BotApiEmulator,
    count: int,
    *,
    first_id: int = 100_000,
    kinds: Callable[[int], str] | None = None,
    with_zones: bool = True,
) -> World:
    """`count` customers who accepted the notice; by default 60 % also said yes to marketing, 15 % said
    nothing more, 15 % said yes and then withdrew, 10 % said yes but have since blocked the bot."""
    world = World()
    pick = kinds or _default_kind
    for index in range(count):
        user_id = first_id + index
        language = LANGUAGES[index % len(LANGUAGES)]
        emulator.user(user_id, f"Customer{index}", language_code=language)
        await app.customers.seen(user_id, language)
        await app.consent.record(user_id, Scope.NOTICE, Action.GRANT, via=Via.BUTTON, detail="test setup")
        kind = pick(index)
        if kind != "no_consent":
            await app.consent.record(
                user_id, Scope.MARKETING, Action.GRANT, via=Via.BUTTON, detail="test setup"
            )
        if kind == "opted_out":
            await app.consent.record(
                user_id, Scope.MARKETING, Action.WITHDRAW, via=Via.COMMAND, detail="test setup"
            )
        if kind == "blocked":
            emulator.block(user_id, notify=False)
        if with_zones:
            world.zones[user_id] = zone_of(index)
            await app.repository.set_customer_attributes(
                user_id,
                time_zone=world.zones[user_id],
                tags=["vip"] if index % 2 else [],
                now=app.clock.now(),
            )
        getattr(world, kind).add(user_id)
    return world


def _default_kind(index: int) -> str:
    slot = index % 20
    if slot < 12:
        return "eligible"
    if slot < 15:
        return "no_consent"
    if slot < 18:
        return "opted_out"
    return "blocked"


async def approved_broadcast(app: Guardbot, plan: Plan | None = None) -> int:
    """A broadcast of the newsletter template, proposed by marketing and approved by compliance."""
    plan = plan or app.broadcasts.plan_for(ContentKind.TEMPLATE, "newsletter")
    assert plan is not None
    broadcast_id = await app.broadcasts.propose(MARKETER_ID, plan)
    await app.broadcasts.decide(broadcast_id, COMPLIANCE_ID, approve=True)
    return broadcast_id


def status(database: Path, broadcast_id: int) -> tuple[str, bool]:
    """The broadcast's status and whether its final report is out, read from the file as an auditor would
    (synchronously, so it can be an `emulator.wait_for` condition)."""
    with sqlite3.connect(database) as conn:
        row = conn.execute("SELECT status, reported FROM broadcasts WHERE id = ?", (broadcast_id,)).fetchone()
    return (str(row[0]), bool(row[1])) if row else ("", False)


async def until_status(
    app: Guardbot, emulator: BotApiEmulator, broadcast_id: int, wanted: Status, within: float
) -> None:
    """Wait until the broadcast has status `wanted` and its final report is out."""
    database = app.settings.database_path
    await emulator.wait_for(lambda: status(database, broadcast_id) == (wanted, True), timeout=within)


def broadcast_sends(emulator: BotApiEmulator, people: Iterable[int]) -> list[RecordedCall]:
    """Successful sendMessage calls to these customers carrying the unsubscribe button (marketing)."""
    wanted = set(people)
    return [
        call
        for call in emulator.calls_to("sendMessage")
        if call.ok
        and int(call.params.get("chat_id", 0)) in wanted
        and "unsub" in str(call.params.get("reply_markup"))
    ]


def received(emulator: BotApiEmulator, people: Iterable[int]) -> Counter[int]:
    """How many marketing messages (with the unsubscribe button) each customer has in their chat."""
    counts: Counter[int] = Counter()
    for user_id in people:
        counts[user_id] = sum(
            1
            for m in emulator.user(user_id).bot_messages
            if any(button.get("callback_data") == "unsub" for button in m.inline_buttons)
        )
    return counts


def busiest_second(times: list[float]) -> int:
    """The most calls in any one-second window (sliding, not aligned to whole seconds)."""
    ordered = sorted(times)
    window: deque[float] = deque()
    most = 0
    for at in ordered:
        window.append(at)
        while window[0] <= at - 1.0:
            window.popleft()
        most = max(most, len(window))
    return most


def busiest_chat_second(calls: list[RecordedCall]) -> int:
    by_chat: dict[int, list[float]] = {}
    for call in calls:
        by_chat.setdefault(int(call.params["chat_id"]), []).append(call.at)
    return max((busiest_second(times) for times in by_chat.values()), default=0)
