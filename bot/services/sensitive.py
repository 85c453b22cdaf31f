"""Sensitive data in what people type: everything the detector finds is masked before anything is stored
(invariant 5); what must not stay in chat at all (SENSITIVE_TYPES) is also deleted from the chat."""

from __future__ import annotations

from collections.abc import Iterable

from flows.sensitive import Detector, Kind, Span, redact


class SensitiveGuard:
    def __init__(self, detector: Detector, kinds: Iterable[Kind]) -> None:
        self._detector = detector
        self.kinds = frozenset(kinds)

    def must_not_stay(self, text: str) -> list[Span]:
        return [span for span in self._detector.find(text) if span.kind in self.kinds]

    def redact(self, text: str) -> str:
        """The text as it may be stored: each detected value replaced by its kind and a mask."""
        spans = self._detector.find(text)
        return redact(text, spans) if spans else text
