"""The gate's content checks: may these displayed texts go to this person? (issue #5, point 5)

The outbound gate already knows *that* a text was rendered from the approved catalog; these checks look at
*what* it says, because some texts are not verbatim catalog renderings (an agent's free text, a marketer's
runtime offer) and because even approved renderings carry run-time values. Three questions, in order:

1. **Sensitive data**: a payment card number or an IBAN is never sent in chat, whoever typed it.
2. **Claims**: every discount percentage, money amount and promo-code-like token must be one that an
   approved, currently valid offer states. This is what stops "70% off today only" from an employee.
3. **Other customers' data** (free text only): a name, phone number, email address or order reference that
   the database knows as someone else's must not reach this recipient.

The module is pure (no aiogram, no I/O, no async, no logging) because the gate calls it for every outgoing
call. It stays cheap by finding the runs of digits of a text once, with one regular expression: cards,
IBANs, prices, discounts, codes and phone numbers all contain digits, so a text without any (a button, a
menu) costs one scan, and the detailed patterns run only where a run of digits sits next to a currency,
a percent sign or a capital letter. Names, addresses and order references are looked up as whitespace
separated words in set intersections (see `bench/content_checks.py` for figures).

Reasons name the kind of finding only, never the matched value, because reasons end up in logs and in the
audit log.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from stdnum import iban, luhn

__all__ = [
    "ApprovedClaims",
    "Claims",
    "ClaimsSource",
    "ContentChecker",
    "IdentifierIndex",
    "claims_in",
]

# --- runs of digits -----------------------------------------------------------------------------------------

_RUN = re.compile(r"\d(?:[\d \u00a0\u202f.\-/()]*\d)?")
"""Digits, possibly grouped by the punctuation people put in card and phone numbers: "4111 1111-1111 1111",
"+49 (151) 2345-6789". Commas end a run, so "10, 20" is two runs."""

_GROUP = re.compile(r"[0-9]+")
_DIGITS = re.compile(r"\d+")


def _runs(text: str) -> list[re.Match[str]]:
    return list(_RUN.finditer(text))


def _ascii_digits(raw: str) -> str:
    """`\\d` matches every script's digits; the rest of the module (and stdnum) wants ASCII ones."""
    if raw.isascii():
        return raw
    return "".join(str(int(char)) if char.isdecimal() else char for char in raw)


def _groups(run: str) -> list[str]:
    return _GROUP.findall(_ascii_digits(run))


# --- claims -------------------------------------------------------------------------------------------------

_NUMBER = r"(?:\d{1,3}(?:[.,'’\u00a0\u202f ]\d{3})+|\d+)(?:[.,]\d+)?"
"""A number as people write it: "15", "12,5", "1.299,00" (German), "1 299,00" (French, Russian: a space,
no-break space or narrow no-break space groups thousands), "1,299.00", "1'299" (Swiss)."""

_CURRENCIES = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "евро": "EUR",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "₽": "RUB",
    "rub": "RUB",
    "руб": "RUB",
    "руб.": "RUB",
    "chf": "CHF",
}
"""Currency spellings (case-folded) and the ISO code an amount is normalised to."""

_CURRENCY_BEFORE = r"US\$|€|\$|£|₽|(?<![^\W\d_])(?i:eur|usd|gbp|rub|chf)(?![^\W\d_])"
_CURRENCY_AFTER = r"€|\$|£|₽|(?i:eur|usd|gbp|rub|chf|euros?|евро|dollars?|руб\.|руб)(?!\w)|(?i:рубл|долл)\w*"
_PERCENT_SIGN = r"[%％٪]|(?i:per\s?cent|prozent|pour\s?cent|процент\w*)(?!\w)"

_CLAIM = re.compile(
    rf"(?P<currency>{_CURRENCY_BEFORE})\s?[-−]?\s?(?P<amount>{_NUMBER})"
    rf"(?:\s?[-–—]\s?(?:US\$|€|\$|£|₽)?\s?(?P<upto>{_NUMBER}))?"
    rf"|(?<![\d.,])(?P<number>{_NUMBER})"
    rf"(?:\s?(?P<percent>{_PERCENT_SIGN})|(?:[.,][-–—])?\s?(?P<unit>{_CURRENCY_AFTER}))"
)
"""A percentage or an amount, tried where a run of digits sits next to a unit (see `_claim_matches`):

- a currency before the amount: "€20", "EUR 20", "$10", "£5", "€20–30" (both ends are claims);
- a number and then a percent sign: "15%", "15 %", "-15%", "15 percent", "15 Prozent", "15 процентов",
  "15 pour cent";
- a number and then a currency: "20 €", "20,00 €", "20,- €", "20 EUR", "500 ₽", "500 руб.", "500 рублей".
"""

_RANGE_ENDS = ("-", "–", "—", "to", "bis", "до", "à")
_RANGE_START = re.compile(rf"(?<![\d.,])({_NUMBER})\s?(?:{'|'.join(_RANGE_ENDS)})\s?$")
"""The first end of a range ("10–", "from 10 to "), just before a percentage or amount: "10–15 %"."""

_UNIT_AFTER = re.compile(
    r"(?:[.,][-–—])?\s?(?:[%％٪€$£₽]|(?i:per|pour|prozent|процент|eur|usd|gbp|rub|chf|dollar|евро|руб|долл))"
)
"""Whether a run of digits may be followed by a percent sign or a currency: only then is `_CLAIM` tried."""
_UNIT_BEFORE = re.compile(r"(?:[€$£₽]|(?i:eur|usd|gbp|rub|chf))[\s\-−]{0,3}$")
"""Whether a run of digits may be preceded by a currency (found where it starts, to try `_CLAIM` there)."""

_CODE = re.compile(r"(?<!\w)(?=[A-Z0-9]{0,19}[A-Z])(?=[A-Z0-9]{0,19}[0-9])[A-Z0-9]{5,20}(?!\w)")
"""A promo-code-like token: 5–20 upper-case letters and digits with at least one of each, standing alone.

Not: words ("STOP", "UTC"), numbers, mixed-case words, or the 4-character groups of a hyphenated
verification code ("V-7KQ2-MX9D-P3TA"). Base64 (a signed audit checkpoint) can contain such tokens by
chance, which is why a caller can exempt such a text from the code check."""


@dataclass(frozen=True)
class Claims:
    """What a text promises: discount percentages, money amounts and promo codes, normalised."""

    percents: frozenset[int]
    """Whole percentages; "12,5 %" states both 12 and 13 (see `_percent_values`)."""
    amounts: frozenset[str]
    """"<number> <ISO code>", e.g. "20 EUR", "1299.99 USD": thousands separators and trailing zeros gone."""
    codes: frozenset[str]


def _decimal(raw: str) -> str:
    """A number as written ("1.299,00", "1 299", "12,5") as a plain decimal string ("1299", "12.5").

    With both "." and "," the last one is the decimal separator. With one kind only, it separates
    thousands when it occurs more than once or when exactly three digits follow it ("1.299 €" in German,
    "$1,299"): money has two decimals, so a three-digit tail is a thousands group.
    """
    if raw.isascii() and raw.isdigit():
        return raw.lstrip("0") or "0"
    text = "".join(char for char in _ascii_digits(raw) if char.isdecimal() or char in ".,")
    point = max(text.rfind("."), text.rfind(","))
    head, tail = (text[:point], text[point + 1 :]) if point >= 0 else (text, "")
    if point >= 0 and ("." in head or "," in head):
        if text[point] in head:  # "1.299.000": one kind, repeated: all thousands
            head, tail = text, ""
    elif len(tail) == 3 and head.strip("0"):
        head, tail = head + tail, ""
    whole = "".join(char for char in head if char.isdecimal()).lstrip("0") or "0"
    fraction = tail.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _percent_values(raw: str) -> Iterator[int]:
    """A whole percentage as itself; a fractional one as both neighbouring whole numbers.

    `Claims.percents` holds integers, so "12,5 %" is recorded as 12 and 13: it passes only when both are
    approved (which is the case when an approved offer states 12,5 %), and "12,9 %" cannot slip through on
    an approved 12 %.
    """
    whole, _, fraction = _decimal(raw).partition(".")
    yield int(whole)
    if fraction:
        yield int(whole) + 1


_UNIT_FIRST = frozenset("%％٪€$£₽.,pPeEuUgGrRcCdDпПеЕрРдД")
"""The characters a unit after a number can start with (after one space): "%", "€", "per", "EUR", "руб"…"""
_UNIT_LAST = frozenset("€$£₽rRdDpPbBfF")
"""The characters a currency before a number can end with: "€", "EUR", "USD", "GBP", "RUB", "CHF"."""
_CODE_CHARS = frozenset(string.ascii_uppercase + string.digits)


def _claim_matches(text: str, runs: Sequence[re.Match[str]]) -> Iterator[re.Match[str]]:
    """Every percentage and amount of `text`, found by trying `_CLAIM` where the runs of digits are rather
    than at every character. Almost every run is dismissed by a character comparison or two; a run next
    to a unit or currency is tried at the currency before it, at the start of its number (which may begin
    at an earlier run: "1.299,00 €" and "12,5 %" are two runs each), and at each group of its digits
    ("10-15 %" is one run)."""
    consumed = 0
    for index, run in enumerate(runs):
        start, end = run.span()
        after = end + 1 if text[end : end + 1].isspace() else end
        unit = text[after : after + 1] in _UNIT_FIRST and _UNIT_AFTER.match(text, end) is not None
        before = text[max(0, start - 4) : start].rstrip(" \u00a0\u202f-−")
        currency = _UNIT_BEFORE.search(text, max(0, start - 6), start) if before[-1:] in _UNIT_LAST else None
        if not unit and currency is None:
            continue
        first = index
        while (
            first > 0
            and runs[first - 1].end() + 1 == runs[first].start()
            and text[runs[first].start() - 1] in ",'’"
        ):
            first -= 1
        candidates = [
            runs[first].start(),
            *(start + group.start() for group in _DIGITS.finditer(run.group())),
        ]
        if currency is not None:
            candidates.insert(0, currency.start())
        for position in candidates:
            if position < consumed:
                continue
            match = _CLAIM.match(text, position)
            if match is not None:
                consumed = match.end()
                yield match


def _codes(text: str, runs: Sequence[re.Match[str]]) -> set[str]:
    """The promo-code-like tokens of `text`. Every such token has a digit next to a capital letter, and the
    boundaries inside a run are punctuation, so the letter touches a run's end: only runs touching a
    capital are looked at, from the start of their token."""
    codes: set[str] = set()
    for run in runs:
        start, end = run.span()
        if (start > 0 and "A" <= text[start - 1] <= "Z") or (end < len(text) and "A" <= text[end] <= "Z"):
            while start > 0 and text[start - 1] in _CODE_CHARS:
                start -= 1
            code = _CODE.match(text, start)
            if code is not None:
                codes.add(code.group())
    return codes


def _claims(text: str, runs: Sequence[re.Match[str]], codes_wanted: bool = True) -> Claims:
    """`claims_in`, given the text's runs of digits (every claim has a digit, so no runs: no claims)."""
    if not runs:
        return _NO_CLAIMS
    percents: set[int] = set()
    amounts: set[str] = set()
    for match in _claim_matches(text, runs):
        if match["currency"] is not None:
            currency = _CURRENCIES[match["currency"].casefold()]
            amounts.update(
                f"{_decimal(number)} {currency}" for number in match.group("amount", "upto") if number
            )
            continue
        numbers = [match["number"]]
        start = match.start()
        if text[max(0, start - 5) : start].rstrip().endswith(_RANGE_ENDS):
            first = _RANGE_START.search(text, max(0, start - 24), start)
            if first is not None:
                numbers.append(first[1])
        if match["percent"] is not None:
            percents.update(value for number in numbers for value in _percent_values(number))
        else:
            unit = match["unit"].casefold()
            currency = _CURRENCIES.get(unit) or ("RUB" if unit.startswith("рубл") else "USD")
            amounts.update(f"{_decimal(number)} {currency}" for number in numbers)
    codes = _codes(text, runs) if codes_wanted else ()
    if not (percents or amounts or codes):
        return _NO_CLAIMS
    return Claims(frozenset(percents), frozenset(amounts), frozenset(codes))


_NO_CLAIMS = Claims(frozenset(), frozenset(), frozenset())


def claims_in(text: str) -> Claims:
    """The discounts, amounts and promo codes `text` states. The offer service builds the approved set
    with this very function, so any reading of an ambiguous number is the same on both sides."""
    return _claims(text, _runs(text))


@dataclass(frozen=True)
class ApprovedClaims:
    """What approved, currently valid offers state (built by the offer service from claims_in of each
    offer's texts plus its discount and code)."""

    percents: frozenset[int] = frozenset()
    amounts: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()


class ClaimsSource(Protocol):
    def approved_claims(self) -> ApprovedClaims:
        """The claims of the offers valid right now; sync and cheap (an in-memory snapshot), because it
        is asked on the gate's hot path."""
        ...

    def personal_codes(self, user_id: int | None) -> frozenset[str]:
        """Codes approved for this one recipient only (coupons minted for them from a valid offer); asked
        only when a text holds a code the shared set does not."""
        ...


# --- sensitive data -----------------------------------------------------------------------------------------

_IBAN_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:[ \u00a0]?[A-Za-z0-9]){11,32}(?![A-Za-z0-9])")
"""Something shaped like an IBAN, in either case, with or without spaces; may run into the next words."""

_IBAN_START = re.compile(r"[A-Za-z]{2}[0-9]{2}")


def _known_issuer(digits: str) -> bool:
    """Whether the number starts like a payment card: 4 Visa; 2221–2720 and 51–55 Mastercard; 34/37 Amex;
    6011, 644–649, 65 Discover; 35 JCB; 30/36/38 Diners; 62 UnionPay; 50 and 56–69 Maestro (so: every
    5x and 6x). The prefix keeps order numbers and other long digit runs that pass Luhn by chance out."""
    first = digits[0]
    if first in "456":
        return True
    if first == "3":
        return digits[1] in "045678"
    return first == "2" and 2221 <= int(digits[:4]) <= 2720


def _card_in(run: str) -> bool:
    """Whether a run of digits holds a card number: 13–19 digits made of whole groups of the run (so
    "12 4111 1111 1111 1111" is found, a quantity before it or not), Luhn-valid, from a known issuer.
    Masked numbers ("•••• 4242", "ending in 4242") are too short to qualify."""
    groups = _groups(run)
    for first in range(len(groups)):
        length = 0
        for last in range(first, len(groups)):
            length += len(groups[last])
            if length > 19:
                break
            if length >= 13:
                digits = "".join(groups[first : last + 1])
                if _known_issuer(digits) and luhn.is_valid(digits):
                    return True
    return False


def _iban_at(text: str, start: int) -> bool:
    """Whether a valid IBAN starts at `start`: checksum and the country's structure (stdnum.iban). The
    country's own national check is not required: a number that is an IBAN in shape and checksum is bank
    data all the same.

    The candidate may have run into the following words ("… 0130 00 and"), or begun with another
    IBAN-like chunk ("AB12 DE89 …"), so every stretch of whole space-separated chunks that starts like an
    IBAN is tried.
    """
    match = _IBAN_RUN.match(text, start)
    if match is None:
        return False
    chunks = match.group().split()
    for first in range(len(chunks)):
        if not _IBAN_START.match(chunks[first]):
            continue
        for last in range(len(chunks), first, -1):
            candidate = "".join(chunks[first:last])
            if len(candidate) < 15:
                break
            if iban.is_valid(candidate, check_country=False):
                return True
    return False


def _sensitive(text: str, runs: Sequence[re.Match[str]]) -> str | None:
    """The kind of sensitive data in `text`, if any. IBANs are looked for first: the digits of a spaced
    IBAN can contain a stretch that passes for a card number, and "IBAN" is then the better reason."""
    for run in runs:
        start = run.start()
        letters = text[start - 2 : start]
        if start >= 2 and letters.isascii() and letters.isalpha() and _iban_at(text, start - 2):
            return "IBAN"
    for run in runs:
        if run.end() - run.start() >= 13 and _card_in(run.group()):
            return "card number"
    return None


# --- identifiers --------------------------------------------------------------------------------------------

_KINDS = ("name", "phone", "email", "order")

_EDGE = string.punctuation + "«»„“”‘’‚‹›…–—•·¡¿"
"""Punctuation stripped from both ends of a word: "Anna," "(ORD-123456)." "<anna@example.com>"."""

_PHONE_TAIL = 9
"""Phone numbers match on their last nine significant digits (see `IdentifierIndex`)."""

_MIN_PHONE = 7
_MIN_FIRST_NAME = 4

Owners = int | set[int]
"""One owner (by far the common case, kept as a bare int to save memory) or several."""


def _words(text: str) -> list[str]:
    """The whitespace-separated words of `text`, case-folded, punctuation stripped from their ends. Stored
    names, addresses and references are split the same way, so both sides always agree."""
    return [word if word.isalnum() else word.strip(_EDGE) for word in text.casefold().split()]


def _phone_key(digits: str) -> str | None:
    """The index key of a phone number's digits: leading zeros (trunk "0", international "00") dropped,
    then the last nine digits, or all of them for a short (7–8 digit) local number."""
    significant = digits.lstrip("0")
    if len(significant) < _MIN_PHONE:
        return None
    return significant[-_PHONE_TAIL:]


def _owned_by(owners: Owners, recipient: int | None) -> bool:
    if recipient is None:
        return False
    if isinstance(owners, int):
        return owners == recipient
    return recipient in owners


class IdentifierIndex:
    """Personal identifiers known to the database, by owner (Telegram user id), to stop one customer's data
    reaching another.

    One dict per kind maps a normalised value to its owner (or owners: two customers may both be called
    "Anna Schmidt"); a value the recipient also owns is never foreign. Checking a text costs a handful of
    set intersections and dict lookups whatever the size of the index (it is built for a million
    identifiers), and a second dict from owner to keys makes erasure (`remove_owner`) cheap too.

    Matching rules, applied the same way to stored values and to text. Words are whitespace-separated,
    case-folded, with punctuation stripped from their ends:

    - **phone**: digits only (no "+", spaces, dashes, dots, parentheses), leading zeros dropped. Two numbers
      match when their last nine digits agree, which covers national and international spellings of the
      same number ("+49 151 2345 6789", "0151 23456789", "0049 …", "+49 (0)151 …"). This is a slight
      superset of "one ends with the other and the shorter has at least nine digits", chosen so that each
      number is one dict entry. Numbers of 7–8 significant digits (local numbers) must match exactly;
      shorter ones are not indexed. In text, digit groups joined by phone punctuation are read as one run,
      and every stretch of whole groups in it is tried, so neighbouring numbers do not hide a phone.
    - **email**: the whole address as one word, case-insensitively.
    - **order**: the whole reference as one word, case-insensitively ("ORD-123456" in "order ord-123456.");
      a reference containing spaces is not indexed.
    - **name**: a full name ("Bartholomew Quince") matches its words consecutively, in any case. A single
      first name matches only a word of at least four letters written with a capital initial: short or
      lower-case matches would hit common words ("will", "Eve", "Li"), at the price of missing a first
      name written in lower case, and of a false alarm when a customer's first name is a capitalised
      common word at the start of a sentence ("Hope you …"). A name made only of words of the recipient's
      own names is the recipient's ("Dear Anna" to Anna Schmidt, though another customer's first name is
      Anna; "Maria Schmidt" to Anna Maria Schmidt). Not recognised: "Quince, Bartholomew", "B. Quince",
      possessives ("Anna's").
    """

    def __init__(self) -> None:
        self._by_kind: dict[str, dict[str, Owners]] = {kind: {} for kind in _KINDS}
        self._owned: dict[int, tuple[str, ...]] = {}
        self._heads: dict[str, int] = {}
        """First words of the multi-word names, with how many names start with each: a text needs its
        word sequences built only where one of these occurs."""
        self._longest_name = 1

    def __len__(self) -> int:
        """How many identifiers (owner and value) the index holds."""
        return sum(len(keys) for keys in self._owned.values())

    @staticmethod
    def _key(kind: str, value: str) -> str | None:
        """The normalised form of a stored value, or None when it could never be recognised in text."""
        if kind == "phone":
            return _phone_key("".join(_groups(value)))
        words = [word for word in _words(value) if word]
        if kind == "name":
            if len(words) == 1 and sum(char.isalpha() for char in words[0]) < _MIN_FIRST_NAME:
                return None
            return " ".join(words) or None
        if len(words) != 1 or (kind == "email" and "@" not in words[0]):
            return None
        return words[0]

    def add(self, owner: int, kind: str, value: str) -> None:
        """Index `value` as `owner`'s. A value that could never be recognised in text (a phone with too few
        digits, a first name under four letters) is ignored."""
        if kind not in self._by_kind:
            raise ValueError(f"unknown identifier kind {kind!r}")
        key = self._key(kind, value)
        if key is None:
            return
        values = self._by_kind[kind]
        owners = values.get(key)
        if owners is None:
            values[key] = owner
            if kind == "name" and " " in key:
                head = key.split(" ", 1)[0]
                self._heads[head] = self._heads.get(head, 0) + 1
                self._longest_name = max(self._longest_name, key.count(" ") + 1)
        elif isinstance(owners, int):
            if owners == owner:
                return
            values[key] = {owners, owner}
        elif owner in owners:
            return
        else:
            owners.add(owner)
        self._owned[owner] = (*self._owned.get(owner, ()), key)

    def remove_owner(self, owner: int) -> None:
        """Forget every identifier of `owner` (erasure); values others also own stay theirs."""
        for key in self._owned.pop(owner, ()):
            for kind, values in self._by_kind.items():
                owners = values.get(key)
                if owners is None:
                    continue
                if isinstance(owners, int):
                    if owners == owner:
                        del values[key]
                        if kind == "name" and " " in key:
                            self._forget_head(key.split(" ", 1)[0])
                    continue
                owners.discard(owner)
                if len(owners) == 1:
                    values[key] = next(iter(owners))

    def _forget_head(self, head: str) -> None:
        left = self._heads[head] - 1
        if left:
            self._heads[head] = left
        else:
            del self._heads[head]

    def foreign(self, text: str, recipient: int | None) -> str | None:
        """The kind of the first identifier in `text` that belongs to someone other than `recipient` (None
        if none). With no recipient (a message to everyone), every known identifier is foreign."""
        return self._foreign(text, recipient, None)

    def _foreign(self, text: str, recipient: int | None, runs: Sequence[re.Match[str]] | None) -> str | None:
        """`foreign`, reusing the text's runs of digits when the caller has them already."""
        found: list[tuple[int, str]] = []  # (word index, kind)
        words = _words(text)
        present = set(words)
        for kind in ("email", "order"):
            values = self._by_kind[kind]
            if kind == "email" and "@" not in text:
                continue
            for word in values.keys() & present:
                if not _owned_by(values[word], recipient):
                    found.append((words.index(word), kind))
        found.extend(self._foreign_names(text, words, present, recipient))
        found.extend(self._foreign_phones(text, _runs(text) if runs is None else runs, recipient))
        return min(found)[1] if found else None

    def _foreign_phones(
        self, text: str, runs: Sequence[re.Match[str]], recipient: int | None
    ) -> Iterator[tuple[int, str]]:
        """The first foreign phone number, as (word index, kind): every stretch of whole digit groups of
        every run of at least seven characters is tried."""
        phones = self._by_kind["phone"]
        if not phones:
            return
        for run in runs:
            if run.end() - run.start() < _MIN_PHONE:
                continue
            groups = _groups(run.group())
            for last in range(len(groups)):
                digits = ""
                for first in range(last, -1, -1):
                    digits = groups[first] + digits
                    key = _phone_key(digits)
                    if key is None:
                        continue
                    owners = phones.get(key)
                    if owners is not None and not _owned_by(owners, recipient):
                        yield len(text[: run.start()].split()), "phone"
                        return
                    if len(key) == _PHONE_TAIL:
                        break  # longer stretches end in the same nine digits

    def _foreign_names(
        self, text: str, words: list[str], present: set[str], recipient: int | None
    ) -> Iterator[tuple[int, str]]:
        """The first foreign name, as (word index, kind). Two set intersections decide whether any name
        can occur at all; capitals, word sequences and the recipient's own names only then."""
        names = self._by_kind["name"]
        singles = names.keys() & present
        heads = self._heads.keys() & present
        if not singles and not heads:
            return
        written = text.split()  # casefold keeps whitespace as it is, so this aligns with `words`
        own = self._name_words_of(recipient)
        for index, word in enumerate(words):
            if word in singles:
                owners = names[word]
                if (
                    written[index].strip(_EDGE)[:1].isupper()
                    and not _owned_by(owners, recipient)
                    and word not in own
                ):
                    yield index, "name"
                    return
            if word in heads:
                for size in range(2, self._longest_name + 1):
                    sequence = words[index : index + size]
                    if len(sequence) < size:
                        break
                    owners_of_sequence = names.get(" ".join(sequence))
                    if (
                        owners_of_sequence is not None
                        and not _owned_by(owners_of_sequence, recipient)
                        and not own.issuperset(sequence)
                    ):
                        yield index, "name"
                        return

    def _name_words_of(self, recipient: int | None) -> set[str]:
        """Every word of the recipient's own indexed names (a handful: found through the owner's keys)."""
        if recipient is None:
            return set()
        names = self._by_kind["name"]
        return {
            word
            for key in self._owned.get(recipient, ())
            if key in names and _owned_by(names[key], recipient)
            for word in key.split(" ")
        }


# --- the checker --------------------------------------------------------------------------------------------


class ContentChecker:
    """Decides whether displayed texts may go to a recipient; the gate asks it for every outgoing call."""

    def __init__(self, claims: ClaimsSource, identifiers: IdentifierIndex) -> None:
        self._claims = claims
        self._identifiers = identifiers

    def problem(
        self, texts: Sequence[str], recipient: int | None, *, free: bool, codes_exempt: bool = False
    ) -> str | None:
        """Why these displayed texts must not go to `recipient`, or None. Checks, in order:

        1. sensitive data, in every text: IBANs (checksum and structure, any case, with or without spaces)
           → "sensitive data: IBAN"; payment card numbers (13–19 digits grouped any way by spaces, dashes or
           dots, Luhn-valid, with a known issuer prefix) → "sensitive data: card number". Masked cards
           ("•••• 4242") are fine.
        2. claims, in every text: a percent or amount not stated by an approved valid offer → "unapproved
           discount or price"; a promo-code-like token not approved → "unapproved promo code" (skipped with
           `codes_exempt`: the caller exempts a signed audit checkpoint, which is base64 by design).
        3. only with `free` (text that is not a verbatim catalog rendering: agent free text, a marketer's
           runtime offer): another customer's name, phone, email or order reference → "personal data of
           another customer: <kind>".

        The reasons name the kind of finding only, never the value: they end up in logs.
        """
        scanned = [(text, _runs(text)) for text in texts]
        for text, runs in scanned:
            if runs:
                kind = _sensitive(text, runs)
                if kind is not None:
                    return f"sensitive data: {kind}"
        approved: ApprovedClaims | None = None
        for text, runs in scanned:
            claims = _claims(text, runs, codes_wanted=not codes_exempt)
            if claims is _NO_CLAIMS:
                continue
            if approved is None:
                approved = self._claims.approved_claims()
            if not (claims.percents <= approved.percents and claims.amounts <= approved.amounts):
                return "unapproved discount or price"
            if not claims.codes <= approved.codes and not (
                claims.codes - approved.codes <= self._claims.personal_codes(recipient)
            ):
                return "unapproved promo code"
        if free:
            for text, runs in scanned:
                kind = self._identifiers._foreign(text, recipient, runs)
                if kind is not None:
                    return f"personal data of another customer: {kind}"
        return None
