"""Honouring Telegram's flood control and riding out its transient errors (aiogram does not retry).

A 429 is Telegram telling the *bot* to slow down, so every call waits until `retry_after` has passed, not
only the one that got it: the pause is one `FloodPause`, shared by every session of the bot (the
conversation's and the broadcast engine's) and by the broadcast pacer. Server errors are retried a bounded
number of times with backoff, except where the caller retries itself (the broadcast engine, which must
decide whether a send is repeated).
"""

from __future__ import annotations

import asyncio
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


class FloodPause:
    """Until when Telegram asked the bot to send nothing. Monotonic time (the event loop's), not the wall
    clock: a clock step must neither stretch a pause nor cut it short."""

    def __init__(self) -> None:
        self.resume_at = 0.0

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def extend(self, seconds: float) -> None:
        self.resume_at = max(self.resume_at, self._now() + seconds)

    def left(self) -> float:
        return self.resume_at - self._now() if self.resume_at else 0.0

    async def wait(self) -> None:
        """Return once no pause is in force (a pause extended meanwhile is waited for too)."""
        while (wait := self.left()) > 0:  # noqa: ASYNC110 - a deadline that may move, not a poll
            await asyncio.sleep(wait)


class FloodControl(BaseRequestMiddleware):
    def __init__(
        self,
        clock: Clock,
        max_attempts: int = 5,
        backoff: tuple[float, ...] = (0.5, 1.0, 2.0),
        *,
        pause: FloodPause | None = None,
        retry_server_errors: bool = True,
    ) -> None:
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = backoff
        self.pause = pause or FloodPause()
        self._retry_server_errors = retry_server_errors

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
            await self.pause.wait()
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.pause.extend(exc.retry_after)  # for every call, even when this one is not retried
                if attempt >= self._max_attempts:
                    raise
                log.warning(
                    "telegram.flood_control",
                    extra={"method": method.__api_method__, "retry_after": exc.retry_after},
                )
            except TelegramServerError:
                if attempt >= self._max_attempts or not self._retry_server_errors:
                    raise
                delay = self._backoff[min(attempt - 1, len(self._backoff) - 1)]
                log.warning(
                    "telegram.server_error",
                    extra={"method": method.__api_method__, "retry_in": delay},
                )
                await self._clock.sleep(delay)
