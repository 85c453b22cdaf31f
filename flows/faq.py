"""Matching a customer's free text to the best approved answer, or deciding to show the menu instead.

Deliberately simple and predictable: keyword phrases from the catalog, light prefix stemming, and a score
threshold. A wrong confident answer is worse than the menu, so ties and weak matches fall back.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
MAX_INPUT_CHARS = 4096
MIN_STEM = 4


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text[:MAX_INPUT_CHARS].casefold())


def _token_matches(word: str, keyword: str) -> bool:
    return word == keyword or (len(keyword) >= MIN_STEM and word.startswith(keyword))


def _stems(word: str, longest: int) -> list[str]:
    """Every keyword token that could match `word`: itself, or a prefix of at least MIN_STEM letters
    (none longer than the longest keyword token, so a 4,000-letter "word" costs no more than a short one)."""
    stems = [word[:end] for end in range(MIN_STEM, min(len(word), longest + 1))]
    if len(word) <= longest:
        stems.append(word)
    return stems


def _phrase_at(words: Sequence[str], position: int, phrase: Sequence[str]) -> bool:
    if position + len(phrase) > len(words):
        return False
    return all(_token_matches(words[position + j], token) for j, token in enumerate(phrase))


@dataclass(frozen=True)
class _Phrase:
    answer_id: str
    words: tuple[str, ...]
    weight: float


class FaqIndex:
    """Keyword index over the approved answers, per locale, keyed by each phrase's first token."""

    def __init__(
        self,
        keywords: Mapping[str, Mapping[str, Sequence[str]]],
        default_locale: str,
        threshold: float,
    ) -> None:
        """`keywords` maps answer id → locale → keyword phrases."""
        self._default_locale = default_locale
        self._threshold = threshold
        self._by_first_token: dict[str, dict[str, list[_Phrase]]] = {}
        self._longest = 0
        by_locale: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for answer_id, per_locale in keywords.items():
            for locale, phrases in per_locale.items():
                for text in phrases:
                    words = tuple(tokenize(text))
                    if words:
                        by_locale.setdefault(locale, []).append((answer_id, words))
                        self._longest = max(self._longest, *(len(w) for w in words))
        for locale, entries in by_locale.items():
            # A phrase several answers share says little; a longer phrase says more.
            spread = Counter(words for _answer, words in set(entries))
            index: dict[str, list[_Phrase]] = {}
            for answer_id, words in dict.fromkeys(entries):
                index.setdefault(words[0], []).append(_Phrase(answer_id, words, len(words) / spread[words]))
            self._by_first_token[locale] = index

    def match(self, text: str, locale: str) -> str | None:
        """The id of the one answer that clearly fits `text`, or None (show the menu)."""
        words = tokenize(text)
        scores: dict[str, float] = defaultdict(float)
        for loc in dict.fromkeys((locale, self._default_locale)):
            index = self._by_first_token.get(loc, {})
            found: set[_Phrase] = set()
            for position, word in enumerate(words):
                for stem in _stems(word, self._longest):
                    for phrase in index.get(stem, ()):
                        if phrase not in found and _phrase_at(words, position, phrase.words):
                            found.add(phrase)
                            scores[phrase.answer_id] += phrase.weight
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:2]
        if not ranked or ranked[0][1] < self._threshold:
            return None
        if len(ranked) == 2 and ranked[1][1] == ranked[0][1]:
            return None
        return ranked[0][0]
