"""The pacer's guarantees, on the moments calls are let through: never more than `rate` in any second, never
two to one chat within a second, nothing through during a flood pause — with many callers at once."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from itertools import pairwise

from bot.gate.pacing import Pacer
from bot.gate.retry import FloodPause


def busiest(times: list[float], span: float = 1.0) -> int:
    window: deque[float] = deque()
    most = 0
    for at in sorted(times):
        window.append(at)
        while window[0] <= at - span:
            window.popleft()
        most = max(most, len(window))
    return most


async def let_through(pacer: Pacer, chats: list[int]) -> list[tuple[int, float]]:
    loop = asyncio.get_running_loop()
    moments: list[tuple[int, float]] = []

    async def call(chat: int) -> None:
        await pacer.slot(chat)
        moments.append((chat, loop.time()))

    await asyncio.gather(*(call(chat) for chat in chats))
    return moments


async def test_never_above_the_rate_in_any_second_and_evenly_spaced() -> None:
    pacer = Pacer(100, FloodPause())
    moments = await let_through(pacer, list(range(250)))
    times = [at for _, at in moments]
    assert busiest(times) <= 100
    assert max(times) - min(times) >= 2.0  # 250 calls at 100/s take at least 2 s
    assert busiest(times, span=0.1) <= 12  # spread out, not bursts at each second


async def test_one_message_per_second_per_chat() -> None:
    pacer = Pacer(200, FloodPause())
    moments = await let_through(pacer, [1, 1, 1, 2, 2, 3])
    for chat in (1, 2):
        times = sorted(at for who, at in moments if who == chat)
        assert all(later - earlier >= 1.0 for earlier, later in pairwise(times))


async def test_nothing_goes_during_a_flood_pause() -> None:
    pause = FloodPause()
    pacer = Pacer(50, pause)
    loop = asyncio.get_running_loop()
    pause.extend(0.5)
    paused_until = loop.time() + 0.45
    moments = await let_through(pacer, list(range(20)))
    assert min(at for _, at in moments) >= paused_until
    assert busiest([at for _, at in moments]) <= 50


async def test_a_stalled_loop_catches_up_at_twice_the_rate_without_exceeding_it() -> None:
    """A call woken late still goes (its slot is not lost), but the catching up stays within the rate in any
    second, and goes at most twice as fast as the rate, never in one burst."""
    pacer = Pacer(100, FloodPause())
    loop = asyncio.get_running_loop()
    times: list[float] = []
    stalled: list[float] = []
    under_way = asyncio.Event()

    async def call(chat: int) -> None:
        await pacer.slot(chat)
        times.append(loop.time())
        if len(times) == 30:
            under_way.set()

    async def stall() -> None:
        await under_way.wait()
        time.sleep(0.25)  # noqa: ASYNC251 - the point: the whole event loop is held up
        stalled.append(loop.time())

    await asyncio.gather(*(call(chat) for chat in range(150)), stall())
    assert busiest(times) <= 100
    # Twice the rate: 4 (2 x 100/s x 20 ms) in any 20 ms by the pacer's clock, read a moment before ours.
    assert busiest(times, 0.018) <= 4
    # The ~24 slots due during the stall are caught up: the rate alone would let 29 through in 0.3 s.
    assert len([at for at in times if stalled[0] <= at < stalled[0] + 0.3]) >= 45
