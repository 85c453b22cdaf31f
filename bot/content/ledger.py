"""The gate's memory of what was rendered from approved content, for whom.

aiogram's pydantic method models turn a `str` subclass back into a plain `str`, so "this text is approved"
cannot travel on the string itself. Instead the renderer *issues* each rendering here, bound to its
audience (the chat it was rendered for), and the gate *redeems* it when the call goes out. A rendering is
single-use and expires, so a text rendered for one customer cannot be replayed to another.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock import Clock

Audience = int | str | None
"""A chat id, or None for texts shown to every user (command descriptions)."""


@dataclass(frozen=True)
class Origin:
    """Which approved entry a text was rendered from."""

    key: str
    digest: str
    locale: str
    catalog_version: str
    marketing: bool = False
    """Marketing content: the gate sends it only with the recipient's valid marketing consent."""


_Key = tuple[Audience, str]


class RenderLedger:
    def __init__(self, clock: Clock, ttl: float = 900.0, capacity: int = 200_000) -> None:
        self._clock = clock
        self._ttl = ttl
        self._capacity = capacity
        self._issued: dict[_Key, deque[tuple[float, Origin]]] = {}
        self._expiries: deque[tuple[float, _Key]] = deque()
        self._callback_owners: dict[str, int] = {}
        self._callback_expiries: deque[tuple[float, str]] = deque()

    def issue(self, audience: Audience, text: str, origin: Origin) -> None:
        now = self._clock.now()
        self._purge(now)
        key = (audience, str(text))
        self._issued.setdefault(key, deque()).append((now + self._ttl, origin))
        self._expiries.append((now + self._ttl, key))

    def peek(self, audience: Audience, texts: Sequence[str]) -> list[Origin] | None:
        """What `redeem` would return, without consuming anything."""
        self._purge(self._clock.now())
        needed = Counter(str(t) for t in texts)
        for text, count in needed.items():
            if len(self._issued.get((audience, text), ())) < count:
                return None
        taken: Counter[str] = Counter()
        origins = []
        for text in texts:
            key = str(text)
            origins.append(self._issued[(audience, key)][taken[key]][1])
            taken[key] += 1
        return origins

    def redeem(self, audience: Audience, texts: Sequence[str]) -> list[Origin] | None:
        """Consume one issued rendering per text, all or nothing; None if any text was not issued."""
        origins = self.peek(audience, texts)
        if origins is None:
            return None
        for text in texts:
            key = (audience, str(text))
            queue = self._issued[key]
            queue.popleft()
            if not queue:
                del self._issued[key]
        return origins

    def note_callback(self, callback_query_id: str, user_id: int) -> None:
        """Remember who pressed a button, so an answer to that press is bound to that person."""
        now = self._clock.now()
        self._purge(now)
        self._callback_owners[callback_query_id] = user_id
        self._callback_expiries.append((now + self._ttl, callback_query_id))

    def callback_owner(self, callback_query_id: str) -> int | None:
        return self._callback_owners.get(callback_query_id)

    def __len__(self) -> int:
        return sum(len(q) for q in self._issued.values())

    def _purge(self, now: float) -> None:
        while self._expiries and (self._expiries[0][0] <= now or len(self._expiries) > self._capacity):
            expiry, key = self._expiries.popleft()
            queue = self._issued.get(key)
            # Redemption takes the oldest first, so the oldest left is the one this expiry belongs to
            # unless it was already redeemed (then the head expires later and stays).
            if queue and queue[0][0] <= expiry:
                queue.popleft()
                if not queue:
                    del self._issued[key]
        while self._callback_expiries and (
            self._callback_expiries[0][0] <= now or len(self._callback_expiries) > self._capacity
        ):
            self._callback_owners.pop(self._callback_expiries.popleft()[1], None)
