"""Sensitive data in what people type: everything the detector finds is masked before anything is stored
(invariant 5); what must not stay in chat at all (SENSITIVE_TYPES) is also deleted from the chat."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from flows.sensitive import Detector, Kind, Span, redact

_VERIFICATION_CODE = re.compile(r"\bV-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}\b", re.IGNORECASE)
"""An offer's verification code (`V-2345-…`) is ours and public, not a one-time code someone typed."""


def _ascii_digit(ch: str) -> str:
    return str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch


def _comparable(text: str) -> str:
    """The text as the detector should read it, of the same length: every decimal digit as ASCII (a card
    number in fullwidth ４１１１… is still a card number), our own verification codes blanked."""
    if not text.isascii():
        text = "".join(map(_ascii_digit, text))
    return _VERIFICATION_CODE.sub(lambda found: "V" + "-" * (len(found.group(0)) - 1), text)


class SensitiveGuard:
    def __init__(self, detector: Detector, kinds: Iterable[Kind]) -> None:
        self._detector = detector
        self.kinds = frozenset(kinds)

    def find(self, text: str) -> list[Span]:
        return self._detector.find(_comparable(text))

    def must_not_stay(self, text: str) -> list[Span]:
        return [span for span in self.find(text) if span.kind in self.kinds]

    def redact(self, text: str) -> str:
        """The text as it may be stored: each detected value replaced by its kind and a mask."""
        spans = self.find(text)
        return redact(text, spans) if spans else text
