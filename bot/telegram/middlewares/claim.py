"""Claim each `update_id` once, so a redelivered update (webhook retry, re-polled batch) is not redone."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.clock import Clock
from bot.storage import Repository

log = logging.getLogger("guardbot.updates")

KEEP_CLAIMS_SECONDS = 7 * 24 * 3600
"""Telegram redelivers for at most 24 hours; a week of claims is ample and keeps the table small."""
PRUNE_EVERY = 1000


class ClaimUpdate(BaseMiddleware):
    def __init__(self, repository: Repository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock
        self._claims = 0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        now = self._clock.now()
        if not await self._repository.claim_update(event.update_id, now):
            log.info("update.duplicate", extra={"update_id": event.update_id})
            return None
        self._claims += 1
        if self._claims % PRUNE_EVERY == 0:
            await self._repository.forget_updates_before(now - KEEP_CLAIMS_SECONDS)
        return await handler(event, data)
