"""Pacing broadcast sends to Telegram's limits: `rate` messages per second overall, one per second per chat.

It is the innermost request middleware of the broadcast engine's session, so every *attempt* passes it,
retries after a 429 included: a pause never ends in a burst. Slots are reserved in order (so concurrent
senders are spaced `1/rate` apart) and checked against a sliding one-second window with a small margin, so
the network's jitter cannot put `rate + 1` requests into any one second as Telegram counts them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.gate.retry import FloodPause

PER_CHAT_SECONDS = 1.0
WINDOW_MARGIN = 0.03
"""Seconds added to the one-second window: what a late wake-up (`LATE`) and request jitter between here
and Telegram may eat."""
LATE = 0.01
"""A call that wakes this much after its slot (the event loop was busy) queues again: late calls must not
bunch up with the ones whose slots follow theirs."""


class Pacer(BaseRequestMiddleware):
    def __init__(self, rate: float, pause: FloodPause, monotonic: Callable[[], float] | None = None) -> None:
        self._interval = 1.0 / rate
        self._per_window = max(1, int(rate))
        self._pause = pause
        self._monotonic = monotonic
        self._next = 0.0
        self._window: deque[float] = deque()
        self._chat_next: dict[int, float] = {}
        self._pruned_at = 0.0
        self.waited = 0.0
        """Seconds spent waiting for slots (the benchmark reports it)."""
        self.requeued = 0
        """Slots given up (a pause, a late wake-up)."""

    def _now(self) -> float:
        return self._monotonic() if self._monotonic else asyncio.get_running_loop().time()

    def reserve(self, chat: int | None, now: float) -> float:
        """The earliest moment this call may go, taken (synchronously: no other call can take it too)."""
        at = max(now, self._next)
        if chat is not None:
            at = max(at, self._chat_next.get(chat, 0.0))
        window = self._window
        if len(window) >= self._per_window:
            at = max(at, window[-self._per_window] + 1.0 + WINDOW_MARGIN)
        self._next = at + self._interval
        window.append(at)
        while len(window) > self._per_window:
            window.popleft()
        if chat is not None:
            self._chat_next[chat] = at + PER_CHAT_SECONDS
            if now - self._pruned_at > 10.0:
                self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
                self._pruned_at = now
        return at

    async def slot(self, chat: int | None) -> None:
        """Wait for this call's turn: after any flood pause, then at its reserved moment."""
        while True:
            await self._pause.wait()
            now = self._now()
            at = self.reserve(chat, now)
            if at > now:
                self.waited += at - now
                await asyncio.sleep(at - now)
            # A 429 arrived while we waited, or we woke too late: the slot is void; queue again.
            if self._pause.left() <= 0 and self._now() - at <= LATE:
                return
            self.requeued += 1

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat = getattr(method, "chat_id", None)
        await self.slot(chat if isinstance(chat, int) else None)
        return await make_request(bot, method)
