"""Which content checks apply to a call, from what its texts were rendered from.

- Everything: sensitive data (cards, IBANs) and claims (a discount, price or promo code that no approved,
  currently valid offer states) — so an expired or rejected offer cannot go out even if something renders it.
- Not verbatim catalog content (a marketer's runtime offer, a proposal under review, later agent free text):
  also personal data of another customer.
- A proposal under review (`proposal:N`, shown to staff only) states what it proposes: its own claims are
  not "unapproved" there, only elsewhere.
- A signed audit checkpoint is base64 by design: no promo-code check on it.
- A file issued for the chat (the person's own data export) is not scanned: it is theirs, and its ledger
  token is a hash, not text anyone reads. Nor is a secure link's URL: the bot made it, and its random token
  could look like anything (a promo code, a digit run).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.content.ledger import Origin
from bot.gate.content import ApprovedClaims, ClaimsSource, ContentChecker, IdentifierIndex, claims_in
from bot.services.sensitive import SensitiveGuard

FREE_TEXT = ("offer:runtime:", "proposal:", "free:")
REVIEW = ("proposal:", "relay:")
"""Shown to staff for them to read (a proposal under review, a customer's relayed words): what it states is
not a promise to anyone, so its own claims pass; sensitive data still does not."""
CHECKPOINT = "text:audit.checkpoint"
ATTACHMENT = "\x00file\x00"
GENERATED = "secure_link:"


class _Stated:
    """Claims approved because the texts under review state them (for staff reviewing a proposal)."""

    def __init__(self, texts: Sequence[str]) -> None:
        found = [claims_in(text) for text in texts]
        self._claims = ApprovedClaims(
            frozenset().union(*(c.percents for c in found)),
            frozenset().union(*(c.amounts for c in found)),
            frozenset().union(*(c.codes for c in found)),
        )

    def approved_claims(self) -> ApprovedClaims:
        return self._claims

    def personal_codes(self, user_id: int | None) -> frozenset[str]:
        return frozenset()


class ContentPolicy:
    def __init__(
        self, claims: ClaimsSource, identifiers: IdentifierIndex, guard: SensitiveGuard | None = None
    ) -> None:
        self.identifiers = identifiers
        self._checker = ContentChecker(claims, identifiers)
        self._guard = guard

    def problem(self, texts: Sequence[str], person: int | None, origins: Sequence[Origin]) -> str | None:
        shown = [
            text
            for text, origin in zip(texts, origins, strict=False)
            if not text.startswith(ATTACHMENT) and not origin.key.startswith(GENERATED)
        ]
        if not shown:
            return None
        keys = [origin.key for origin in origins]
        checker = self._checker
        if any(key.startswith(REVIEW) for key in keys):
            checker = ContentChecker(_Stated(shown), self.identifiers)
        free = any(key.startswith(FREE_TEXT) for key in keys)
        written = any(key.startswith(("free:", "proposal:")) for key in keys)
        if written and self._guard is not None:
            # Text a person wrote (an agent, a marketer): everything the chat guard would delete from a
            # customer's message — passwords, one-time codes, national ids — must not go out either.
            for text in shown:
                found = self._guard.must_not_stay(text)
                if found:
                    return f"sensitive data: {found[0].kind.value}"
        return checker.problem(shown, person, free=free, codes_exempt=CHECKPOINT in keys)
