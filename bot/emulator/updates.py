"""The pending-update queue with Telegram's confirmation rules.

An update stays pending until the bot confirms it: by calling getUpdates with an offset greater
than its id, or by a webhook answering 2xx. Update types outside `allowed_updates` are never
created, which is how Telegram applies that setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Telegram leaves these out unless they are asked for explicitly.
_OPT_IN_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass(frozen=True)
class PendingUpdate:
    """An update and the id it is ordered and confirmed by."""

    update_id: int
    payload: dict[str, Any]

    @property
    def kind(self) -> str | None:
        """The update type: its one field besides update_id."""
        return next((key for key in self.payload if key != "update_id"), None)


class UpdateQueue:
    def __init__(self, first_update_id: int = 1) -> None:
        self._pending: list[PendingUpdate] = []
        self._next_id = first_update_id
        self.allowed_updates: list[str] = []

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, payload: dict[str, Any]) -> tuple[PendingUpdate, bool]:
        """Queue an update, assigning update_id if missing; the flag is False when
        allowed_updates dropped it (it still consumed an id, as on Telegram).

        A non-integer update_id (a deliberately malformed update) is delivered untouched but
        ordered by an id the queue assigns.
        """
        given = payload.get("update_id")
        if isinstance(given, int) and not isinstance(given, bool):
            update_id = given
        else:
            update_id = self._next_id
            if "update_id" not in payload:
                payload = {"update_id": update_id, **payload}
        self._next_id = max(self._next_id, update_id + 1)
        update = PendingUpdate(update_id, payload)
        if not self._allowed(update.kind):
            return update, False
        index = len(self._pending)
        while index > 0 and self._pending[index - 1].update_id > update_id:
            index -= 1
        self._pending.insert(index, update)
        return update, True

    def _allowed(self, kind: str | None) -> bool:
        if kind is None:
            return True
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _OPT_IN_TYPES

    def confirm(self, offset: int) -> None:
        """Apply getUpdates' offset: forget ids below it; a negative offset keeps the last -offset."""
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset > 0:
            self._pending = [update for update in self._pending if update.update_id >= offset]

    def first(self) -> PendingUpdate | None:
        return self._pending[0] if self._pending else None

    def take(self, limit: int) -> list[PendingUpdate]:
        """The oldest `limit` pending updates; they stay pending until confirmed."""
        return self._pending[:limit]

    def remove(self, update_id: int) -> None:
        self._pending = [update for update in self._pending if update.update_id != update_id]

    def clear(self) -> None:
        self._pending.clear()
