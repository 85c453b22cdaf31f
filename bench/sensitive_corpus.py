"""A seeded corpus of realistic customer chat messages, labelled as they are generated, for `bench.sensitive`.

Five languages (English, German, French, Spanish, Russian). About 30% of the messages hold at least one value
that must not stay in chat (a card number, CVV, expiry, IBAN, national id, passport number, password, PIN,
one-time code or secret); the other 70% hold none, and most of those are the hard cases: order, tracking,
ticket and invoice numbers, prices, dates and times, version numbers, EAN barcodes, SKUs, IMEIs, card-shaped
runs that fail the Luhn check, masked cards, keywords without a value ("I forgot my password"), promo codes,
SSH/PGP public keys and publishable keys, hashes and UUIDs, and the shop's own published contacts. Phone
numbers, emails, postal addresses and dates of birth appear on both sides; the default policy does not make
them must-not-stay, so they do not make a message positive.

The values are built from their definitions (issuer prefixes and the Luhn check for cards, mod 97 for IBANs,
each national id's own check digits, the python-stdnum check-digit functions where the rule is long), never
from the detector, and they are written the ways customers write them: grouped or not, dashes, dots, double
spaces, a line break in the middle, lower case, with or without the word that names them. A share of the
positives carry no context word at all (a customer answering an agent's question with just the number),
which the detector, reading one message at a time, cannot always catch; that share is kept on purpose.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from stdnum import iban as stdnum_iban
from stdnum.de import idnr
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.ru import inn
from stdnum.us import ssn

LANGUAGES = ("en", "de", "fr", "es", "ru")

PUBLISHED = ("+49 30 901820", "support@shop.example", "DE02 1203 0000 0000 2020 51")
"""The shop's own contacts, given to the detector as `published` (and quoted by customers in negatives)."""


@dataclass
class Message:
    text: str
    language: str
    kinds: list[str] = field(default_factory=list)
    """Kinds of sensitive values in the message (Kind values), as generated."""
    category: str = ""
    """What the generator meant to produce: a positive kind or a hard-negative family, for the breakdown."""


# --- values -------------------------------------------------------------------------------------------------


def luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return body + str((10 - total % 10) % 10)


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


CARD_PREFIXES = (
    ("4", 16),
    ("4", 16),
    ("4", 16),
    ("51", 16),
    ("53", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3530", 16),
    ("2200", 16),
    ("2202", 16),
    ("62", 16),
    ("36", 14),
    ("4", 19),
)


def card_number(rng: random.Random) -> str:
    prefix, length = rng.choice(CARD_PREFIXES)
    return luhn_complete(rng, prefix, length)


def format_card(rng: random.Random, number: str) -> str:
    """A card number as customers type it."""
    style = rng.random()
    if len(number) == 15 and style < 0.5:
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    groups = [number[index : index + 4] for index in range(0, len(number), 4)]
    if style < 0.30:
        return number
    if style < 0.62:
        return " ".join(groups)
    if style < 0.72:
        return "-".join(groups)
    if style < 0.77:
        return ".".join(groups)
    if style < 0.84:
        return "  ".join(groups)
    if style < 0.91:
        half = len(groups) // 2
        return " ".join(groups[:half]) + "\n" + " ".join(groups[half:])
    if style < 0.96:
        return number[:8] + " " + number[8:]
    # an odd grouping: three digits, then the rest in irregular chunks
    cuts = sorted(rng.sample(range(2, len(number) - 1), 3))
    parts = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    return " ".join(parts)


def expiry(rng: random.Random) -> str:
    month = rng.randint(1, 12)
    year = rng.randint(25, 32)
    style = rng.random()
    if style < 0.6:
        return f"{month:02d}/{year}"
    if style < 0.75:
        return f"{month:02d}/20{year}"
    if style < 0.9:
        return f"{month}/{year}"
    return f"{month:02d}-{year}"


def cvv(rng: random.Random, amex: bool = False) -> str:
    return "".join(rng.choice(string.digits) for _ in range(4 if amex else 3))


IBAN_BBAN = {
    "DE": "18n",
    "AT": "16n",
    "FR": "10n11c2n",
    "ES": "20n",
    "IT": "1a10n12c",
    "NL": "4a10n",
    "BE": "12n",
    "GB": "4a14n",
    "PL": "24n",
    "CH": "5n12c",
}


def iban_number(rng: random.Random, country: str | None = None) -> str:
    country = country or rng.choice(tuple(IBAN_BBAN))
    while True:
        bban = ""
        structure = IBAN_BBAN[country]
        number = ""
        for char in structure:
            if char.isdigit():
                number += char
                continue
            alphabet = {
                "n": string.digits,
                "a": string.ascii_uppercase,
                "c": string.digits + string.ascii_uppercase,
            }
            bban += "".join(rng.choice(alphabet[char]) for _ in range(int(number)))
            number = ""
        rearranged = bban + country + "00"
        numeric = int("".join(str(int(char, 36)) for char in rearranged))
        candidate = f"{country}{98 - numeric % 97:02d}{bban}"
        if stdnum_iban.is_valid(candidate):
            return candidate


def format_iban(rng: random.Random, value: str) -> str:
    style = rng.random()
    spaced = " ".join(value[index : index + 4] for index in range(0, len(value), 4))
    if style < 0.5:
        return spaced
    if style < 0.75:
        return value
    if style < 0.9:
        return spaced.lower()
    return value.lower()


def us_ssn(rng: random.Random) -> str:
    while True:
        area = rng.choice([a for a in range(1, 900) if a != 666])
        value = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if ssn.is_valid(value):
            return f"{value[:3]}-{value[3:5]}-{value[5:]}" if rng.random() < 0.7 else value


def gb_nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
        first, second = "A", "B"
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    return f"{first}{second}{digits}{suffix}"


def de_idnr(rng: random.Random) -> str:
    while True:
        value = str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(10))
        if idnr.is_valid(value):
            if rng.random() < 0.5:
                return f"{value[:2]} {value[2:5]} {value[5:8]} {value[8:]}"
            return value


def fr_nir(rng: random.Random) -> str:
    body = (
        f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}"
        f"{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    )
    key = 97 - int(body) % 97
    if rng.random() < 0.5:
        return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:]} {key:02d}"
    return f"{body}{key:02d}"


def es_dni(rng: random.Random) -> str:
    number = rng.randint(10_000_000, 99_999_999)
    letter = "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23]
    return f"{number}{letter}" if rng.random() < 0.7 else f"{number}-{letter}"


def es_nie(rng: random.Random) -> str:
    prefix = rng.choice("XYZ")
    number = rng.randint(0, 9_999_999)
    letter = "TRWAGMYFPDXBNJZSQVHLCKE"[int(f"{'XYZ'.index(prefix)}{number:07d}") % 23]
    return f"{prefix}{number:07d}{letter}"


def it_cf(rng: random.Random) -> str:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
    day = rng.choice([rng.randint(1, 28), rng.randint(41, 68)])  # women: day + 40
    month = rng.choice("ABCDEHLMPRST")
    town = f"{rng.choice('ABCDEFGHLMZ')}{rng.randint(100, 999)}"
    body = f"{letters}{rng.randint(40, 99):02d}{month}{day:02d}{town}"
    value = body + codicefiscale.calc_check_digit(body)
    return value if rng.random() < 0.8 else value.lower()


def nl_bsn(rng: random.Random) -> str:
    while True:
        value = f"{rng.randint(10_000_000, 999_999_999):09d}"
        if bsn.is_valid(value):
            return value


def pl_pesel(rng: random.Random) -> str:
    year = rng.randint(1950, 2005)
    month = rng.randint(1, 12) + (20 if year >= 2000 else 0)
    body = f"{year % 100:02d}{month:02d}{rng.randint(1, 28):02d}{rng.randint(0, 9999):04d}"
    value = body + pesel.calc_check_digit(body)
    assert pesel.is_valid(value)
    return value


def ru_inn(rng: random.Random) -> str:
    if rng.random() < 0.5:
        body = "".join(rng.choice(string.digits) for _ in range(9))
        return body + inn.calc_company_check_digit(body)
    body = "".join(rng.choice(string.digits) for _ in range(10))
    return body + inn.calc_personal_check_digits(body)


def ru_snils(rng: random.Random) -> str:
    body = f"{rng.randint(2_000_000, 999_999_999):09d}"
    total = sum(int(digit) * (9 - index) for index, digit in enumerate(body))
    check = total % 101 % 100
    if rng.random() < 0.6:
        return f"{body[:3]}-{body[3:6]}-{body[6:]} {check:02d}"
    return f"{body}{check:02d}"


def passport(rng: random.Random, language: str) -> str:
    if language == "de":
        return rng.choice("CFGHJK") + "".join(rng.choice("0123456789CFGHJKLMNPRTVWXYZ") for _ in range(8))
    if language == "fr":
        letters = rng.choice(string.ascii_uppercase) + rng.choice(string.ascii_uppercase)
        return f"{rng.randint(10, 99)}{letters}{rng.randint(10000, 99999)}"
    if language == "es":
        return (
            "".join(rng.choice(string.ascii_uppercase) for _ in range(3)) + f"{rng.randint(100000, 999999)}"
        )
    if language == "ru":
        series = f"{rng.randint(10, 99)}{rng.randint(10, 99)}"
        number = f"{rng.randint(100000, 999999)}"
        return rng.choice([f"{series} {number}", f"{series[:2]} {series[2:]} {number}", f"{series}{number}"])
    return (
        f"{rng.randint(100000000, 999999999)}"
        if rng.random() < 0.6
        else f"{rng.choice('ABCEGHJKLMNP')}{rng.randint(10000000, 99999999)}"
    )


WORDS = (
    "sunshine",
    "dragon",
    "monkey",
    "summer",
    "winter",
    "katze",
    "soleil",
    "tigre",
    "malina",
    "pizza",
    "football",
    "london",
    "berlin",
    "hamburg",
    "maria",
    "alex",
    "flower",
    "coffee",
    "shadow",
    "master",
)


def password_value(rng: random.Random) -> str:
    style = rng.random()
    word = rng.choice(WORDS)
    if style < 0.3:
        return word.capitalize() + str(rng.randint(1, 2026)) + rng.choice(["", "!", "?", "#", "$"])
    if style < 0.5:
        return "".join(
            rng.choice(string.ascii_letters + string.digits + "!#$%&*") for _ in range(rng.randint(8, 16))
        )
    if style < 0.6:
        return rng.choice(
            ["qwerty123", "123456789", "password1", "Passw0rd", "iloveyou2", "admin1234", "йцукен123"]
        )
    if style < 0.75:
        return word + str(rng.randint(10, 99))
    if style < 0.85:
        return word.upper()[:3] + "_" + str(rng.randint(100, 999)) + word[:4]
    return word + rng.choice(["dog", "cat", "moon", "star"])  # letters only


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def pin(rng: random.Random) -> str:
    return digits(rng, rng.choice([4, 4, 4, 4, 5, 6]))


def otp(rng: random.Random) -> str:
    value = digits(rng, rng.choice([6, 6, 6, 6, 4, 5, 8]))
    if len(value) == 6 and rng.random() < 0.15:
        return value[:3] + rng.choice([" ", "-"]) + value[3:]
    return value


def random_token(
    rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits
) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def secret_value(rng: random.Random) -> tuple[str, str]:
    """(value, shape) of an API key, token or private key."""
    shapes: list[Callable[[], str]] = [
        lambda: "AKIA" + random_token(rng, 16, string.ascii_uppercase + string.digits),
        lambda: "ghp_" + random_token(rng, 36),
        lambda: "github_pat_" + random_token(rng, 22) + "_" + random_token(rng, 59),
        lambda: "xoxb-" + digits(rng, 12) + "-" + digits(rng, 13) + "-" + random_token(rng, 24),
        lambda: "sk_live_" + random_token(rng, 24),
        lambda: "AIza" + random_token(rng, 35, string.ascii_letters + string.digits + "_-"),
        lambda: "sk-proj-" + random_token(rng, 48),
        lambda: (
            f"{rng.randint(10_000_000, 9_999_999_999)}:AA"
            + random_token(rng, 33, string.ascii_letters + "_-")
        ),
        lambda: (
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" + random_token(rng, 40) + "." + random_token(rng, 43)
        ),
        lambda: (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB"
            + random_token(rng, 40)
            + "\n"
            + random_token(rng, 64)
            + "\n-----END OPENSSH PRIVATE KEY-----"
        ),
        lambda: (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA"
            + random_token(rng, 48)
            + "\n"
            + random_token(rng, 64)
        ),
    ]
    index = rng.randrange(len(shapes) + 3)
    if index < len(shapes):
        return shapes[index](), "prefixed"
    # generic high-entropy keys: the context word is all that marks them
    return random_token(rng, rng.choice([32, 40, 48])), "generic"


def ean13(rng: random.Random, prefix: str = "") -> str:
    body = (
        prefix
        or rng.choice(
            [
                "400",
                "401",
                "402",
                "403",
                "404",
                "405",
                "406",
                "407",
                "408",
                "409",
                "410",
                "440",
                "300",
                "370",
                "376",
                "379",
                "840",
                "841",
                "460",
                "461",
                "500",
                "501",
                "509",
                "800",
                "805",
                "629",
            ]
        )
    ) + digits(rng, 9)
    body = body[:12]
    total = sum(int(char) * (3 if index % 2 else 1) for index, char in enumerate(body))
    return body + str((10 - total % 10) % 10)


def imei(rng: random.Random) -> str:
    return luhn_complete(rng, rng.choice(["35", "86", "01", "99", "35", "35"]), 15)


def phone(rng: random.Random, language: str) -> str:
    if language == "de":
        number = f"1{rng.choice(['51', '52', '57', '60', '62', '70', '71', '76'])}{digits(rng, 8)}"
        return rng.choice(
            [
                f"+49 {number[:3]} {number[3:]}",
                f"0{number[:3]} {number[3:]}",
                f"0{number[:3]}/{number[3:]}",
                f"+49{number}",
                f"0{number[:3]}-{number[3:7]} {number[7:]}",
            ]
        )
    if language == "fr":
        number = f"{rng.choice('67')}{digits(rng, 8)}"
        pairs = " ".join(number[index : index + 2] for index in range(1, 9, 2))
        return rng.choice([f"0{number[0]} {pairs}", f"+33 {number[0]} {pairs}", f"0{number}"])
    if language == "es":
        number = f"6{digits(rng, 8)}"
        return rng.choice(
            [
                f"{number[:3]} {number[3:6]} {number[6:]}",
                f"+34 {number[:3]} {number[3:5]} {number[5:7]} {number[7:]}",
                number,
            ]
        )
    if language == "ru":
        number = f"9{rng.choice(['16', '03', '26', '85', '99'])}{digits(rng, 7)}"
        return rng.choice(
            [
                f"+7 ({number[:3]}) {number[3:6]}-{number[6:8]}-{number[8:]}",
                f"8 {number[:3]} {number[3:6]} {number[6:8]} {number[8:]}",
                f"+7{number}",
                f"8({number[:3]}){number[3:6]}-{number[6:8]}-{number[8:]}",
            ]
        )
    style = rng.random()
    if style < 0.5:
        number = "7911" + digits(rng, 6)
        return rng.choice([f"0{number[:4]} {number[4:]}", f"+44 {number[:4]} {number[4:]}"])
    area = rng.choice(["212", "415", "646", "312", "206"])
    return rng.choice(
        [
            f"({area}) {rng.randint(201, 899)}-{digits(rng, 4)}",
            f"+1 {area} {rng.randint(201, 899)} {digits(rng, 4)}",
            f"{area}-{rng.randint(201, 899)}-{digits(rng, 4)}",
        ]
    )


FIRST_NAMES = (
    "anna",
    "max",
    "lena",
    "paul",
    "marie",
    "lucas",
    "sofia",
    "ivan",
    "olga",
    "john",
    "emma",
    "pierre",
)


def email(rng: random.Random) -> str:
    name = rng.choice(FIRST_NAMES)
    surname = rng.choice(["k", "m", "schmidt", "dupont", "garcia"])
    domain = rng.choice(
        ["gmail.com", "web.de", "orange.fr", "yandex.ru", "outlook.com", "mail.ru", "hotmail.es"]
    )
    return rng.choice([f"{name}.{surname}@{domain}", f"{name}{rng.randint(1, 99)}@{domain}"])


def address(rng: random.Random, language: str) -> str:
    number = rng.randint(1, 180)
    if language == "de":
        street = rng.choice(["Hauptstraße", "Lindenweg", "Bahnhofstr.", "Berliner Straße", "Goethestraße"])
        city = rng.choice(["Berlin", "Köln", "München", "Leipzig"])
        return f"{street} {number}, {rng.randint(10000, 99999)} {city}"
    if language == "fr":
        street = rng.choice(["de la Paix", "Victor Hugo", "des Lilas", "du Moulin"])
        return f"{number} rue {street}, {rng.randint(10000, 95999)} {rng.choice(['Paris', 'Lyon', 'Nantes'])}"
    if language == "es":
        street = rng.choice(["Mayor", "de Alcalá", "Gran Vía", "Serrano"])
        city = rng.choice(["Madrid", "Sevilla", "Valencia"])
        return f"Calle {street} {number}, {rng.randint(10000, 52999)} {city}"
    if language == "ru":
        street = rng.choice(["Ленина", "Пушкина", "Гагарина", "Садовая"])
        return f"ул. {street}, д. {number}, кв. {rng.randint(1, 200)}"
    street = rng.choice(["Baker", "Oak", "Maple", "High"])
    return f"{number} {street} {rng.choice(['Street', 'Road', 'Avenue', 'Lane'])}"


def date_value(rng: random.Random, years: tuple[int, int], *, iso: bool = False) -> str:
    year = rng.randint(*years)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    if iso:
        return f"{year}-{month:02d}-{day:02d}"
    return rng.choice(
        [
            f"{day:02d}.{month:02d}.{year}",
            f"{day}.{month}.{year}",
            f"{day:02d}/{month:02d}/{year}",
            f"{year}-{month:02d}-{day:02d}",
        ]
    )


def hex_token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def uuid(rng: random.Random) -> str:
    value = hex_token(rng, 32)
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"


# --- templates ----------------------------------------------------------------------------------------------
# "{v}" is the value; other fields are filled by the family's generator. Each language has its own phrasing,
# not a translation of the English list, and several templates carry no context word at all.

GREETING = {
    "en": ["", "", "Hi, ", "Hello! ", "hey ", "Good morning, "],
    "de": ["", "", "Hallo, ", "Guten Tag, ", "Hi ", "Moin, "],
    "fr": ["", "", "Bonjour, ", "Salut, ", "Bonsoir, "],
    "es": ["", "", "Hola, ", "Buenos días, ", "Buenas, "],
    "ru": ["", "", "Здравствуйте, ", "Привет, ", "Добрый день! "],
}
THANKS = {
    "en": ["", "", " thanks", " Thank you!", " thx", ". Cheers"],
    "de": ["", "", " danke", " Vielen Dank!", " LG"],
    "fr": ["", "", " merci", " Merci beaucoup !", " cordialement"],
    "es": ["", "", " gracias", " ¡Muchas gracias!", " saludos"],
    "ru": ["", "", " спасибо", " Спасибо!", " заранее спасибо"],
}

CARD = {
    "en": [
        "my card number is {v}",
        "card: {v}",
        "here is my card {v}",
        "Please charge my Visa {v}",
        "can you use this card {v} for the order?",
        "{v}",
        "{v} pls",
        "credit card {v}",
        "the number on the card is {v}",
        "use {v} instead",
        "Card no. {v}, name on card J. Smith",
    ],
    "de": [
        "meine Kartennummer ist {v}",
        "Karte: {v}",
        "hier meine Kreditkarte {v}",
        "{v}",
        "bitte buchen Sie von {v} ab",
        "Kreditkartennummer {v}",
        "die Nummer lautet {v}",
        "Karte {v} bitte belasten",
    ],
    "fr": [
        "mon numéro de carte est {v}",
        "carte : {v}",
        "voici ma carte bancaire {v}",
        "{v}",
        "vous pouvez débiter {v}",
        "CB {v}",
        "numéro {v}",
    ],
    "es": [
        "mi tarjeta es {v}",
        "número de tarjeta: {v}",
        "aquí está la tarjeta {v}",
        "{v}",
        "cobren a esta {v}",
        "tarjeta de crédito {v}",
        "el número es {v}",
    ],
    "ru": [
        "номер карты {v}",
        "моя карта: {v}",
        "вот карта {v}",
        "{v}",
        "спишите с {v}",
        "карта {v}, оплатите пожалуйста",
        "номер {v}",
    ],
}
CARD_FULL = {
    "en": [
        "card {v} exp {exp} cvv {cvv}",
        "{v} {exp} {cvv}",
        "{v}\nexp {exp}\nCVC {cvv}",
        "Card: {v}, expires {exp}, security code {cvv}",
    ],
    "de": [
        "Karte {v} gültig bis {exp} Prüfziffer {cvv}",
        "{v} {exp} {cvv}",
        "Kreditkarte: {v}, Ablaufdatum {exp}, CVC {cvv}",
    ],
    "fr": [
        "carte {v} expire {exp} cryptogramme {cvv}",
        "{v} {exp} {cvv}",
        "CB : {v} - date d'expiration {exp} - CVV {cvv}",
    ],
    "es": [
        "tarjeta {v} caducidad {exp} CVV {cvv}",
        "{v} {exp} {cvv}",
        "tarjeta: {v}, vence {exp}, código de seguridad {cvv}",
    ],
    "ru": [
        "карта {v} срок действия {exp} cvv {cvv}",
        "{v} {exp} {cvv}",
        "карта: {v}, действует до {exp}, CVC {cvv}",
    ],
}
CVV_ONLY = {
    "en": ["the CVV is {cvv}", "cvv: {cvv}", "CVC {cvv} on the back of my card"],
    "de": ["Prüfziffer ist {cvv}", "CVV {cvv}", "der Sicherheitscode der Karte: {cvv}"],
    "fr": ["le cryptogramme est {cvv}", "CVV : {cvv}"],
    "es": ["el CVV es {cvv}", "código de seguridad {cvv}"],
    "ru": ["CVV {cvv}", "код на обороте карты cvc {cvv}", "cvv-код {cvv}"],
}
EXPIRY_ONLY = {
    "en": ["my card expires {exp}", "card exp date {exp}", "expiry of the card: {exp}"],
    "de": ["die Karte ist gültig bis {exp}", "Karte läuft ab {exp}"],
    "fr": ["ma carte expire le {exp}", "date d'expiration de la carte {exp}"],
    "es": ["mi tarjeta vence {exp}", "fecha de caducidad de la tarjeta: {exp}"],
    "ru": ["срок действия карты {exp}", "карта действует до {exp}"],
}
IBAN = {
    "en": [
        "my IBAN is {v}",
        "IBAN: {v}",
        "please refund to {v}",
        "{v}",
        "bank account {v}, name Anna Schmidt",
        "send the money to IBAN {v} please",
    ],
    "de": [
        "meine IBAN: {v}",
        "bitte auf {v} überweisen",
        "{v}",
        "IBAN {v} (Sparkasse)",
        "Kontonummer/IBAN lautet {v}",
        "Erstattung bitte an {v}",
    ],
    "fr": ["mon IBAN est {v}", "IBAN : {v}", "remboursez sur {v} svp", "{v}", "RIB : {v}"],
    "es": ["mi IBAN es {v}", "IBAN: {v}", "devolución a la cuenta {v}", "{v}", "número de cuenta {v}"],
    "ru": ["мой IBAN {v}", "IBAN: {v}", "верните деньги на {v}", "{v}", "счёт для возврата: {v}"],
}
NATIONAL_ID = {
    "us_ssn": ("en", ["my SSN is {v}", "SSN: {v}", "social security number {v}", "{v}"]),
    "gb_nino": ("en", ["my NI number is {v}", "National Insurance number: {v}", "NINO {v}"]),
    "de_idnr": (
        "de",
        ["meine Steuer-ID ist {v}", "Steuer-ID: {v}", "Steueridentifikationsnummer {v}", "IdNr. {v}", "{v}"],
    ),
    "fr_nir": ("fr", ["mon numéro de sécurité sociale est {v}", "n° de sécu : {v}", "NIR {v}", "{v}"]),
    "es_dni": ("es", ["mi DNI es {v}", "DNI: {v}", "NIF {v}", "{v}", "aquí tiene mi documento {v}"]),
    "es_nie": ("es", ["mi NIE es {v}", "NIE: {v}", "{v}"]),
    "it_cf": ("en", ["my codice fiscale is {v}", "codice fiscale: {v}", "{v}", "tax code {v}"]),
    "nl_bsn": ("en", ["my BSN is {v}", "BSN: {v}", "burgerservicenummer {v}"]),
    "pl_pesel": ("en", ["my PESEL is {v}", "PESEL: {v}", "PESEL {v} for the invoice"]),
    "ru_inn": ("ru", ["мой ИНН {v}", "ИНН: {v}", "инн {v}", "ИНН организации {v}", "{v}"]),
    "ru_snils": ("ru", ["СНИЛС {v}", "мой снилс: {v}", "{v}"]),
}
PASSPORT = {
    "en": ["my passport number is {v}", "passport no. {v}", "Passport: {v}", "passport {v}, expires 2031"],
    "de": ["meine Reisepassnummer ist {v}", "Reisepass Nr. {v}", "Passnummer: {v}", "Personalausweis {v}"],
    "fr": ["mon numéro de passeport est {v}", "passeport n° {v}", "passeport : {v}"],
    "es": ["mi pasaporte es {v}", "número de pasaporte: {v}", "pasaporte {v}"],
    "ru": ["паспорт {v}", "серия и номер паспорта {v}", "мой паспорт: {v}", "паспорт серия {v}"],
}
PASSWORD = {
    "en": [
        "my password is {v}",
        "password: {v}",
        "login anna.k password {v}",
        "pw: {v}",
        "the password is {v} btw",
        "I changed my password to {v}",
        "Password = {v}",
        "user: anna, pass: {v}",
        "my password for the account is {v}",
    ],
    "de": [
        "mein Passwort ist {v}",
        "Passwort: {v}",
        "Kennwort {v}",
        "das Passwort lautet {v}",
        "Login: max / Passwort: {v}",
    ],
    "fr": [
        "mon mot de passe est {v}",
        "mot de passe : {v}",
        "mdp {v}",
        "identifiant pierre, mot de passe {v}",
    ],
    "es": ["mi contraseña es {v}", "contraseña: {v}", "la clave es {v}", "usuario maria, contraseña {v}"],
    "ru": [
        "мой пароль {v}",
        "пароль: {v}",
        "логин ivan пароль {v}",
        "пароль от кабинета {v}",
        "вот пароль - {v}",
    ],
}
PIN = {
    "en": ["my PIN is {v}", "PIN: {v}", "pin {v}", "the PIN code is {v}"],
    "de": ["meine PIN ist {v}", "PIN: {v}", "Geheimzahl {v}", "PIN-Code {v}"],
    "fr": ["mon code PIN est {v}", "code PIN : {v}", "code secret {v}"],
    "es": ["mi PIN es {v}", "PIN: {v}", "el pin de la tarjeta es {v}"],
    "ru": ["пин-код {v}", "мой пин {v}", "PIN: {v}", "пинкод карты {v}"],
}
OTP = {
    "en": [
        "the code is {v}",
        "code {v}",
        "verification code: {v}",
        "{v} is the code I got",
        "Your verification code is {v}. Do not share it.",
        "got the SMS code {v}",
        "OTP {v}",
        "{v}",
        "here's the one-time code: {v}",
    ],
    "de": ["der Code lautet {v}", "Bestätigungscode: {v}", "Code {v}", "SMS-Code {v}", "TAN {v}", "{v}"],
    "fr": ["le code est {v}", "code de vérification : {v}", "code reçu par SMS : {v}", "code {v}", "{v}"],
    "es": ["el código es {v}", "código de verificación: {v}", "me llegó el código {v}", "código {v}", "{v}"],
    "ru": ["код {v}", "код из смс {v}", "код подтверждения: {v}", "пришёл код {v}", "{v}"],
}
SECRET = {
    "en": [
        "here is my API key: {v}",
        "token: {v}",
        "{v}",
        "api_key={v}",
        "my secret key {v}",
        "the access token is {v}",
    ],
    "de": ["hier mein API-Schlüssel: {v}", "Token: {v}", "{v}", "API key {v}"],
    "fr": ["voici ma clé API : {v}", "token : {v}", "{v}"],
    "es": ["mi clave API es {v}", "token: {v}", "{v}"],
    "ru": ["вот мой API ключ: {v}", "токен {v}", "{v}"],
}

CHAT = {
    "en": [
        "Where is my parcel? I ordered last week and still nothing.",
        "Do you ship to Austria?",
        "Can I return the blue jacket in size M?",
        "How long does delivery take?",
        "The zipper broke after 2 days, what can I do?",
        "Is the store open on Sunday?",
        "I got 3 items but ordered 4",
        "Do you have this in size 42?",
        "ok thanks, bye",
        "can I pay with PayPal?",
        "My daughter is 7, which size fits?",
        "I want to cancel my subscription",
        "It arrived 2 days late and the box was wet",
    ],
    "de": [
        "Wo bleibt mein Paket? Ich habe letzte Woche bestellt.",
        "Liefern Sie auch in die Schweiz?",
        "Kann ich die Jacke in Größe 40 umtauschen?",
        "Wie lange dauert der Versand?",
        "Der Reißverschluss ist nach 2 Tagen kaputt gegangen.",
        "Habt ihr am Samstag geöffnet?",
        "Ich habe 3 Artikel bekommen, aber 4 bestellt",
        "Gibt es das auch in Schwarz?",
        "ok danke, tschüss",
        "Kann ich per Rechnung zahlen?",
    ],
    "fr": [
        "Où est mon colis ? J'ai commandé la semaine dernière.",
        "Vous livrez en Belgique ?",
        "Je peux échanger la veste en taille 38 ?",
        "Combien de temps prend la livraison ?",
        "La fermeture a cassé au bout de 2 jours.",
        "Le magasin est ouvert dimanche ?",
        "J'ai reçu 3 articles au lieu de 4",
        "ok merci, bonne journée",
        "Je peux payer en 3 fois ?",
    ],
    "es": [
        "¿Dónde está mi paquete? Pedí la semana pasada.",
        "¿Envían a Portugal?",
        "¿Puedo cambiar la chaqueta por una talla 40?",
        "¿Cuánto tarda el envío?",
        "La cremallera se rompió a los 2 días.",
        "¿Abren el domingo?",
        "Recibí 3 artículos pero pedí 4",
        "vale gracias, hasta luego",
        "¿Puedo pagar con Bizum?",
    ],
    "ru": [
        "Где моя посылка? Заказывала на прошлой неделе.",
        "Вы доставляете в Казахстан?",
        "Можно обменять куртку на 48 размер?",
        "Сколько идёт доставка?",
        "Молния сломалась через 2 дня, что делать?",
        "Магазин работает в воскресенье?",
        "Пришло 3 товара вместо 4",
        "ок спасибо",
        "Можно оплатить частями?",
    ],
}


def order_number(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.25:
        return digits(rng, rng.randint(6, 8))
    if style < 0.4:
        return (
            f"{rng.choice(['ORD', 'A', 'DE', 'FR', 'ES', 'RU'])}-{rng.randint(2023, 2026)}-{digits(rng, 5)}"
        )
    if style < 0.55:
        return f"{rng.randint(100, 999)}-{digits(rng, 7)}-{digits(rng, 7)}"  # Amazon style
    if style < 0.75:
        return digits(rng, rng.randint(9, 12))
    return str(rng.randint(1, 9)) + digits(rng, 15)  # 16 digits, like a card, now and then Luhn-valid


def tracking_number(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.25:
        return "00" + digits(rng, 18)  # DHL parcel
    if style < 0.4:
        return "1Z" + random_token(rng, 6, string.ascii_uppercase + string.digits) + digits(rng, 10)  # UPS
    if style < 0.55:
        value = "9400" + digits(rng, 18)  # USPS
        return " ".join(value[index : index + 4] for index in range(0, len(value), 4))
    if style < 0.7:
        return f"{rng.choice(['RA', 'RR', 'LP', 'CP'])}{digits(rng, 9)}{rng.choice(['RU', 'DE', 'CN', 'FR'])}"
    if style < 0.85:
        return digits(rng, 14)  # Russian Post / Hermes
    return "JJD" + digits(rng, 18)


NEG = {
    "order": {
        "en": [
            "Order #{v} hasn't arrived",
            "my order number is {v}",
            "order {v} - wrong size",
            "Where is order {v}?",
            "I still wait for {v}",
            "order no. {v}, can you check?",
        ],
        "de": [
            "Bestellung {v} ist nicht angekommen",
            "Bestellnummer: {v}",
            "Auftrag {v} bitte stornieren",
            "meine Bestellung {v} fehlt",
        ],
        "fr": ["commande n° {v}", "ma commande {v} n'est pas arrivée", "numéro de commande : {v}"],
        "es": ["pedido {v}", "número de pedido {v}, ¿dónde está?", "mi pedido {v} no llegó"],
        "ru": ["заказ №{v}", "номер заказа {v}", "где мой заказ {v}?"],
    },
    "tracking": {
        "en": [
            "tracking number {v}",
            "the tracking {v} says delivered",
            "{v} shows delivered but nothing here",
        ],
        "de": [
            "Sendungsnummer {v}",
            "laut Sendungsverfolgung {v} zugestellt",
            "Tracking {v} bewegt sich nicht",
        ],
        "fr": ["numéro de suivi {v}", "le suivi {v} ne bouge plus"],
        "es": ["número de seguimiento {v}", "el seguimiento {v} no se actualiza"],
        "ru": ["трек-номер {v}", "трек {v} не обновляется"],
    },
    "ticket": {
        "en": ["ticket #{t}", "re: case {t}", "invoice INV-{t} is wrong", "I got invoice {t} twice"],
        "de": ["Ticket-Nr. {y}-{t}", "Rechnung RE-{y}-{t} ist falsch", "Rechnungsnummer {t}"],
        "fr": ["ticket {t}", "facture F{y}-{t}", "la facture n° {t} est fausse"],
        "es": ["ticket {t}", "factura {y}/{t}", "la factura {t} tiene un error"],
        "ru": ["обращение {t}", "счёт № {t} от {d}", "тикет {t}"],
    },
    "price": {
        "en": [
            "Why was I charged {p}?",
            "it says {p} on the website",
            "is {p} the final price?",
            "I paid {p} for shipping",
        ],
        "de": ["Warum wurden mir {p} berechnet?", "auf der Seite steht {p}", "Versand kostet {p}?"],
        "fr": ["pourquoi j'ai payé {p} ?", "le site indique {p}"],
        "es": ["¿por qué me cobraron {p}?", "en la web pone {p}"],
        "ru": ["почему списали {p}?", "на сайте написано {p}"],
    },
    "date": {
        "en": [
            "delivery on {d}?",
            "can you deliver on {d} between {h} and {h2}?",
            "it was sent on {d} at {h}",
            "event {iso}",
            "since {d} nothing happened",
            "log says {iso}",
        ],
        "de": ["Lieferung am {d}?", "am {d} um {h} Uhr war niemand da", "seit dem {d} keine Antwort"],
        "fr": ["livraison le {d} ?", "le {d} vers {h}", "depuis le {d} rien"],
        "es": ["¿entrega el {d}?", "el {d} a las {h}", "desde el {d} nada"],
        "ru": ["доставка {d}?", "{d} в {h} никого не было", "с {d} ничего"],
    },
    "version": {
        "en": ["app version {v} crashes", "I'm on iOS {v}", "firmware {v} after update", "Windows build {v}"],
        "de": ["App-Version {v} stürzt ab", "ich habe Android {v}"],
        "fr": ["version {v} de l'appli plante", "iOS {v}"],
        "es": ["la versión {v} se cierra", "tengo Android {v}"],
        "ru": ["версия {v} вылетает", "у меня iOS {v}"],
    },
    "barcode": {
        "en": [
            "EAN {v}",
            "barcode {v} doesn't scan",
            "the number under the barcode is {v}",
            "{v}",
            "product {v} is out of stock?",
        ],
        "de": ["EAN {v}", "Strichcode {v}", "Artikel {v} nicht lieferbar?", "{v}"],
        "fr": ["code-barres {v}", "EAN : {v}", "{v}"],
        "es": ["código de barras {v}", "EAN {v}", "{v}"],
        "ru": ["штрихкод {v}", "EAN {v}", "{v}"],
    },
    "sku": {
        "en": ["SKU {v}", "item {v} in size L?", "art. no. {v}"],
        "de": ["Art.-Nr. {v}", "Artikelnummer {v}"],
        "fr": ["réf. {v}", "article {v}"],
        "es": ["referencia {v}", "artículo {v}"],
        "ru": ["артикул {v}", "товар {v} есть?"],
    },
    "imei": {
        "en": ["IMEI: {v}", "my phone's IMEI is {v}", "IMEI {v} is blocked", "{v}"],
        "de": ["IMEI {v}", "die IMEI lautet {v}"],
        "fr": ["IMEI : {v}", "mon IMEI est {v}"],
        "es": ["IMEI: {v}", "el IMEI es {v}"],
        "ru": ["IMEI {v}", "имей {v}"],
    },
    "luhn_invalid": {
        "en": ["is {v} a valid card?", "card {v} was declined", "{v}", "my card {v} doesn't work"],
        "de": ["Karte {v} wurde abgelehnt", "{v}"],
        "fr": ["carte {v} refusée", "{v}"],
        "es": ["tarjeta {v} rechazada", "{v}"],
        "ru": ["карта {v} отклонена", "{v}"],
    },
    "masked": {
        "en": [
            "my card ending in {l4}",
            "paid with **** **** **** {l4}",
            "Visa •••• {l4}",
            "card XXXX-XXXX-XXXX-{l4} was charged twice",
            "the card {b6}** **** {l4} was charged",
        ],
        "de": ["Karte endet auf {l4}", "bezahlt mit **** {l4}", "Mastercard ****{l4}"],
        "fr": ["carte se terminant par {l4}", "payé avec la carte **** {l4}"],
        "es": ["tarjeta terminada en {l4}", "pagué con **** {l4}"],
        "ru": ["карта *{l4}", "оплатил картой **** {l4}"],
    },
    "keyword_only": {
        "en": [
            "I forgot my password",
            "how do I reset my PIN?",
            "I didn't get the verification code",
            "where do I find the CVV?",
            "my API key stopped working",
            "do you need my passport?",
            "what is my IBAN needed for?",
            "the password reset link doesn't work",
            "my PIN was blocked after 3 attempts",
            "the code expired after 10 minutes",
            "password must have 8 characters?",
            "Is my card number safe with you?",
            "where do I enter the card expiry date?",
            "what's your tax id?",
            "I typed the code 2 times and it failed",
            "Do you store my card details?",
            "my password is wrong apparently",
            "my password is not accepted",
            "The password is too short it says",
            "What is a CVV code?",
            "Can I pay without a card?",
            "I need a new token, the old one expired on 01.03.2025",
        ],
        "de": [
            "Passwort vergessen, was tun?",
            "Ich habe keinen Code bekommen",
            "Wo finde ich die Prüfziffer?",
            "meine PIN ist gesperrt",
            "Das Passwort muss 8 Zeichen haben",
            "Der Code ist nach 10 Minuten abgelaufen",
            "Brauchen Sie meine Steuer-ID?",
            "mein Passwort ist falsch sagt die App",
            "Der Bestätigungscode kommt nicht an",
            "Muss ich meine IBAN angeben?",
        ],
        "fr": [
            "j'ai oublié mon mot de passe",
            "je n'ai pas reçu le code",
            "où trouver le cryptogramme ?",
            "mon code PIN est bloqué",
            "le mot de passe est incorrect",
            "le code a expiré après 10 minutes",
            "faut-il mon numéro de sécurité sociale ?",
        ],
        "es": [
            "olvidé mi contraseña",
            "no me llegó el código",
            "¿dónde está el CVV?",
            "mi PIN está bloqueado",
            "la contraseña es incorrecta",
            "el código caducó a los 10 minutos",
            "¿necesitan mi DNI?",
        ],
        "ru": [
            "забыл пароль",
            "не пришёл код",
            "где найти cvv?",
            "пин-код заблокирован",
            "пароль не подходит уже 3 раз",
            "код подтверждения не приходит",
            "нужен ли ИНН?",
            "код истёк через 5 минут",
        ],
    },
    "promo": {
        "en": [
            "code {promo} doesn't work",
            "use promo code {promo}?",
            "discount code {promo} says expired",
            "Is {promo} still valid?",
        ],
        "de": [
            "Rabattcode {promo} funktioniert nicht",
            "Gutscheincode {promo} ungültig",
            "der Code {promo} geht nicht",
        ],
        "fr": ["code promo {promo} ne marche pas", "le code {promo} est refusé"],
        "es": ["código promocional {promo} no funciona", "el código {promo} no va"],
        "ru": ["промокод {promo} не работает", "код {promo} не принимается"],
    },
    "public_key": {
        "en": ["my public key: {k}", "{k}", "here's my SSH key for the server\n{k}", "publishable key {pk}"],
        "de": ["mein öffentlicher Schlüssel: {k}", "{k}"],
        "fr": ["ma clé publique : {k}", "{k}"],
        "es": ["mi clave pública: {k}", "{k}"],
        "ru": ["мой публичный ключ: {k}", "{k}"],
    },
    "hash": {
        "en": [
            "sha256: {h64}",
            "commit {h40}",
            "md5 {h32}",
            "request id {u}",
            "transaction hash 0x{h64}",
            "error id {u}",
            "{u}",
            "checksum {h32}",
        ],
        "de": ["Fehler-ID {u}", "Prüfsumme {h64}", "Vorgangs-ID {u}"],
        "fr": ["identifiant de transaction {u}", "hash {h40}"],
        "es": ["ID de transacción {u}", "hash {h64}"],
        "ru": ["идентификатор {u}", "хэш {h40}"],
    },
    "published": {
        "en": [
            "I called +49 30 901820 but nobody answered",
            "I wrote to support@shop.example twice",
            "I paid to your IBAN DE02 1203 0000 0000 2020 51 yesterday",
        ],
        "de": [
            "Ich habe +49 30 901820 angerufen, keiner geht ran",
            "Mail an support@shop.example kam zurück",
            "Überweisung an DE02120300000000202051 ist raus",
        ],
        "fr": ["j'ai appelé le +49 30 901820 sans réponse", "j'ai écrit à support@shop.example"],
        "es": ["llamé al +49 30 901820 y nadie contesta", "escribí a support@shop.example"],
        "ru": ["звонил на +49 30 901820, никто не отвечает", "писал на support@shop.example"],
    },
    "phone": {
        "en": [
            "call me at {v}",
            "my number is {v}",
            "{v}",
            "you can reach me on {v} after 5pm",
            "phone: {v}",
        ],
        "de": ["Rückruf bitte unter {v}", "meine Handynummer: {v}", "{v}", "erreichbar unter {v}"],
        "fr": ["appelez-moi au {v}", "mon portable : {v}", "{v}"],
        "es": ["llámame al {v}", "mi móvil es {v}", "{v}"],
        "ru": ["перезвоните на {v}", "мой телефон {v}", "{v}"],
    },
    "email": {
        "en": ["my email is {v}", "{v}", "send it to {v} please"],
        "de": ["meine E-Mail: {v}", "{v}"],
        "fr": ["mon mail : {v}", "{v}"],
        "es": ["mi correo es {v}", "{v}"],
        "ru": ["моя почта {v}", "{v}"],
    },
    "address": {
        "en": ["ship to {v}", "my address: {v}", "new address is {v}"],
        "de": ["Lieferadresse: {v}", "bitte an {v} schicken", "neue Adresse {v}"],
        "fr": ["adresse : {v}", "livrez au {v}"],
        "es": ["dirección: {v}", "envíen a {v}"],
        "ru": ["адрес: {v}", "доставьте на {v}"],
    },
    "birth_date": {
        "en": ["I was born on {dob}", "date of birth: {dob}", "DOB {dob}"],
        "de": ["Geburtsdatum: {dob}", "geboren am {dob}"],
        "fr": ["date de naissance : {dob}", "né le {dob}"],
        "es": ["fecha de nacimiento {dob}", "nací el {dob}"],
        "ru": ["дата рождения {dob}", "родился {dob}"],
    },
    "birthday_other": {
        "en": [
            "it's a birthday gift, can it arrive by {d}?",
            "my birthday party is on {d}, will it be there?",
        ],
        "de": ["Ist ein Geburtstagsgeschenk, kommt es bis {d}?", "Geburtstag ist am {d}, schafft ihr das?"],
        "fr": ["c'est pour un anniversaire le {d}"],
        "es": ["es para un cumpleaños el {d}"],
        "ru": ["это подарок на день рождения {d}, успеете?"],
    },
}

POSITIVE_WEIGHTS = {
    "card": 27,
    "card_full": 8,
    "cvv": 2,
    "expiry": 2,
    "iban": 12,
    "national_id": 14,
    "passport": 6,
    "password": 10,
    "pin": 5,
    "otp": 8,
    "secret": 6,
}
NEGATIVE_WEIGHTS = {
    "chat": 16,
    "order": 8,
    "tracking": 6,
    "ticket": 5,
    "price": 6,
    "date": 6,
    "version": 3,
    "barcode": 4,
    "sku": 3,
    "imei": 3,
    "luhn_invalid": 3,
    "masked": 4,
    "keyword_only": 9,
    "promo": 4,
    "public_key": 2,
    "hash": 3,
    "published": 3,
    "phone": 5,
    "email": 3,
    "address": 3,
    "birth_date": 2,
    "birthday_other": 1,
}
POLICY_KINDS = frozenset(
    {"card", "cvv", "expiry", "iban", "national_id", "passport", "password", "pin", "otp", "secret"}
)


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def _price(rng: random.Random, language: str) -> str:
    amount = rng.randint(1, 2500) + rng.choice([0, 0.5, 0.99, 0.9, 0.49])
    if language == "en":
        return rng.choice([f"${amount:,.2f}", f"£{amount:.2f}", f"{amount:.2f} EUR"])
    if language == "ru":
        return rng.choice([f"{int(amount):,} ₽".replace(",", " "), f"{int(amount)} руб."])
    text = f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return rng.choice([f"{text} €", f"{text}€", f"€{amount:.2f}"])


def _public_key(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.4:
        return f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{random_token(rng, 43)} anna@laptop"
    if style < 0.7:
        body = random_token(rng, 120, string.ascii_letters + string.digits + "+/")
        return f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{body}"
    if style < 0.85:
        return (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF"
            + random_token(rng, 64)
            + "\n"
            + random_token(rng, 64)
            + "\n-----END PGP PUBLIC KEY BLOCK-----"
        )
    return (
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE"
        + random_token(rng, 64)
        + "\n-----END CERTIFICATE-----"
    )


def _promo(rng: random.Random) -> str:
    word = rng.choice(
        ["WINTER", "SUMMER", "SAVE", "WELCOME", "SALE", "FRUEHLING", "ETE", "VERANO", "ВЕСНА", "BLACKFRIDAY"]
    )
    return rng.choice(
        [
            f"{word}{rng.choice([10, 15, 20, 25, 2024, 2025])}",
            f"{word}-{rng.randint(10, 50)}",
            word.lower() + str(rng.randint(5, 30)),
        ]
    )


def _version(rng: random.Random) -> str:
    return rng.choice(
        [
            f"{rng.randint(1, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}",
            f"{rng.randint(10, 17)}.{rng.randint(0, 9)}",
            f"10.0.{rng.randint(10000, 22631)}.{rng.randint(100, 4000)}",
            f"{rng.randint(2022, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}.{rng.randint(1, 9)}",
        ]
    )


def _sku(rng: random.Random) -> str:
    size = rng.choice(["S", "M", "XL"])
    return rng.choice(
        [
            f"{digits(rng, 8)}{rng.choice('ABCXYZ')}",
            f"{digits(rng, 3)}-{digits(rng, 3)}-{digits(rng, 2)}",
            f"{rng.choice(['DE', 'FR', 'XL'])}-{rng.randint(10, 99)}-{rng.randint(10, 99)}-{size}",
            digits(rng, 10),
            f"{digits(rng, 4)}-{digits(rng, 2)}",
        ]
    )


def _luhn_invalid(rng: random.Random) -> str:
    number = card_number(rng)
    while True:
        broken = number[:-1] + rng.choice([digit for digit in string.digits if digit != number[-1]])
        if not luhn_ok(broken):
            return format_card(rng, broken).replace("\n", " ")


def _imei(rng: random.Random) -> str:
    value = imei(rng)
    return rng.choice(
        [
            value,
            f"{value[:2]} {value[2:8]} {value[8:14]} {value[14]}",
            f"{value[:2]}-{value[2:8]}-{value[8:14]}-{value[14]}",
        ]
    )


def _fields(rng: random.Random, family: str, language: str) -> dict[str, str]:
    """The values for a negative family's template fields."""
    d = date_value(rng, (2024, 2026))
    fields = {
        "d": d,
        "iso": f"{date_value(rng, (2024, 2026), iso=True)}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "h": f"{rng.randint(8, 12)}:{rng.choice(['00', '15', '30', '45'])}",
        "h2": f"{rng.randint(13, 20)}:00",
        "t": digits(rng, rng.randint(5, 8)),
        "y": str(rng.randint(2023, 2026)),
        "p": _price(rng, language),
    }
    value = {
        "order": lambda: order_number(rng),
        "tracking": lambda: tracking_number(rng),
        "version": lambda: _version(rng),
        "barcode": lambda: ean13(rng) if rng.random() < 0.8 else ean13(rng)[1:],
        "sku": lambda: _sku(rng),
        "imei": lambda: _imei(rng),
        "luhn_invalid": lambda: _luhn_invalid(rng),
        "phone": lambda: phone(rng, language),
        "email": lambda: email(rng),
        "address": lambda: address(rng, language),
    }.get(family)
    fields["v"] = value() if value is not None else ""
    number = card_number(rng)
    fields.update(
        l4=number[-4:],
        b6=number[:6],
        promo=_promo(rng),
        k=_public_key(rng),
        pk="pk_live_" + random_token(rng, 24),
        h32=hex_token(rng, 32),
        h40=hex_token(rng, 40),
        h64=hex_token(rng, 64),
        u=uuid(rng),
        dob=date_value(rng, (1940, 2006)),
    )
    return fields


def _dress(rng: random.Random, text: str, language: str, lower_ok: bool = True) -> str:
    """Greeting, thanks, and the odd message typed all in lower case (not for keys and tokens, which a
    customer pastes as they are)."""
    text = rng.choice(GREETING[language]) + text + rng.choice(THANKS[language])
    if lower_ok and rng.random() < 0.08:
        text = text.lower()
    return text


def _positive(rng: random.Random, category: str) -> Message:
    language = rng.choice(LANGUAGES)
    kinds = [category]
    if category == "card":
        text = rng.choice(CARD[language]).format(v=format_card(rng, card_number(rng)))
    elif category == "card_full":
        number = card_number(rng)
        text = rng.choice(CARD_FULL[language]).format(
            v=format_card(rng, number).replace("\n", " "),
            exp=expiry(rng),
            cvv=cvv(rng, number[:2] in ("34", "37")),
        )
        kinds = ["card", "expiry", "cvv"]
    elif category == "cvv":
        text = rng.choice(CVV_ONLY[language]).format(cvv=cvv(rng))
    elif category == "expiry":
        text = rng.choice(EXPIRY_ONLY[language]).format(exp=expiry(rng))
    elif category == "iban":
        text = rng.choice(IBAN[language]).format(v=format_iban(rng, iban_number(rng)))
    elif category == "national_id":
        detail = rng.choice(tuple(NATIONAL_ID))
        language, templates = NATIONAL_ID[detail]
        maker = {
            "us_ssn": us_ssn,
            "gb_nino": gb_nino,
            "de_idnr": de_idnr,
            "fr_nir": fr_nir,
            "es_dni": es_dni,
            "es_nie": es_nie,
            "it_cf": it_cf,
            "nl_bsn": nl_bsn,
            "pl_pesel": pl_pesel,
            "ru_inn": ru_inn,
            "ru_snils": ru_snils,
        }[detail]
        text = rng.choice(templates).format(v=maker(rng))
    elif category == "passport":
        text = rng.choice(PASSPORT[language]).format(v=passport(rng, language))
    elif category == "password":
        text = rng.choice(PASSWORD[language]).format(v=password_value(rng))
    elif category == "pin":
        text = rng.choice(PIN[language]).format(v=pin(rng))
    elif category == "otp":
        text = rng.choice(OTP[language]).format(v=otp(rng))
    else:
        value, _shape = secret_value(rng)
        text = rng.choice(SECRET[language]).format(v=value)
    text = _dress(rng, text, language, lower_ok=category != "secret")
    if rng.random() < 0.12:
        # a hard negative in the same message ("order 12345, paid with card …")
        extra = rng.choice(NEG["order"][language]).format(**_fields(rng, "order", language))
        text = f"{extra}. {text}" if rng.random() < 0.5 else f"{text}\n{extra}"
    return Message(text, language, kinds, category)


def _negative(rng: random.Random, family: str) -> Message:
    language = rng.choice(LANGUAGES)
    if family == "chat":
        text = rng.choice(CHAT[language])
    else:
        text = rng.choice(NEG[family][language]).format(**_fields(rng, family, language))
    kinds = {
        "phone": ["phone"],
        "email": ["email"],
        "address": ["address"],
        "birth_date": ["birth_date"],
    }.get(family, [])
    return Message(_dress(rng, text, language), language, kinds, family)


def generate(count: int = 6000, *, seed: int = 6, positive_share: float = 0.30) -> list[Message]:
    """`count` labelled messages, the same for the same seed."""
    rng = random.Random(seed)
    messages = []
    for _ in range(count):
        if rng.random() < positive_share:
            messages.append(_positive(rng, _pick(rng, POSITIVE_WEIGHTS)))
        else:
            messages.append(_negative(rng, _pick(rng, NEGATIVE_WEIGHTS)))
    return messages


def is_positive(message: Message) -> bool:
    return any(kind in POLICY_KINDS for kind in message.kinds)
