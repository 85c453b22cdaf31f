"""Secure form validation (flows/forms.py): what is accepted, what is refused and why, what is kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.content import load_catalog
from config import DEFAULT_CONTENT_PATH
from flows.forms import FieldKind, Problem, check, keep, masked, validate

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        (FieldKind.CARD_NUMBER, "4111 1111 1111 1111", "4111111111111111"),
        (FieldKind.CARD_NUMBER, "5555-5555-5555-4444", "5555555555554444"),
        (FieldKind.CARD_EXPIRY, "12/29", "12/29"),
        (FieldKind.CARD_EXPIRY, "01/2030", "01/30"),
        (FieldKind.CVV, "123", "123"),
        (FieldKind.CVV, "1234", "1234"),
        (FieldKind.IBAN, "de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        (FieldKind.DATE_OF_BIRTH, "1990-04-01", "1990-04-01"),
        (FieldKind.EMAIL, "ivy@example.com", "ivy@example.com"),
        (FieldKind.PHONE, "+49 151 2345 6789", "+49 151 2345 6789"),
        (FieldKind.NAME, "  Ivy Lee ", "Ivy Lee"),
    ],
)
def test_accepted(kind: FieldKind, raw: str, value: str) -> None:
    assert check(kind, raw, NOW.date()) == (value, None)


@pytest.mark.parametrize(
    ("kind", "raw", "problem"),
    [
        (FieldKind.CARD_NUMBER, "4111 1111 1111 1112", Problem.INVALID),  # Luhn
        (FieldKind.CARD_NUMBER, "4111 1111 1111 111a", Problem.INVALID),
        (FieldKind.CARD_EXPIRY, "10/26", Problem.EXPIRED),
        (FieldKind.CARD_EXPIRY, "13/29", Problem.INVALID),
        (FieldKind.CVV, "12", Problem.INVALID),
        (FieldKind.CVV, "１２３", Problem.INVALID),  # full-width digits
        (FieldKind.IBAN, "DE89 3704 0044 0532 0130 01", Problem.INVALID),
        (FieldKind.DATE_OF_BIRTH, "2030-01-01", Problem.INVALID),
        (FieldKind.DATE_OF_BIRTH, "01.04.1990", Problem.INVALID),
        (FieldKind.EMAIL, "not an email", Problem.INVALID),
        (FieldKind.NAME, "x" * 101, Problem.TOO_LONG),
        (FieldKind.NAME, "Ivy\x00Lee", Problem.INVALID),
    ],
)
def test_refused(kind: FieldKind, raw: str, problem: Problem) -> None:
    assert check(kind, raw, NOW.date()) == (None, problem)


def test_a_form_is_validated_as_a_whole_and_the_cvv_is_never_kept() -> None:
    form = load_catalog(DEFAULT_CONTENT_PATH).forms["payment_card"]
    values, problems = validate(
        form, {"holder": "Ivy Lee", "card_number": "4111111111111111"}, NOW.timestamp()
    )
    assert problems == {"expiry": Problem.REQUIRED, "cvv": Problem.REQUIRED}
    answers = {"holder": "Ivy", "card_number": "4111111111111111", "expiry": "12/29", "cvv": "123", "x": "y"}
    values, problems = validate(form, answers, NOW.timestamp())
    assert problems == {}
    assert keep(form, values) == {"holder": "Ivy", "card_number": "4111111111111111", "expiry": "12/29"}


def test_staff_see_masks_only() -> None:
    assert masked(FieldKind.CARD_NUMBER, "4111111111111111") == "•••• 1111"
    assert masked(FieldKind.IBAN, "DE89370400440532013000") == "•••• 3000"
    assert masked(FieldKind.EMAIL, "ivy@example.com") == "i•••@example.com"
    assert masked(FieldKind.NAME, "Ivy Lee") == "I•••"
    assert masked(FieldKind.DATE_OF_BIRTH, "1990-04-01") == "••••"
