"""Secure forms as policy: what a form asks for, how each answer is checked, what is kept, what staff see.

Validation uses maintained libraries for checksums (python-stdnum for Luhn and IBAN). A CVV is checked but
never kept (PCI DSS 3.3.1): `keep` drops it before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from stdnum import iban, luhn
from stdnum.exceptions import ValidationError


class FieldKind(StrEnum):
    TEXT = "text"
    NAME = "name"
    ADDRESS = "address"
    EMAIL = "email"
    PHONE = "phone"
    DATE_OF_BIRTH = "date_of_birth"
    CARD_NUMBER = "card_number"
    CARD_EXPIRY = "card_expiry"
    CVV = "cvv"
    IBAN = "iban"


NEVER_KEPT = frozenset({FieldKind.CVV})
MAX_LENGTH = {FieldKind.ADDRESS: 300, FieldKind.TEXT: 500}
DEFAULT_MAX = 100
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"\+?[0-9 ()./-]{6,24}")
_EXPIRY = re.compile(r"(0[1-9]|1[0-2])\s*/\s*([0-9]{2}|20[0-9]{2})")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Problem(StrEnum):
    """Why an answer was not accepted (the form page shows an approved text for each)."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    INVALID = "invalid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: FieldKind
    labels: Mapping[str, str]
    required: bool = True


@dataclass(frozen=True)
class FormDef:
    id: str
    purposes: Mapping[str, str]
    fields: tuple[FieldDef, ...]
    retention_days: int
    digest: str


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def check(kind: FieldKind, raw: str, today: date) -> tuple[str | None, Problem | None]:
    """The normalised answer, or why it is not acceptable."""
    value = raw.strip()
    if _CONTROL.search(value) and kind is not FieldKind.ADDRESS:
        return None, Problem.INVALID
    if len(value) > MAX_LENGTH.get(kind, DEFAULT_MAX):
        return None, Problem.TOO_LONG
    if kind is FieldKind.CARD_NUMBER:
        digits = _digits(value)
        ok = 13 <= len(digits) <= 19 and not set(value) - set("0123456789 -") and luhn.is_valid(digits)
        return (digits, None) if ok else (None, Problem.INVALID)
    if kind is FieldKind.CARD_EXPIRY:
        match = _EXPIRY.fullmatch(value)
        if match is None:
            return None, Problem.INVALID
        month, year = int(match.group(1)), int(match.group(2)[-2:]) + 2000
        if (year, month) < (today.year, today.month):
            return None, Problem.EXPIRED
        return f"{month:02d}/{year % 100:02d}", None
    if kind is FieldKind.CVV:
        return (
            (value, None)
            if value.isascii() and value.isdigit() and len(value) in (3, 4)
            else (None, Problem.INVALID)
        )
    if kind is FieldKind.IBAN:
        try:
            return iban.validate(value), None
        except ValidationError:
            return None, Problem.INVALID
    if kind is FieldKind.EMAIL:
        return (value, None) if _EMAIL.fullmatch(value) else (None, Problem.INVALID)
    if kind is FieldKind.PHONE:
        return (
            (value, None) if _PHONE.fullmatch(value) and len(_digits(value)) >= 6 else (None, Problem.INVALID)
        )
    if kind is FieldKind.DATE_OF_BIRTH:
        try:
            born = date.fromisoformat(value)
        except ValueError:
            return None, Problem.INVALID
        return (born.isoformat(), None) if date(1900, 1, 1) <= born < today else (None, Problem.INVALID)
    return (value, None) if value else (None, Problem.REQUIRED)


def validate(
    form: FormDef, answers: Mapping[str, str], now: float
) -> tuple[dict[str, str], dict[str, Problem]]:
    """Check every field; (normalised values, problems by field name). Unknown answers are ignored."""
    today = datetime.fromtimestamp(now, UTC).date()
    values: dict[str, str] = {}
    problems: dict[str, Problem] = {}
    for field in form.fields:
        raw = answers.get(field.name, "")
        if not raw.strip():
            if field.required:
                problems[field.name] = Problem.REQUIRED
            continue
        value, problem = check(field.kind, raw, today)
        if problem is not None:
            problems[field.name] = problem
        elif value is not None:
            values[field.name] = value
    return values, problems


def keep(form: FormDef, values: Mapping[str, str]) -> dict[str, str]:
    """What may be stored: everything but the fields that must never be kept (CVV)."""
    kinds = {field.name: field.kind for field in form.fields}
    return {name: value for name, value in values.items() if kinds.get(name) not in NEVER_KEPT}


def masked(kind: FieldKind, value: str) -> str:
    """How staff see a stored answer: enough to recognise it, never enough to use it."""
    if kind in (FieldKind.CARD_NUMBER, FieldKind.IBAN, FieldKind.PHONE):
        return "•••• " + _digits(value)[-4:]
    if kind is FieldKind.EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}•••@{domain}"
    if kind in (FieldKind.NAME, FieldKind.TEXT, FieldKind.ADDRESS):
        return value[:1] + "•••"
    return "••••"
