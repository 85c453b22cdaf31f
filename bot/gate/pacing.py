"""Pacing broadcast sends to Telegram's limits: `rate` messages per second overall, one per second per chat.

It is the innermost request middleware of the broadcast engine's session, so every attempt passes it. Two
rules, both on the event loop's monotonic clock:

- spacing: each call reserves the next slot, evenly spaced at `PACE` of the rate (a little under it), so
  concurrent senders go out evenly rather than in bursts. A call woken late (a busy event loop) still goes:
  slots are not lost, they are caught up, at up to `CATCH_UP` times the rate (at least one call per
  `BURST_SECONDS`, which is more than that below 25 a second). All at once, a catch-up
  would queue up at the far end, and the last of it arrive late enough to crowd the next second;
- the limits themselves, on the moments calls actually go: a call waits until fewer than `rate` calls went
  in the last second (plus a small margin), and until its chat had nothing for a second. Catching up can
  never make calls bunch above the limit.

Telegram counts calls as they arrive, some milliseconds after they leave here, and not all equally late:
a second of arrivals can hold calls that left over a little more than a second. Pacing at `PACE` of the
rate leaves that room; the margin is the limit's own share of it.

A flood pause (a 429, shared by the whole bot) voids a reserved slot: the call queues again behind it.
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
PACE = 0.96
"""The share of the rate the spacing aims at: the rest is room for calls arriving unevenly late."""
WINDOW_MARGIN = 0.04
"""Seconds added to the one-second window of the hard limit, for the same reason."""
CATCH_UP = 2.0
BURST_SECONDS = 0.02
"""Catching up, at most `CATCH_UP` times the rate's share of calls in any `BURST_SECONDS`."""
_PRUNE_EVERY = 10.0


class Pacer(BaseRequestMiddleware):
    def __init__(self, rate: float, pause: FloodPause, monotonic: Callable[[], float] | None = None) -> None:
        self._interval = 1.0 / (rate * PACE)
        self._per_window = max(1, int(rate))
        self._per_burst = max(1, int(rate * BURST_SECONDS * CATCH_UP))
        self._pause = pause
        self._monotonic = monotonic
        self._next = 0.0
        self._sent: deque[float] = deque(maxlen=self._per_window)
        self._chat_sent: dict[int, float] = {}
        self._pruned_at = 0.0
        self.waited = 0.0
        """Seconds spent waiting for slots (the benchmark reports it)."""
        self.requeued = 0
        """Slots given up because a flood pause began."""

    def _now(self) -> float:
        return self._monotonic() if self._monotonic else asyncio.get_running_loop().time()

    def reserve(self, now: float) -> float:
        """The next slot, taken (synchronously: no other call can take it too)."""
        at = max(now, self._next)
        self._next = at + self._interval
        return at

    def free_at(self, chat: int | None) -> float:
        """When a call may go without exceeding the rate in any second, the catch-up speed in any burst, or
        a chat's one per second."""
        at = self._sent[0] + 1.0 + WINDOW_MARGIN if len(self._sent) == self._per_window else 0.0
        if len(self._sent) >= self._per_burst:
            at = max(at, self._sent[-self._per_burst] + BURST_SECONDS)
        if chat is not None:
            at = max(at, self._chat_sent.get(chat, float("-inf")) + PER_CHAT_SECONDS)
        return at

    def _went(self, chat: int | None, now: float) -> None:
        self._sent.append(now)
        if chat is not None:
            self._chat_sent[chat] = now
            if now - self._pruned_at > _PRUNE_EVERY:
                cutoff = now - PER_CHAT_SECONDS
                self._chat_sent = {c: t for c, t in self._chat_sent.items() if t > cutoff}
                self._pruned_at = now

    async def _sleep(self, seconds: float) -> None:
        self.waited += seconds
        await asyncio.sleep(seconds)

    async def slot(self, chat: int | None) -> None:
        """Wait for this call's turn: after any flood pause, at its reserved moment, within the limits."""
        while True:
            await self._pause.wait()
            now = self._now()
            at = self.reserve(now)
            if at > now:
                await self._sleep(at - now)
            while (now := self._now()) < (free := self.free_at(chat)) and self._pause.left() <= 0:
                await self._sleep(free - now)
            if self._pause.left() <= 0:
                self._went(chat, now)
                return
            self.requeued += 1  # a 429 arrived while we waited: queue again behind the pause

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat = getattr(method, "chat_id", None)
        await self.slot(chat if isinstance(chat, int) else None)
        return await make_request(bot, method)
