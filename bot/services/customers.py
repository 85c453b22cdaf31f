"""Who talks to the bot: first contact, language, last seen, whether they blocked the bot, and the
identifiers (names, phones, emails, order references) that must never reach another customer.

Every update comes from someone, so this sits on the hot path; it writes only when something changed or
the last-seen time is more than `resolution` seconds old, instead of once per message.

The identifier index is the gate's. Names come from Telegram with each update of a consenting customer and
live in memory only (nothing readable is stored; a name is guarded again from the person's next message
after a restart). Phones, emails and order references are stored sealed under the person's content key and
loaded into the index at start.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from bot.clock import Clock
from bot.gate.content import IdentifierIndex
from bot.storage import CustomerRow, Repository, SealedIdentifier

Names = tuple[str, str | None]
"""First and last name, as Telegram gives them."""


class Sealer(Protocol):
    async def seal(self, user_id: int, value: dict[str, str]) -> bytes: ...

    async def unseal(self, user_id: int, blob: bytes) -> dict[str, object] | None: ...


class CustomerDirectory:
    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        resolution: float = 60.0,
        remember: int = 10_000,
        identifiers: IdentifierIndex | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self._sealer = sealer
        self._repository = repository
        self._clock = clock
        self._resolution = resolution
        self._remember = remember
        self._recent: OrderedDict[int, tuple[str | None, Names | None, float]] = OrderedDict()
        self._unreachable: set[int] = set()
        self.identifiers = identifiers if identifiers is not None else IdentifierIndex()

    async def load(self) -> None:
        """Remember who blocked the bot, so the gate can refuse sends to them without a query each, and
        index every known identifier."""
        self._unreachable = set(await self._repository.blocked_users())
        for kind, value, owner in await self._opened(None):
            self.identifiers.add(owner, kind, value)

    async def add_identifier(self, user_id: int, kind: str, value: str) -> None:
        """Something the business knows about a customer (a phone from a form, an order reference)."""
        assert self._sealer is not None, "identifiers are stored sealed"
        sealed = await self._sealer.seal(user_id, {"value": value})
        await self._repository.add_identifier(SealedIdentifier(user_id, kind, sealed), self._clock.now())
        self.identifiers.add(user_id, kind, value)

    async def identifiers_of(self, user_id: int) -> list[tuple[str, str]]:
        """(kind, value) of every identifier stored about the person (their data export)."""
        return [(kind, value) for kind, value, _owner in await self._opened(user_id)]

    async def _opened(self, user_id: int | None) -> list[tuple[str, str, int]]:
        if self._sealer is None:
            return []
        found = []
        for row in await self._repository.identifiers(user_id):
            opened = await self._sealer.unseal(row.user_id, row.sealed)
            if opened is not None and isinstance(opened.get("value"), str):
                found.append((row.kind, str(opened["value"]), row.user_id))
        return found

    def unreachable(self, user_id: int) -> bool:
        """Blocked the bot (or deleted their account) and has not written since."""
        return user_id in self._unreachable

    async def seen(self, user_id: int, language_code: str | None, names: Names | None = None) -> None:
        """Record contact from `user_id` (which also clears a "blocked the bot" mark). `names` only for
        customers who accepted the notice: before that only their id is kept."""
        now = self._clock.now()
        self._unreachable.discard(user_id)
        recent = self._recent.get(user_id)
        if recent is not None and recent[:2] == (language_code, names) and now - recent[2] < self._resolution:
            return
        await self._repository.touch_user(user_id, language_code, now)
        if names is not None and (recent is None or recent[1] != names):
            await self._index_name(user_id, names, recent[1] if recent is not None else None)
        self._recent[user_id] = (language_code, names, now)
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
        """Delete every operational row about the person (profile, consent ledger, identifiers)."""
        self._recent.pop(user_id, None)
        self._unreachable.discard(user_id)
        self.identifiers.remove_owner(user_id)
        return await self._repository.erase_customer(user_id)

    async def _index_name(self, user_id: int, names: Names, before: Names | None) -> None:
        """Guard the person's current name (the full name; the first name alone when there is no last)."""
        if before is not None and before != names:
            self.identifiers.remove_owner(user_id)  # renamed: rebuild their entries without the old name
            for kind, value, _owner in await self._opened(user_id):
                self.identifiers.add(user_id, kind, value)
        first, last = names
        self.identifiers.add(user_id, "name", f"{first} {last}" if last else first)
