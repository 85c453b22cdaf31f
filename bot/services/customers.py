"""Who talks to the bot: first contact, language, last seen, and whether they blocked the bot.

Every update comes from someone, so this sits on the hot path; it writes only when something changed or
the last-seen time is more than `resolution` seconds old, instead of once per message.
"""

from __future__ import annotations

from collections import OrderedDict

from bot.clock import Clock
from bot.storage import CustomerRow, Repository


class CustomerDirectory:
    def __init__(
        self, repository: Repository, clock: Clock, resolution: float = 60.0, remember: int = 10_000
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._resolution = resolution
        self._remember = remember
        self._recent: OrderedDict[int, tuple[str | None, float]] = OrderedDict()
        self._unreachable: set[int] = set()

    async def load(self) -> None:
        """Remember who blocked the bot, so the gate can refuse sends to them without a query each."""
        self._unreachable = set(await self._repository.blocked_users())

    def unreachable(self, user_id: int) -> bool:
        """Blocked the bot (or deleted their account) and has not written since."""
        return user_id in self._unreachable

    async def seen(self, user_id: int, language_code: str | None) -> None:
        """Record contact from `user_id` (which also clears a "blocked the bot" mark)."""
        now = self._clock.now()
        self._unreachable.discard(user_id)
        recent = self._recent.get(user_id)
        if recent is not None and recent[0] == language_code and now - recent[1] < self._resolution:
            return
        await self._repository.touch_user(user_id, language_code, now)
        self._recent[user_id] = (language_code, now)
        self._recent.move_to_end(user_id)
        if len(self._recent) > self._remember:
            self._recent.popitem(last=False)

    async def blocked(self, user_id: int) -> None:
        """Telegram said the user blocked the bot; their next message must clear the mark."""
        self._recent.pop(user_id, None)
        self._unreachable.add(user_id)
        await self._repository.mark_blocked(user_id, self._clock.now())

    async def profile(self, user_id: int) -> CustomerRow | None:
        return await self._repository.customer(user_id)

    async def exported(self, user_id: int) -> None:
        await self._repository.note_export(user_id, self._clock.now())

    async def erase(self, user_id: int) -> dict[str, int]:
        """Delete every operational row about the person (profile, consent ledger); rows per table."""
        self._recent.pop(user_id, None)
        self._unreachable.discard(user_id)
        return await self._repository.erase_customer(user_id)
