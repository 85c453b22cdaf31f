"""Getting updates into the dispatcher: long polling, and the tracked hand-off both modes share.

aiogram's own polling confirms an update before its handler runs and forgets handlers at shutdown, and one
malformed update makes its whole batch undecodable, forever. So Guardbot polls itself: each update is parsed
on its own (a bad one is logged and skipped), every handler runs as a tracked task that shutdown waits for,
and the last offset is confirmed on the way out so a clean restart does not redeliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from pydantic import ValidationError

log = logging.getLogger("guardbot.updates")


class UpdateFeeder:
    """Runs each update through the dispatcher as a task it keeps track of."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, max_in_flight: int = 200) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._tasks: set[asyncio.Task[None]] = set()
        self._capacity = asyncio.Semaphore(max_in_flight)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def feed(self, update: Update) -> None:
        """Start handling `update`; waits only when `max_in_flight` updates are already running."""
        await self._capacity.acquire()
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, update: Update) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except Exception as exc:  # the error router should have handled it; never lose the loop
            log.error("update.unhandled_error", exc_info=exc, extra={"update_id": update.update_id})
        finally:
            self._capacity.release()

    async def drain(self, timeout: float) -> int:  # noqa: ASYNC109 - a deadline, not a cancel scope
        """Wait for in-flight updates to finish; return how many were still running at the timeout."""
        if not self._tasks:
            return 0
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        return len(pending)


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """`getUpdates` returning raw dicts, so each update is validated on its own."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


def parse_update(bot: Bot, raw: dict[str, Any]) -> Update | None:
    """Validate one update; a malformed one is logged by id only (its content may be personal)."""
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

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; then confirm what was fetched."""
        backoff = Backoff(BackoffConfig(min_delay=0.5, max_delay=10.0, factor=1.5, jitter=0.1))
        while not stop.is_set():
            fetch = asyncio.ensure_future(self._fetch())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():
                fetch.cancel()
                await asyncio.gather(fetch, return_exceptions=True)
                break
            stopping.cancel()
            try:
                batch = fetch.result()
            except Exception as exc:
                delay = next(backoff)
                log.warning("polling.failed", exc_info=exc, extra={"retry_in": round(delay, 2)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                continue
            backoff.reset()
            for raw in batch:
                update_id = raw.get("update_id")
                if isinstance(update_id, int):
                    self._offset = update_id + 1
                update = parse_update(self._bot, raw)
                if update is not None:
                    await self._feeder.feed(update)
        await self._confirm()

    async def _fetch(self) -> list[dict[str, Any]]:
        method = GetRawUpdates(
            offset=self._offset, timeout=self._timeout, allowed_updates=self._allowed_updates
        )
        return await self._bot(method, request_timeout=self._timeout + 15)

    async def _confirm(self) -> None:
        """Tell Telegram the fetched updates are taken (offset confirms everything below it)."""
        if self._offset is None:
            return
        try:
            await self._bot(GetRawUpdates(offset=self._offset, limit=1, timeout=0))
        except Exception as exc:  # noqa: BLE001 - a redelivery after restart is harmless: claimed once
            log.info("polling.confirm_failed", extra={"error": type(exc).__name__})
