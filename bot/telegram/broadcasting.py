"""The broadcast engine: sends approved broadcasts, each recipient at most once, at Telegram's pace.

It runs in the bot process beside polling. Each round it starts broadcasts whose time has come, takes the
next due recipients, judges each one *now* (consent, opt-out, weekly cap, quiet hours, reachability), and in
one transaction records the previous round's outcomes and claims the new recipients (queued → sending).
Only then are their messages sent — rendered for that recipient alone, with the unsubscribe button, through
the outbound gate (which checks consent once more) and the pacer (rate overall, one per second per chat).

At most once: a recipient is claimed before the call and settled after it. A claim found unsettled at the
next start (the process was killed) becomes "uncertain" and is never sent again; so does a call whose
outcome the network hid. Claims are kept small (a fraction of a second's worth) so a crash leaves few.
Telegram's "no" (4xx) is final; a 429 pauses the whole bot (shared `FloodPause`) and the call is retried
after it; a server error is retried with backoff a bounded number of times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import InlineKeyboardMarkup, TelegramObject
from pydantic import ConfigDict

from bot.clock import Clock
from bot.content import Recipient, Renderer
from bot.content.catalog import Template
from bot.errors import GateRefused
from bot.gate.middleware import NO_MARKETING_CONSENT, RECIPIENT_BLOCKED
from bot.gate.retry import FloodPause
from bot.services.broadcasts import STOPPED, BroadcastDesk, plan_of
from bot.services.offers import OfferBook
from bot.services.roles import RoleBook
from bot.storage import Repository
from bot.storage.broadcasts import Delivery, Due, Outcome
from bot.telegram.broadcast_texts import report_finished, report_stopped
from bot.telegram.keyboards import unsubscribe
from bot.telegram.wire import never_sent
from flows.broadcasts import Exclusion, Plan, State, Status
from flows.offers import Offer

log = logging.getLogger("guardbot.broadcasts")

RETRY_BACKOFF = (2.0, 10.0, 30.0)
"""Seconds before retrying a send Telegram failed with a server error (then it is recorded as failed)."""
IDLE_SECONDS = 1.0
HOUSEKEEPING_SECONDS = 0.5
OFFLINE_PAUSE = 5.0
"""Seconds to wait when the Bot API cannot be reached at all (nothing was sent; everyone is kept)."""
IN_FLIGHT_SECONDS = 0.3
"""How many sends may be claimed and under way at once, in seconds' worth at the configured rate: enough to
cover Telegram's latency at full pace, few enough that a crash leaves few recipients uncertain."""

SPAWN_SLICE = 10
"""Sends started together. Each does its rendering, gate check and audit entry before it reaches the
pacer: a whole claim started at once would hold the event loop for tens of milliseconds, during which no
paced call can leave (then they all leave together, late)."""

_REFUSAL_EXCLUSIONS = {
    NO_MARKETING_CONSENT: Exclusion.NO_CONSENT,
    RECIPIENT_BLOCKED: Exclusion.UNREACHABLE,
}


class Sent(TelegramObject):
    """What a broadcast needs back from Telegram: the message's id. (aiogram would otherwise parse the whole
    `Message` Telegram echoes back, a tenth of the bot's CPU time at a thousand messages a second.)"""

    model_config = ConfigDict(extra="ignore")

    message_id: int


class SendMarketing(TelegramMethod[Sent]):
    """`sendMessage` as a broadcast sends it: plain text with the unsubscribe button, paid or not, answered
    with `Sent`. The gate inspects it as the `sendMessage` it is. (A `SendMessage` subclass, with all of its
    fields to build, dump and inspect, measured 0.2 ms more CPU per message in bench/broadcast.py.)"""

    __returning__ = Sent
    __api_method__ = "sendMessage"

    chat_id: int
    text: str
    reply_markup: InlineKeyboardMarkup
    allow_paid_broadcast: bool | None = None


@dataclass(frozen=True)
class _Job:
    due: Due
    plan: Plan
    content: Template | Offer


class BroadcastEngine:
    def __init__(
        self,
        desk: BroadcastDesk,
        repository: Repository,
        sender: Bot,
        notifier: Bot,
        renderer: Renderer,
        offers: OfferBook,
        roles: RoleBook,
        clock: Clock,
        pause: FloodPause,
    ) -> None:
        """`sender` is the broadcast session's bot (gate, flood control, pacer); `notifier` the main one,
        for reports to staff."""
        self._desk = desk
        self._repository = repository
        self._sender = sender
        self._notifier = notifier
        self._renderer = renderer
        self._offers = offers
        self._roles = roles
        self._clock = clock
        self._pause = pause
        limits = desk.limits
        self._paid = limits.paid
        self._max_in_flight = max(8, min(1000, int(limits.rate * IN_FLIGHT_SECONDS)))
        self._room = asyncio.Event()
        self._room.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._settled: list[Outcome] = []
        self._deliveries: list[Delivery] = []
        self._plans: dict[int, Plan] = {}
        self._kept_at = 0.0
        self.offline = 0
        """Sends that found the Bot API unreachable (nothing sent; re-queued behind a pause)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; then let the sends in flight finish and record them."""
        try:
            await self._recover()
        except Exception as exc:
            log.error("broadcast.recover_failed", exc_info=exc)
        while not stop.is_set():
            try:
                busy = await self._round(stop)
            except Exception as exc:
                log.error("broadcast.round_failed", exc_info=exc)
                busy = False
            if not busy:
                await self._idle(stop)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._flush()
        except Exception as exc:
            log.error("broadcast.final_flush_failed", exc_info=exc, extra={"outcomes": len(self._settled)})

    async def _idle(self, stop: asyncio.Event) -> None:
        """Nothing to do: wait for news (an approval, a cancel), the stop, or a second, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_unless_stopped(self._desk.wake.wait(), stop), IDLE_SECONDS)
        self._desk.wake.clear()

    async def _recover(self) -> None:
        """After a crash: unsettled claims become uncertain (logged), unsent final reports go out."""
        for broadcast_id, count in (await self._repository.interrupted_sends()).items():
            await self._desk.audit_uncertain(broadcast_id, count)
            log.warning(
                "broadcast.uncertain_after_restart", extra={"broadcast": broadcast_id, "count": count}
            )
        await self._report_finished()

    async def _round(self, stop: asyncio.Event) -> bool:
        """One round: start what is due, judge and claim the next recipients, send. True if it did work."""
        if self._pause.left() > 0:  # Telegram asked the bot to wait: claim nobody
            await _unless_stopped(self._pause.wait(), stop)
        housekeeping = self._housekeeping_due()
        if housekeeping:
            await self._desk.start_due()
        if self._max_in_flight - len(self._tasks) <= self._max_in_flight // 2:
            self._room.clear()
            await _unless_stopped(self._room.wait(), stop)
        if stop.is_set():
            return False
        due = await self._repository.due_recipients(self._clock.now(), self._max_in_flight - len(self._tasks))
        plans: dict[int, Plan] = {}
        for broadcast_id in {item.broadcast for item in due}:
            plan = await self._plan(broadcast_id)
            if plan is not None and self._desk.content(plan) is None:
                await self._desk.stop(broadcast_id, STOPPED)
            elif plan is not None and not self._desk.is_cancelled(broadcast_id):
                plans[broadcast_id] = plan
        verdicts = await self._desk.judge([item for item in due if item.broadcast in plans], plans)
        settled, deliveries = self._settled, self._deliveries
        self._settled, self._deliveries = [], []
        try:
            claimed = set(
                await self._repository.settle_and_claim(
                    [*settled, *verdicts.outcomes],
                    deliveries,
                    [(item.broadcast, item.user_id) for item in verdicts.send],
                    self._clock.now(),
                )
            )
        except BaseException:
            # Nothing of it was recorded: keep what was sent for the next round (the verdicts are simply
            # made again then).
            self._settled[:0], self._deliveries[:0] = settled, deliveries
            raise
        for index, item in enumerate(verdicts.send, 1):
            if (item.broadcast, item.user_id) not in claimed:
                continue  # cancelled meanwhile
            content = self._desk.content(plans[item.broadcast])
            if content is None:  # withdrawn or expired since the check above: never sent
                self._settled.append(Outcome(item.broadcast, item.user_id, State.CANCELLED, STOPPED))
            else:
                self._spawn(_Job(item, plans[item.broadcast], content))
            if index % SPAWN_SLICE == 0:
                await asyncio.sleep(0)  # let those start before the next slice (see SPAWN_SLICE)
        for broadcast_id, counts in verdicts.excluded.items():
            await self._desk.audit_excluded(broadcast_id, counts)
        if housekeeping:
            await self._report_finished()
        return bool(claimed or verdicts.outcomes)

    def _housekeeping_due(self) -> bool:
        """Starting due broadcasts and finishing ended ones: every round when idle, at most twice a second
        while sending (each is a few queries; at a thousand messages a second, rounds come fast)."""
        now = asyncio.get_running_loop().time()
        if now - self._kept_at < HOUSEKEEPING_SECONDS and self._tasks:
            return False
        self._kept_at = now
        return True

    async def _plan(self, broadcast_id: int) -> Plan | None:
        plan = self._plans.get(broadcast_id)
        if plan is None:
            row = await self._desk.get(broadcast_id)
            if row is None:
                return None
            plan = self._plans[broadcast_id] = plan_of(row)
        return plan

    def _spawn(self, job: _Job) -> None:
        task = asyncio.create_task(self._send(job))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if len(self._tasks) <= self._max_in_flight // 2:
            self._room.set()

    async def _send(self, job: _Job) -> None:
        item = job.due
        try:
            outcome = await self._attempt(job)
        except Exception as exc:
            log.error("broadcast.send_error", exc_info=exc, extra={"broadcast": item.broadcast})
            outcome = Outcome(
                item.broadcast, item.user_id, State.UNCERTAIN, "error", attempts=item.attempts + 1
            )
        self._settled.append(outcome)

    async def _attempt(self, job: _Job) -> Outcome:
        item, content = job.due, job.content
        attempts = item.attempts + 1
        if self._desk.is_cancelled(item.broadcast):
            return Outcome(item.broadcast, item.user_id, State.CANCELLED, attempts=item.attempts)
        to = Recipient(item.user_id, self._renderer.locale_for(item.language_code))
        delivery = None
        if isinstance(content, Template):
            text = self._renderer.template(content.id, to)
        else:
            check = self._offers.code_for(content, item.user_id)
            coupon = self._offers.coupon_for(content, item.user_id) if job.plan.coupons else None
            text = self._renderer.offer_card(content, to, check, marketing=True, code=coupon)
            delivery = Delivery(
                item.broadcast, item.user_id, content.key, content.digest, check, self._clock.now()
            )
        try:
            sent = await self._sender(
                SendMarketing(
                    chat_id=item.user_id,
                    text=text,
                    reply_markup=unsubscribe(self._renderer, to),
                    allow_paid_broadcast=True if self._paid else None,
                )
            )
        except GateRefused as refused:
            why = _REFUSAL_EXCLUSIONS.get(refused.reason)
            if why is Exclusion.NO_CONSENT:  # a STOP that arrived after the judging counts as an opt-out
                why = await self._desk.consent_exclusion(item.user_id)
            if why is not None:
                return Outcome(item.broadcast, item.user_id, State.EXCLUDED, why.value, attempts=attempts)
            return Outcome(item.broadcast, item.user_id, State.FAILED, "refused", attempts=attempts)
        except TelegramForbiddenError:  # blocked: the gate marked them unreachable
            return Outcome(
                item.broadcast, item.user_id, State.EXCLUDED, Exclusion.UNREACHABLE.value, attempts=attempts
            )
        except TelegramRetryAfter:  # not sent; the pause holds every claim; judged again after it
            return Outcome(item.broadcast, item.user_id, State.QUEUED, "flood", attempts=item.attempts)
        except TelegramServerError:
            if attempts > len(RETRY_BACKOFF):
                return Outcome(
                    item.broadcast, item.user_id, State.FAILED, "telegram_error", attempts=attempts
                )
            retry_at = self._clock.now() + RETRY_BACKOFF[attempts - 1]
            return Outcome(item.broadcast, item.user_id, State.QUEUED, "retry", retry_at, attempts)
        except TelegramNetworkError as exc:
            if never_sent(exc):
                self.offline += 1
                self._pause.extend(OFFLINE_PAUSE)  # and nothing else will be until it is back
                retry_at = self._clock.now() + OFFLINE_PAUSE
                return Outcome(item.broadcast, item.user_id, State.QUEUED, "offline", retry_at, item.attempts)
            return Outcome(item.broadcast, item.user_id, State.UNCERTAIN, "network", attempts=attempts)
        except TelegramAPIError:  # Telegram answered no (400 chat not found, 401, ...): not sent, final
            return Outcome(item.broadcast, item.user_id, State.FAILED, "rejected", attempts=attempts)
        except TimeoutError:
            return Outcome(item.broadcast, item.user_id, State.UNCERTAIN, "network", attempts=attempts)
        if delivery is not None:
            self._deliveries.append(delivery)
        return Outcome(
            item.broadcast, item.user_id, State.SENT, attempts=attempts, message_id=sent.message_id
        )

    async def _flush(self) -> None:
        outcomes, deliveries = self._settled, self._deliveries
        self._settled, self._deliveries = [], []
        if outcomes or deliveries:
            await self._repository.settle_and_claim(outcomes, deliveries, [], self._clock.now())

    async def _report_finished(self) -> None:
        """Finish broadcasts with nobody left to send to; audit and report each (once)."""
        if not self._tasks:
            await self._flush()
        await self._repository.finish_broadcasts(self._clock.now())
        rate = self._desk.limits.rate
        for row in await self._desk.unreported():
            progress = await self._desk.progress(row.id)
            if not await self._desk.finished(row, progress):
                continue
            if row.status == Status.STOPPED:
                await report_stopped(self._notifier, self._renderer, self._roles, row, progress, rate)
            elif row.started_at is not None:  # a broadcast cancelled before it started has nothing to report
                await report_finished(self._notifier, self._renderer, self._roles, row, progress, rate)


async def _unless_stopped(waiting: Awaitable[object], stop: asyncio.Event) -> None:
    """Wait for `waiting`, or until `stop` is set, whichever comes first."""
    tasks = {asyncio.ensure_future(waiting), asyncio.ensure_future(stop.wait())}
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
