"""Offers as policy: their terms, when they may be served and to whom, and the four-eyes rule.

An offer is the same thing whether it was deployed in the catalog (approved by deployment) or proposed at run
time by marketing (approved by a compliance officer who is not its author). Approval binds to the digest of
the exact terms: terms that change after approval are a new, pending proposal.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

MAX_DISCOUNT = 90
"""Higher discounts are refused outright: no business means "95% off" in a chat."""
MAX_OFFER_TEXT = 1000
_CODE = re.compile(r"[A-Z0-9]{4,20}")
_PERCENT = re.compile(r"\s*(\d{1,3})\s*%?\s*")
_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})\s*")


class Audience(StrEnum):
    EVERYONE = "everyone"
    """Every customer who accepted the privacy notice and asks for offers."""
    OPTED_IN = "opted_in"
    """Only customers who also hold valid marketing consent."""


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class OfferTerms:
    texts: Mapping[str, str]
    """Locale → the offer's text."""
    discount: int
    """Percent."""
    code: str
    """The promo code customers use at checkout."""
    valid_from: float
    valid_until: float
    audience: Audience = Audience.EVERYONE
    locales: tuple[str, ...] = ()
    """Empty: every locale (texts fall back to the default locale)."""

    def canonical(self) -> dict[str, object]:
        return {
            "texts": dict(sorted(self.texts.items())),
            "discount": self.discount,
            "code": self.code,
            "valid_from": int(self.valid_from),  # whole seconds: canonical JSON has no floats
            "valid_until": int(self.valid_until),
            "audience": self.audience.value,
            "locales": list(self.locales),
        }

    @property
    def digest(self) -> str:
        """What an approval binds to."""
        encoded = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()

    @classmethod
    def from_canonical(cls, value: Mapping[str, object]) -> OfferTerms:
        texts = value["texts"]
        locales = value.get("locales", [])
        assert isinstance(texts, dict)
        assert isinstance(locales, list)
        return cls(
            texts={str(k): str(v) for k, v in texts.items()},
            discount=int(str(value["discount"])),
            code=str(value["code"]),
            valid_from=float(str(value["valid_from"])),
            valid_until=float(str(value["valid_until"])),
            audience=Audience(str(value.get("audience", Audience.EVERYONE.value))),
            locales=tuple(str(loc) for loc in locales),
        )

    def valid_at(self, now: float) -> bool:
        return self.valid_from <= now < self.valid_until

    def serves(self, locale: str) -> bool:
        return not self.locales or locale in self.locales


@dataclass(frozen=True)
class Offer:
    """An offer that may be served: its stable key (`catalog:ID` or `runtime:N`), terms and their digest."""

    key: str
    terms: OfferTerms
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", self.terms.digest)

    @property
    def runtime(self) -> bool:
        return self.key.startswith("runtime:")


def eligible(offer: Offer, *, locale: str, marketing: bool, now: float) -> bool:
    """May this offer be shown to a customer of `locale` (with or without valid marketing consent) now?"""
    terms = offer.terms
    if not terms.valid_at(now) or not terms.serves(locale):
        return False
    return terms.audience is Audience.EVERYONE or marketing


def may_decide(author: int, decider: int) -> bool:
    """Four eyes: nobody approves or rejects their own proposal, whatever roles they hold."""
    return author != decider


# --- parsing what a marketer types in the guided flow -------------------------------------------------------


def parse_discount(text: str) -> int | None:
    """ "15", "15%", " 15 % " → 15; None unless 1..MAX_DISCOUNT."""
    match = _PERCENT.fullmatch(text)
    if match is None:
        return None
    value = int(match.group(1))
    return value if 1 <= value <= MAX_DISCOUNT else None


def parse_code(text: str) -> str | None:
    """A promo code: 4-20 letters and digits, upper-cased."""
    code = text.strip().upper()
    return code if _CODE.fullmatch(code) else None


def parse_until(text: str, now: float, *, max_days: int = 366) -> float | None:
    """ "2026-12-31" → the end of that day (UTC); None unless after now and within `max_days`."""
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    try:
        day = datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=UTC)
    except ValueError:
        return None
    end = float(int(datetime.combine(day.date(), time.max, tzinfo=UTC).timestamp()))
    latest = (datetime.fromtimestamp(now, UTC) + timedelta(days=max_days)).timestamp()
    return end if now < end <= latest else None


def parse_offer_text(text: str) -> str | None:
    cleaned = text.strip()
    return cleaned if 0 < len(cleaned) <= MAX_OFFER_TEXT else None


def parse_proposal_ref(args: str | None) -> tuple[int | None, str]:
    """A command's `ID [REASON…]` → (id, the rest); id None unless a plain number of at most 12 digits."""
    head, _, rest = (args or "").strip().partition(" ")
    if not head.isascii() or not head.isdigit() or len(head) > 12:
        return None, ""
    return int(head), rest.strip()
