"""Honouring Telegram's flood control and riding out its transient errors (aiogram does not retry).

A 429 is Telegram telling the *bot* to slow down, so every call waits until `retry_after` has passed, not
only the one that got it. Server errors are retried a bounded number of times with backoff.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.clock import Clock

log = logging.getLogger("guardbot.retry")


class FloodControl(BaseRequestMiddleware):
    def __init__(
        self, clock: Clock, max_attempts: int = 5, backoff: tuple[float, ...] = (0.5, 1.0, 2.0)
    ) -> None:
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._resume_at = 0.0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == "getUpdates":  # the poller has its own backoff
            return await make_request(bot, method)
        attempt = 0
        while True:
            attempt += 1
            wait = self._resume_at - self._clock.now()
            if wait > 0:
                await self._clock.sleep(wait)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt >= self._max_attempts:
                    raise
                self._resume_at = max(self._resume_at, self._clock.now() + exc.retry_after)
                log.warning(
                    "telegram.flood_control",
                    extra={"method": method.__api_method__, "retry_after": exc.retry_after},
                )
            except TelegramServerError:
                if attempt >= self._max_attempts:
                    raise
                delay = self._backoff[min(attempt - 1, len(self._backoff) - 1)]
                log.warning(
                    "telegram.server_error",
                    extra={"method": method.__api_method__, "retry_in": delay},
                )
                await self._clock.sleep(delay)
