"""Getting updates into the dispatcher: accepting each once, running it in order per sender, and polling.

Delivery semantics (DESIGN.md): Telegram redelivers what was not confirmed (polling) or not answered 2xx
(webhook). So an update counts as received once it is *accepted*: recorded in the audit log (audit first:
before anything acts on it), then claimed in the database by `(bot id, update_id)`. Only then is it confirmed
to Telegram (the next `getUpdates` offset, or the webhook's 200), and a redelivered duplicate is dropped —
a crash between recording and claiming means a second delivery and a second record, never a lost update.
Handling runs as a tracked task, so shutdown can wait for it, and one sender's updates are handled one at
a time, in order ("stop" must not overtake "start").

aiogram's own polling confirms before anything is recorded and makes a whole batch undecodable when one
update is malformed, so Guardbot polls itself: each update is validated on its own and a bad one is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from pydantic import ValidationError

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.storage import Repository
from bot.telegram.inbound import KeepsContent, record_inbound, record_malformed

log = logging.getLogger("guardbot.updates")

KEEP_CLAIMS_SECONDS = 6 * 24 * 3600
"""Telegram picks update ids at random after a week without updates; older claims must be gone by then."""
PRUNE_EVERY_SECONDS = 3600


class _InOrderPerSender:
    """One lock per sender, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, sender: int | None) -> AsyncIterator[None]:
        if sender is None:
            yield
            return
        lock, users = self._locks.get(sender, (asyncio.Lock(), 0))
        self._locks[sender] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[sender]
            if users == 1:
                del self._locks[sender]
            else:
                self._locks[sender] = (lock, users - 1)


def sender_of(update: Update) -> int | None:
    user = UserContextMiddleware.resolve_event_context(update).user
    return user.id if user else None


class UpdateFeeder:
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        repository: Repository,
        trail: AuditTrail,
        clock: Clock,
        max_in_flight: int = 200,
        keeps_content: KeepsContent | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._repository = repository
        self._trail = trail
        self._clock = clock
        self._keeps_content = keeps_content
        self._tasks: set[asyncio.Task[None]] = set()
        self._capacity = asyncio.Semaphore(max_in_flight)
        self._senders = _InOrderPerSender()
        self._pruned_at = 0.0

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def accept(self, update: Update) -> bool:
        """Record, claim and start handling `update`; False for a duplicate. Raises if it could not be
        recorded or claimed (then it must not be confirmed to Telegram, which will deliver it again)."""
        return (await self.accept_batch([update]))[0]

    async def accept_batch(self, updates: Sequence[Update]) -> list[bool]:
        """`accept` for a batch: the audit records are written together (one group commit)."""
        await asyncio.gather(
            *(record_inbound(self._trail, update, self._keeps_content) for update in updates)
        )
        return [await self._claim_and_start(update) for update in updates]

    async def reject(self, raw: object) -> None:
        """Record a delivery that is not a valid update (it is then confirmed and skipped)."""
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        await record_malformed(self._trail, update_id)

    async def _claim_and_start(self, update: Update) -> bool:
        now = self._clock.now()
        if now - self._pruned_at > PRUNE_EVERY_SECONDS:
            await self._repository.forget_updates_before(now - KEEP_CLAIMS_SECONDS)
            self._pruned_at = now
        if not await self._repository.claim_update(self._bot.id, update.update_id, now):
            log.info("update.duplicate", extra={"update_id": update.update_id})
            return False
        await self._capacity.acquire()
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _handle(self, update: Update) -> None:
        try:
            async with self._senders.turn(sender_of(update)):
                await self._dispatcher.feed_update(self._bot, update)
        except Exception as exc:  # the error router should have handled it; never lose the loop
            log.error("update.unhandled_error", exc_info=exc, extra={"update_id": update.update_id})
        finally:
            self._capacity.release()

    async def drain(self, timeout: float) -> int:  # noqa: ASYNC109 - a deadline, not a cancel scope
        """Wait for in-flight updates (including ones started while waiting); after `timeout`, cancel the
        rest and return how many were cancelled, so nothing runs on after the database is closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)
        abandoned = set(self._tasks)
        for task in abandoned:
            task.cancel()
        await asyncio.gather(*abandoned, return_exceptions=True)
        return len(abandoned)


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """`getUpdates` returning raw dicts, so each update is validated on its own."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


def parse_update(bot: Bot, raw: object) -> Update | None:
    """Validate one update; a malformed one is logged by id only (its content may be personal)."""
    if not isinstance(raw, dict):
        log.warning("update.malformed", extra={"update_id": None, "problems": 1})
        return None
    try:
        return Update.model_validate(raw, context={"bot": bot})
    except ValidationError as exc:
        log.warning(
            "update.malformed",
            extra={"update_id": raw.get("update_id"), "problems": exc.error_count()},
        )
        return None


class Poller:
    def __init__(
        self,
        bot: Bot,
        feeder: UpdateFeeder,
        allowed_updates: list[str],
        timeout: int = 25,
    ) -> None:
        self._bot = bot
        self._feeder = feeder
        self._allowed_updates = allowed_updates
        self._timeout = timeout
        self._offset: int | None = None
        self._backoff = Backoff(BackoffConfig(min_delay=0.5, max_delay=10.0, factor=1.5, jitter=0.1))

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; then confirm what was accepted."""
        while not stop.is_set():
            batch = await self._fetch_unless_stopped(stop)
            if batch is None:
                break
            try:
                await self._accept_all(batch)
            except Exception as exc:  # noqa: BLE001 - logged; e.g. a claim failed: retry from that update
                await self._pause_after(exc, stop)
                continue
            self._backoff.reset()
        await self._confirm()

    async def _fetch_unless_stopped(self, stop: asyncio.Event) -> list[dict[str, Any]] | None:
        """The next batch, [] after an error (having backed off), or None once `stop` is set."""
        fetch = asyncio.ensure_future(self._fetch())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return None
        try:
            return fetch.result()
        except Exception as exc:  # noqa: BLE001 - logged by _pause_after
            await self._pause_after(exc, stop)
            return []

    async def _accept_all(self, batch: list[dict[str, Any]]) -> None:
        updates = []
        for raw in batch:
            update = parse_update(self._bot, raw)
            if update is None:
                await self._feeder.reject(raw)
            else:
                updates.append(update)
        await self._feeder.accept_batch(updates)
        ids = [
            raw["update_id"]
            for raw in batch
            if isinstance(raw, dict) and isinstance(raw.get("update_id"), int)
        ]
        if ids:
            self._offset = max(ids) + 1  # confirmed by the next getUpdates

    async def _pause_after(self, exc: Exception, stop: asyncio.Event) -> None:
        delay = next(self._backoff)
        log.warning("polling.failed", exc_info=exc, extra={"retry_in": round(delay, 2)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _fetch(self) -> list[dict[str, Any]]:
        method = GetRawUpdates(
            offset=self._offset, timeout=self._timeout, allowed_updates=self._allowed_updates
        )
        return await self._bot(method, request_timeout=self._timeout + 15)

    async def _confirm(self) -> None:
        """Tell Telegram the accepted updates are taken (an offset confirms everything below it)."""
        if self._offset is None:
            return
        try:
            await self._bot(GetRawUpdates(offset=self._offset, limit=1, timeout=0))
        except Exception as exc:  # noqa: BLE001 - a redelivery after restart is harmless: claimed once
            log.info("polling.confirm_failed", extra={"error": type(exc).__name__})
