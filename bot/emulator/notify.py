"""Change notification, so waiting code (long polls, webhook delivery, tests) wakes on the next
state change instead of polling with sleeps.

`Signal.notify` is synchronous on purpose: the test-facing user API (`alice.send(...)`) is plain
synchronous code and must be able to wake waiters without awaiting a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Signal:
    """A broadcast "something changed" with no payload; waiters re-check their condition."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, within: float | None = None) -> bool:
        """Wait for the next `notify`; False if `within` seconds passed first."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, within)
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)
        return True

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        within: float | None,
        *,
        recheck: float | None = None,
    ) -> bool:
        """Wait until `predicate()` is true; False if `within` seconds pass first.

        The predicate is checked before each wait, and nothing else runs between the check and
        the registration of the waiter, so no notification can be missed. `recheck` also
        re-evaluates it every so many seconds, for predicates that look beyond the emulator
        (log records, a database) and so are never announced by `notify`.
        """
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while not predicate():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            if recheck is not None:
                remaining = recheck if remaining is None else min(remaining, recheck)
            await self.wait(remaining)
        return True
