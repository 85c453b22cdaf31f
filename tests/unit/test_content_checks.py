"""The gate's content checks (bot.gate.content): sensitive data, unapproved claims, other customers' data."""

from __future__ import annotations

import pytest
from stdnum import luhn

from bot.gate.content import ApprovedClaims, Claims, ContentChecker, IdentifierIndex, claims_in

NBSP, NNBSP = "\u00a0", "\u202f"

REASONS = {
    "sensitive data: card number",
    "sensitive data: IBAN",
    "unapproved discount or price",
    "unapproved promo code",
    "personal data of another customer: name",
    "personal data of another customer: phone",
    "personal data of another customer: email",
    "personal data of another customer: order",
}


class Snapshot:
    """A ClaimsSource that counts how often it is asked."""

    def __init__(self, approved: ApprovedClaims | None = None) -> None:
        self.approved = approved or ApprovedClaims()
        self.asked = 0

    def approved_claims(self) -> ApprovedClaims:
        self.asked += 1
        return self.approved

    def personal_codes(self, user_id: int | None) -> frozenset[str]:
        return frozenset()


def card(prefix: str, length: int = 16) -> str:
    """A Luhn-valid number of `length` digits starting with `prefix`."""
    body = prefix + "7" * (length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


def spaced(number: str, sep: str = " ", size: int = 4) -> str:
    return sep.join(number[i : i + size] for i in range(0, len(number), size))


def checker(approved: ApprovedClaims | None = None, index: IdentifierIndex | None = None) -> ContentChecker:
    return ContentChecker(Snapshot(approved), index or IdentifierIndex())


def refusal(text: str, *, approved: ApprovedClaims | None = None, codes_exempt: bool = False) -> str | None:
    reason = checker(approved).problem([text], 1, free=False, codes_exempt=codes_exempt)
    assert reason is None or reason in REASONS
    return reason


# --- claims -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "percents"),
    [
        ("15%", {15}),
        ("Save 15 % today", {15}),
        (f"Jusqu'à 15{NNBSP}% de réduction", {15}),
        (f"15{NBSP}%", {15}),
        ("-15% on everything", {15}),
        ("−15 %", {15}),
        ("15 percent off", {15}),
        ("15 per cent off", {15}),
        ("15 Percent", {15}),
        ("15 Prozent Rabatt", {15}),
        ("скидка 15 процентов", {15}),
        ("скидка 15 процента", {15}),
        ("15 pour cent", {15}),
        ("15％", {15}),
        ("٧٠٪ خصم", {70}),
        ("up to 70% off", {70}),
        ("10–15 % off", {10, 15}),
        ("from 10 to 20 percent", {10, 20}),
        ("12,5 % Rabatt", {12, 13}),
        ("12.5% off", {12, 13}),
        ("Save 15% now and another 5% with the newsletter", {15, 5}),
    ],
)
def test_percentages_in_any_spelling(text: str, percents: set[int]) -> None:
    assert claims_in(text).percents == percents


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("€20", {"20 EUR"}),
        ("€ 20", {"20 EUR"}),
        ("20 €", {"20 EUR"}),
        ("20€", {"20 EUR"}),
        ("20 EUR", {"20 EUR"}),
        ("EUR 20", {"20 EUR"}),
        ("EUR20", {"20 EUR"}),
        ("20,00 €", {"20 EUR"}),
        ("20,- €", {"20 EUR"}),
        ("20 euros", {"20 EUR"}),
        ("20 евро", {"20 EUR"}),
        ("$10", {"10 USD"}),
        ("10 $", {"10 USD"}),
        ("US$10", {"10 USD"}),
        ("10 dollars", {"10 USD"}),
        ("£5", {"5 GBP"}),
        ("5 GBP", {"5 GBP"}),
        ("500 ₽", {"500 RUB"}),
        ("500 руб.", {"500 RUB"}),
        ("500 руб", {"500 RUB"}),
        ("500 рублей", {"500 RUB"}),
        ("500 RUB", {"500 RUB"}),
        ("CHF 12.50", {"12.5 CHF"}),
        # German: "." groups thousands, "," is the decimal separator
        ("1.299,00 €", {"1299 EUR"}),
        ("1.299 €", {"1299 EUR"}),
        ("19,99 €", {"19.99 EUR"}),
        ("1.299.000 €", {"1299000 EUR"}),
        # French and Russian: a (no-break, narrow no-break) space groups thousands
        ("1 299,99 €", {"1299.99 EUR"}),
        (f"1{NNBSP}299,99{NBSP}€", {"1299.99 EUR"}),
        (f"4{NBSP}500 ₽", {"4500 RUB"}),
        ("от 1 500 руб. до 2 000 руб.", {"1500 RUB", "2000 RUB"}),
        # English
        ("$1,299.99", {"1299.99 USD"}),
        ("$1,299", {"1299 USD"}),
        ("1'299 CHF", {"1299 CHF"}),
        # ranges
        ("€20–30", {"20 EUR", "30 EUR"}),
        ("€20 - €30", {"20 EUR", "30 EUR"}),
        ("20–30 €", {"20 EUR", "30 EUR"}),
        ("-20 € on your order", {"20 EUR"}),
        ("Orders over €50 ship free, returns cost £3.", {"50 EUR", "3 GBP"}),
    ],
)
def test_amounts_are_normalised(text: str, amounts: set[str]) -> None:
    assert claims_in(text).amounts == amounts


def test_every_spelling_of_the_same_amount_is_one_claim() -> None:
    spellings = ["€20", "20 €", "20 EUR", "EUR 20", "20,00 €", "20.00 EUR", "20 euro"]
    assert {amount for text in spellings for amount in claims_in(text).amounts} == {"20 EUR"}


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Use WINTER15 at checkout", {"WINTER15"}),
        ("code: SAVE70.", {"SAVE70"}),
        ("(15OFF)", {"15OFF"}),
        ("Codes WINTER15 and X2Y4Z", {"WINTER15", "X2Y4Z"}),
        ("A1B2C3D4E5F6G7H8I9J0", {"A1B2C3D4E5F6G7H8I9J0"}),  # 20 characters
        ("Send STOP or UNSUBSCRIBE, times in UTC", set()),  # words without digits
        ("Reference 123456789", set()),  # digits only
        ("Winter15 or winter15", set()),  # not all upper case
        ("Send /verify V-7KQ2-MX9D-P3TA", set()),  # 4-character groups of a verification code
        ("A1B2", set()),  # too short
        ("A1B2C3D4E5F6G7H8I9J0K", set()),  # too long
        ("ORD-123456", set()),
        ("SAVE70_EXTRA or xSAVE70", set()),  # part of a longer word
    ],
)
def test_promo_code_like_tokens(text: str, codes: set[str]) -> None:
    assert claims_in(text).codes == codes


@pytest.mark.parametrize(
    "text",
    [
        "Orders placed before 14:00 on a working day leave our warehouse the same day.",
        "Standard delivery takes 2–4 working days; express delivery arrives the next working day.",
        "You can return any item within 30 days of delivery.",
        "Our customer service team works Monday to Friday, 09:00–18:00 (CET).",
        "Valid until 2026-12-31, or 31.12.2026, or 12/31/2026.",
        "Catalog version 2026.11.29-1, privacy notice version 2026-11.",
        "Your order ORD-123456 has shipped; parcel 00340434161094042557.",
        "Bestellungen vor 14:00 Uhr verlassen unser Lager am selben Tag; Lieferung in 2–4 Werktagen.",
        "Заказы, оформленные до 14:00, доставляются за 2–4 рабочих дня.",
        "Call us on +49 30 1234567 between 9 and 18.",
        "Your data is kept for at most 1 year; we answer within 24 hours.",
        "« Back to the menu",
    ],
)
def test_everyday_numbers_are_no_claims(text: str) -> None:
    assert claims_in(text) == Claims(frozenset(), frozenset(), frozenset())


def test_claims_are_read_the_same_way_for_the_approval_and_the_check() -> None:
    offer = "Winter sale: 12,5 % off coats, from 1.299,00 € down to 1.136,63 € with code WINTER15."
    stated = claims_in(offer)
    approved = ApprovedClaims(stated.percents, stated.amounts, stated.codes)
    assert refusal(offer, approved=approved) is None


# --- claims checked against the approved offers -------------------------------------------------------------

APPROVED = ApprovedClaims(
    percents=frozenset({15}), amounts=frozenset({"50 EUR"}), codes=frozenset({"WINTER15"})
)


@pytest.mark.parametrize(
    "text",
    [
        "Winter sale: 15% off all coats with code WINTER15.",
        "Winterschlussverkauf: 15 % Rabatt mit dem Code WINTER15, versandkostenfrei ab 50 €.",
        "Зимняя распродажа: скидка 15 % по коду WINTER15, бесплатная доставка от 50 EUR.",
        "Free shipping on orders over €50,00.",
        "Hello! Orders placed before 14:00 leave the same day.",
    ],
)
def test_approved_claims_pass(text: str) -> None:
    assert refusal(text, approved=APPROVED) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("70% off today only!", "unapproved discount or price"),
        ("Winter sale: 20 Prozent Rabatt", "unapproved discount or price"),
        ("10–15 % off", "unapproved discount or price"),  # the 10 is a claim too
        ("15,5 % off", "unapproved discount or price"),  # 16 is not approved
        ("Free shipping on orders over $50", "unapproved discount or price"),  # other currency
        ("Now only 49 €", "unapproved discount or price"),
        ("Use SAVE70 at checkout", "unapproved promo code"),
        ("15% off with code SAVE70", "unapproved promo code"),
        ("SAVE70: 70% off", "unapproved discount or price"),  # discounts are checked first
    ],
)
def test_unapproved_claims_are_refused(text: str, reason: str) -> None:
    assert refusal(text, approved=APPROVED) == reason


def test_nothing_is_approved_without_offers() -> None:
    assert refusal("15% off") == "unapproved discount or price"
    assert refusal("Use WINTER15") == "unapproved promo code"


CHECKPOINT = (
    "Audit log checkpoint (keep this message: it lets an auditor prove the log was not rewritten later):\n\n"
    "eyJzZXEiOjQyLCJoZWFkIjoiN2Y0YzEifQ.K7QX2PLM9/AB12CD34EF+ZW5kB3Q4=="
)


def test_an_exempt_checkpoint_may_carry_code_like_base64() -> None:
    assert refusal(CHECKPOINT) == "unapproved promo code"
    assert refusal(CHECKPOINT, codes_exempt=True) is None


def test_the_exemption_covers_codes_only() -> None:
    assert refusal(CHECKPOINT + " 70% off", codes_exempt=True) == "unapproved discount or price"
    assert refusal(CHECKPOINT + " 4111 1111 1111 1111", codes_exempt=True) == "sensitive data: card number"


def test_every_text_of_a_call_is_checked() -> None:
    texts = ["Winter sale", "15% off with WINTER15", "Unsubscribe", "Or 70% off today only"]
    assert checker(APPROVED).problem(texts, 1, free=False) == "unapproved discount or price"
    assert checker(APPROVED).problem(texts[:3], 1, free=False) is None


def test_the_approved_snapshot_is_asked_only_when_a_text_states_something() -> None:
    source = Snapshot(APPROVED)
    content = ContentChecker(source, IdentifierIndex())
    assert content.problem(["Hello", "Delivery takes 2–4 days", "« Back"], 1, free=False) is None
    assert source.asked == 0
    assert content.problem(["15% off", "with WINTER15"], 1, free=False) is None
    assert source.asked == 1


# --- sensitive data -----------------------------------------------------------------------------------------

ISSUERS = {
    "Visa": card("4"),
    "Visa (13 digits)": card("4", 13),
    "Visa (19 digits)": card("4", 19),
    "Mastercard": card("51"),
    "Mastercard 55": card("55"),
    "Mastercard 2-series": card("2221"),
    "Mastercard 2720": card("2720"),
    "Amex 34": card("34", 15),
    "Amex 37": card("37", 15),
    "Discover 6011": card("6011"),
    "Discover 65": card("65"),
    "Discover 644": card("644"),
    "JCB": card("35"),
    "Diners 36": card("36", 14),
    "Diners 38": card("38", 14),
    "Diners 30": card("30", 14),
    "UnionPay": card("62"),
    "Maestro 50": card("50"),
    "Maestro 67": card("67", 19),
    "test card": "4242424242424242",
}


@pytest.mark.parametrize("number", ISSUERS.values(), ids=ISSUERS.keys())
def test_card_numbers_of_every_issuer_are_refused(number: str) -> None:
    assert refusal(f"My card is {number}, please charge it") == "sensitive data: card number"


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111.1111.1111.1111",
        "4111 - 1111 - 1111 - 1111",
        f"4111{NBSP}1111{NBSP}1111{NBSP}1111",
        "4111  1111  1111  1111",
        "4111 1111-1111 1111",
        "3782 822463 10005",  # Amex grouping
        "card: 5555 5555 5555 4444, exp 12/29, cvc 123",
        "2 x 4111 1111 1111 1111",  # a quantity glued to the front by a space
        "4111 1111 1111 1111 12/29",  # the expiry glued to the end
        "４１１１ １１１１ １１１１ １１１１",  # full-width digits
    ],
)
def test_card_numbers_in_any_spelling_are_refused(text: str) -> None:
    assert refusal(text) == "sensitive data: card number"


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn-invalid
        "4111111111111112",
        spaced(card("1")),  # unknown issuer prefixes, Luhn-valid
        spaced(card("7")),
        spaced(card("8")),
        spaced(card("9")),
        spaced(card("31")),
        spaced(card("2000")),
        spaced(card("2800")),
        card("4", 12),  # too short
        card("4", 20),  # too long as one number
        "Your card •••• 4242 was charged.",
        "the card ending in 4242",
        "**** **** **** 4242",
        "4242 XXXX XXXX 4242",
        "Tracking 00340434161094042557",
        "Call +49 30 1234567 or 0800 123 456",
    ],
)
def test_other_digit_runs_and_masked_cards_pass(text: str) -> None:
    assert refusal(text) is None


IBANS = {
    "DE": "DE89 3704 0044 0532 0130 00",
    "FR": "FR14 2004 1010 0505 0001 3M02 606",
    "GB": "GB82 WEST 1234 5698 7654 32",
    "NL": "NL91 ABNA 0417 1643 00",
    "AT": "AT61 1904 3002 3457 3201",
    "CH": "CH93 0076 2011 6238 5295 7",
}


@pytest.mark.parametrize("number", IBANS.values(), ids=IBANS.keys())
@pytest.mark.parametrize(
    "spelling",
    [
        lambda iban: iban,
        lambda iban: iban.replace(" ", ""),
        lambda iban: iban.lower(),
        lambda iban: iban.replace(" ", "").lower(),
        lambda iban: iban.replace(" ", NBSP),
        lambda iban: f"Please transfer to {iban} and send the receipt.",
        lambda iban: f"IBAN:{iban.replace(' ', '')}.",
        lambda iban: f"to AB12 {iban}",
    ],
    ids=["spaced", "compact", "lower", "compact-lower", "nbsp", "sentence", "labelled", "after-junk"],
)
def test_ibans_are_refused(number: str, spelling: object) -> None:
    assert callable(spelling)
    assert refusal(spelling(number)) == "sensitive data: IBAN"


@pytest.mark.parametrize(
    "text",
    [
        "GB82 WEST 1234 5698 7654 33",  # wrong check digits
        "NL92 ABNA 0417 1643 00",
        "XX89 3704 0044 0532 0130 00",  # no such country
        "DE89 3704",
        "Order AB12 shipped",
    ],
)
def test_invalid_ibans_pass(text: str) -> None:
    assert refusal(text) is None


def test_sensitive_data_is_refused_before_anything_else() -> None:
    index = IdentifierIndex()
    index.add(2, "name", "Anna Schmidt")
    text = "Anna Schmidt, 70% off with SAVE70, pay to DE89 3704 0044 0532 0130 00"
    assert checker(index=index).problem([text], 1, free=True) == "sensitive data: IBAN"
    texts = ["Anna Schmidt gets 70% off", "card 4111 1111 1111 1111"]
    assert checker(index=index).problem(texts, 1, free=True) == "sensitive data: card number"


# --- identifiers of other customers -------------------------------------------------------------------------

ANNA, BART, CLARA = 101, 202, 303


@pytest.fixture
def index() -> IdentifierIndex:
    index = IdentifierIndex()
    index.add(BART, "name", "Bartholomew Quince")
    index.add(BART, "name", "Bartholomew")
    index.add(BART, "phone", "+49 151 2345 6789")
    index.add(BART, "email", "Bart.Quince@Example.com")
    index.add(BART, "order", "ORD-123456")
    index.add(ANNA, "name", "Anna Schmidt")
    index.add(ANNA, "phone", "+44 20 7946 0958")
    index.add(ANNA, "email", "anna@example.org")
    index.add(ANNA, "order", "ORD-777001")
    return index


@pytest.mark.parametrize(
    "text",
    [
        "call +49 151 2345 6789",
        "call +49 (151) 2345-6789",
        "call +49.151.2345.6789",
        "call 0049 151 23456789",
        "call +49 (0)151 2345 6789",
        "call 015123456789",
        "call 0151 / 2345 6789",
        "call 151 2345 6789",
        "his number is 4915123456789.",
        "ref 17, call 0151 2345 6789 today",  # a number before it in the same run
    ],
)
def test_a_phone_is_found_in_any_spelling(index: IdentifierIndex, text: str) -> None:
    assert index.foreign(text, ANNA) == "phone"
    assert index.foreign(text, BART) is None


@pytest.mark.parametrize(
    "text",
    [
        "call 2345 6789",  # the shorter has fewer than nine digits
        "call +49 151 2345 6788",
        "call +49 151 2345",
        "order 15123",
    ],
)
def test_other_numbers_are_not_that_phone(index: IdentifierIndex, text: str) -> None:
    assert index.foreign(text, ANNA) is None


def test_short_local_numbers_match_exactly() -> None:
    index = IdentifierIndex()
    index.add(BART, "phone", "234-5678")  # seven digits: exact match only
    index.add(BART, "phone", "12345")  # too short to recognise: not indexed
    assert index.foreign("call 234 5678", ANNA) == "phone"
    assert index.foreign("call 1234 5678", ANNA) is None
    assert index.foreign("call 12345", ANNA) is None
    assert len(index) == 1


def test_an_email_is_found_case_insensitively(index: IdentifierIndex) -> None:
    assert index.foreign("write to BART.QUINCE@example.COM.", ANNA) == "email"
    assert index.foreign("write to <bart.quince@example.com>", ANNA) == "email"
    assert index.foreign("write to bart.quince@example.co", ANNA) is None
    assert index.foreign("write to xbart.quince@example.com", ANNA) is None
    assert index.foreign("write to bart.quince@example.com", BART) is None


def test_an_order_reference_is_found_as_a_whole_word(index: IdentifierIndex) -> None:
    assert index.foreign("your order ord-123456.", ANNA) == "order"
    assert index.foreign("(ORD-123456)", ANNA) == "order"
    assert index.foreign("your order ORD-1234567", ANNA) is None
    assert index.foreign("your order ORD-123456-2", ANNA) is None
    assert index.foreign("your order ORD-123456", BART) is None


@pytest.mark.parametrize(
    "text",
    [
        "Bartholomew Quince asked about it",
        "ask bartholomew quince",
        "BARTHOLOMEW QUINCE",
        "Dear Bartholomew,",  # the single first name, capitalised
        "Bartholomew Quince's parcel",  # the full name still matches before the possessive
    ],
)
def test_a_name_is_found(index: IdentifierIndex, text: str) -> None:
    assert index.foreign(text, ANNA) == "name"
    assert index.foreign(text, BART) is None


@pytest.mark.parametrize(
    ("text", "with_first_name"),
    [
        ("bartholomew said", None),  # a first name in lower case is not one
        ("Bartholomew-Quince", None),  # one word, neither the two-word name nor the first name
        ("Quince, Bartholomew", "name"),  # documented: not the full name, but the capitalised first name
        ("Quince", None),  # a surname alone
    ],
)
def test_names_are_matched_as_documented(text: str, with_first_name: str | None) -> None:
    index = IdentifierIndex()
    index.add(BART, "name", "Bartholomew Quince")
    assert index.foreign(text, ANNA) is None
    index.add(CLARA, "name", "bartholomew")
    assert index.foreign(text, ANNA) == with_first_name


def test_short_first_names_are_not_indexed_and_common_words_need_capitals() -> None:
    index = IdentifierIndex()
    index.add(BART, "name", "Eve")  # three letters: would hit too many words
    index.add(BART, "name", "Will")
    assert index.foreign("Eve said", ANNA) is None
    assert index.foreign("we will call you", ANNA) is None
    assert index.foreign("Will you be at home?", ANNA) == "name"  # the documented trade-off
    assert len(index) == 1


def test_a_name_shared_with_the_recipient_is_not_foreign() -> None:
    index = IdentifierIndex()
    index.add(ANNA, "name", "Anna Schmidt")
    index.add(CLARA, "name", "Anna Schmidt")  # another customer of the same name
    index.add(CLARA, "name", "Anna")
    assert index.foreign("Dear Anna Schmidt", ANNA) is None
    assert index.foreign("Dear Anna Schmidt", CLARA) is None
    assert index.foreign("Dear Anna Schmidt", BART) == "name"
    # "Anna" is Clara's first name, but it is also a word of the recipient's own name
    assert index.foreign("Dear Anna", ANNA) is None
    assert index.foreign("Dear Anna", BART) == "name"


def test_a_name_within_the_recipients_longer_name_is_the_recipients() -> None:
    index = IdentifierIndex()
    index.add(ANNA, "name", "Anna Maria Schmidt")
    index.add(CLARA, "name", "Maria Schmidt")
    assert index.foreign("Dear Anna Maria Schmidt", ANNA) is None
    assert index.foreign("Dear Maria Schmidt", ANNA) is None
    assert index.foreign("Dear Maria Schmidt", BART) == "name"
    assert index.foreign("Dear Anna Maria Schmidt", BART) == "name"


def test_without_a_recipient_every_identifier_is_foreign(index: IdentifierIndex) -> None:
    assert index.foreign("Dear Anna Schmidt", None) == "name"
    assert index.foreign("order ORD-777001", None) == "order"
    assert index.foreign("call +44 20 7946 0958", None) == "phone"
    assert index.foreign("mail anna@example.org", None) == "email"
    assert index.foreign("Dear customer", None) is None


def test_the_first_foreign_identifier_names_the_kind(index: IdentifierIndex) -> None:
    text = "Order ORD-123456 of bart.quince@example.com, phone +49 151 2345 6789, Bartholomew Quince"
    assert index.foreign(text, ANNA) == "order"
    assert index.foreign("Bartholomew Quince, ORD-123456", ANNA) == "name"
    assert index.foreign("+49 151 2345 6789 is Bartholomew Quince", ANNA) == "phone"
    assert index.foreign("mail anna@example.org or bart.quince@example.com", ANNA) == "email"


def test_remove_owner_forgets_only_that_owners_values() -> None:
    index = IdentifierIndex()
    index.add(ANNA, "name", "Anna Schmidt")
    index.add(CLARA, "name", "Anna Schmidt")
    index.add(CLARA, "phone", "+44 20 7946 0958")
    index.add(CLARA, "order", "ORD-9")
    assert len(index) == 4
    index.remove_owner(CLARA)
    assert len(index) == 1
    assert index.foreign("call +44 20 7946 0958", BART) is None
    assert index.foreign("order ORD-9", BART) is None
    assert index.foreign("Dear Anna Schmidt", BART) == "name"  # still Anna's
    assert index.foreign("Dear Anna Schmidt", CLARA) == "name"  # no longer Clara's
    index.remove_owner(ANNA)
    index.remove_owner(ANNA)  # erasing twice is harmless
    assert len(index) == 0
    assert index.foreign("Dear Anna Schmidt", None) is None


def test_adding_the_same_identifier_twice_counts_once() -> None:
    index = IdentifierIndex()
    index.add(ANNA, "email", "anna@example.org")
    index.add(ANNA, "email", "ANNA@example.org")
    index.add(ANNA, "name", "Anna Schmidt")
    index.add(CLARA, "name", "Anna Schmidt")
    index.add(CLARA, "name", "anna  schmidt")
    assert len(index) == 3


def test_unknown_kinds_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown identifier kind"):
        IdentifierIndex().add(ANNA, "iban", "DE89370400440532013000")


def test_identifiers_are_checked_only_in_free_text(index: IdentifierIndex) -> None:
    content = checker(index=index)
    text = "Hello Bartholomew Quince, about ORD-123456"
    assert content.problem([text], ANNA, free=False) is None
    assert content.problem([text], ANNA, free=True) == "personal data of another customer: name"
    assert content.problem([text], BART, free=True) is None
    assert content.problem(["Hi", "call +49 151 2345 6789"], ANNA, free=True) == (
        "personal data of another customer: phone"
    )


def test_claims_are_refused_before_identifiers(index: IdentifierIndex) -> None:
    text = "Bartholomew Quince got 70% off"
    assert checker(index=index).problem([text], ANNA, free=True) == "unapproved discount or price"


# --- reasons ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "value"),
    [
        (["pay with 4111 1111 1111 1111"], "4111"),
        (["IBAN DE89 3704 0044 0532 0130 00"], "DE89"),
        (["70% off"], "70"),
        (["only 49 €"], "49"),
        (["code SAVE70"], "SAVE70"),
        (["Dear Bartholomew Quince"], "Bartholomew"),
        (["call +49 151 2345 6789"], "6789"),
        (["mail bart.quince@example.com"], "bart"),
        (["order ORD-123456"], "123456"),
    ],
)
def test_reasons_never_contain_the_value(index: IdentifierIndex, texts: list[str], value: str) -> None:
    reason = checker(APPROVED, index).problem(texts, ANNA, free=True)
    assert reason in REASONS
    assert value.casefold() not in reason.casefold()
