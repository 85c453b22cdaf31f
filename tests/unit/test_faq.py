from __future__ import annotations

import pytest

from bot.content import load_catalog
from config import DEFAULT_CONTENT_PATH
from flows.faq import FaqIndex


@pytest.fixture
def index() -> FaqIndex:
    catalog = load_catalog(DEFAULT_CONTENT_PATH)
    return FaqIndex({a.id: a.keywords for a in catalog.answers.values()}, "en", catalog.faq_threshold)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("When will my parcel be delivered?", "delivery"),
        ("I want a REFUND!!", "returns"),
        ("can i pay by paypal", "payment"),
        ("Where is my order", "order_status"),
        ("are you open at the weekend?", "hours"),
        ("what do you do with my personal data", "privacy"),
        ("asdf qwerty", None),
        ("", None),
        ("   ", None),
        ("🙂🙂", None),
    ],
)
def test_match(index: FaqIndex, text: str, expected: str | None) -> None:
    assert index.match(text, "en") == expected


def test_prefix_stemming_needs_four_letters(index: FaqIndex) -> None:
    assert index.match("refunds", "en") == "returns"
    assert index.match("payday", "en") is None  # "pay" is too short to stem


def test_a_tie_shows_the_menu() -> None:
    index = FaqIndex({"a": {"en": ["box"]}, "b": {"en": ["crate"]}}, "en", 0.5)
    assert index.match("box or crate", "en") is None


def test_unknown_locale_falls_back_to_default_keywords(index: FaqIndex) -> None:
    assert index.match("refund", "xx") == "returns"


def test_huge_input_is_bounded(index: FaqIndex) -> None:
    assert index.match("refund " + "x " * 200_000, "en") == "returns"


def test_one_enormous_word_is_bounded_work(index: FaqIndex) -> None:
    from flows.faq import _stems

    assert len(_stems("x" * 4096, longest=10)) == 7  # prefixes of 4..10 letters, not 4,000 of them
    assert index.match("refundsxxxxxxxxxxxxxxx", "en") == "returns"
    assert index.match("refund" + "x" * 4090, "en") == "returns"
