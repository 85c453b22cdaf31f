"""The sensitive-data detector (`flows.sensitive`, issue #6 point 1): positives with their exact spans and
kinds for every type in English, German, French, Spanish and Russian, hard negatives that must not fire,
messages with several values, masks and redaction.

Secret-shaped test values (API keys, tokens, private keys) are assembled at run time from harmless parts, so
that no file of this repository looks like it leaks a credential to a secret scanner.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from flows.sensitive import DEFAULT_MUST_NOT_STAY, Detector, Kind, Span, mask, redact

PUBLISHED = ("+49 30 901820", "support@shop.example", "DE02 1203 0000 0000 2020 51")
DETECTOR = Detector(published=PUBLISHED)


def found(text: str) -> list[tuple[Kind, str, str]]:
    return [(span.kind, text[span.start : span.end], span.detail) for span in DETECTOR.find(text)]


def kinds(text: str) -> set[Kind]:
    return {span.kind for span in DETECTOR.find(text)}


# Secret-shaped values, built so the source holds no token-looking literal.
ALNUM = "q8bfnUdupemj2tgWPmAmDZdjH2u1KyO2vnEzwPPcX7rT"
AWS_KEY = "AKIA" + "IOSFODNN7" + "EXAMPLE"  # AWS's own documentation example
GITHUB_TOKEN = "gh" + "p_" + ALNUM[:36]
SLACK_TOKEN = "xo" + "xb-" + "1234567890-1234567890123-" + ALNUM[:24]
STRIPE_KEY = "sk" + "_live_" + ALNUM[:24]
GOOGLE_KEY = "AI" + "za" + "SyD" + ALNUM[:32]
JWT = (
    "ey"
    + "JhbGciOiJIUzI1NiJ9."
    + "ey"
    + "JzdWIiOiIxMjM0NTY3ODkwIn0."
    + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
BOT_TOKEN = "123456789:" + "AA" + ALNUM[:33]
PRIVATE_KEY = (
    "-----BEGIN "
    + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5v"
    + ALNUM
    + "\n-----END OPENSSH PRIVATE KEY-----"
)
PUBLIC_SSH = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + ALNUM[:43] + " anna@laptop"
PGP_PUBLIC = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF" + ALNUM + "\n-----END PGP PUBLIC KEY BLOCK-----"
PUBLISHABLE = "pk" + "_live_" + ALNUM[:24]
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"  # AWS's own documentation example


# --- positives: (text, [(kind, value, detail)]) ------------------------------------------------------------

CARDS = [
    ("my card is 4111 1111 1111 1111, thanks", [(Kind.CARD, "4111 1111 1111 1111", "visa")]),
    ("Karte: 5500-0000-0000-0004", [(Kind.CARD, "5500-0000-0000-0004", "mastercard")]),
    ("numéro de carte 3782 822463 10005", [(Kind.CARD, "3782 822463 10005", "amex")]),
    ("tarjeta 6011.1111.1111.1117", [(Kind.CARD, "6011.1111.1111.1117", "discover")]),
    ("номер карты 3530111333300000", [(Kind.CARD, "3530111333300000", "jcb")]),
    ("2223003122003222", [(Kind.CARD, "2223003122003222", "mastercard")]),
    ("4111  1111  1111  1111", [(Kind.CARD, "4111  1111  1111  1111", "visa")]),
    ("here:\n4111 1111\n1111 1111", [(Kind.CARD, "4111 1111\n1111 1111", "visa")]),
    ("карта 2200 0000 0000 0004", [(Kind.CARD, "2200 0000 0000 0004", "mir")]),
    ("CB 4012888888881881 merci", [(Kind.CARD, "4012888888881881", "visa")]),
    (
        "card 4012888888881881 exp 12/26 cvv 123",
        [
            (Kind.CARD, "4012888888881881", "visa"),
            (Kind.EXPIRY, "12/26", "card_expiry"),
            (Kind.CVV, "123", "cvv"),
        ],
    ),
    (
        "5555555555554444 08/27 737",
        [
            (Kind.CARD, "5555555555554444", "mastercard"),
            (Kind.EXPIRY, "08/27", "card_expiry"),
            (Kind.CVV, "737", "cvv"),
        ],
    ),
    (
        "Kreditkarte 4111 1111 1111 1111, gültig bis 09/28",
        [(Kind.CARD, "4111 1111 1111 1111", "visa"), (Kind.EXPIRY, "09/28", "card_expiry")],
    ),
    ("Prüfziffer ist 482", [(Kind.CVV, "482", "cvv")]),
    ("le cryptogramme est 123", [(Kind.CVV, "123", "cvv")]),
    ("el CVV es 4321", [(Kind.CVV, "4321", "cvv")]),
    ("cvv-код 555", [(Kind.CVV, "555", "cvv")]),
    ("my card expires 11/29", [(Kind.EXPIRY, "11/29", "card_expiry")]),
    ("срок действия карты 03/2030", [(Kind.EXPIRY, "03/2030", "card_expiry")]),
    ("charge it to my amex 3714 496353 98431", [(Kind.CARD, "3714 496353 98431", "amex")]),
    ("order 32185849. 4111 1111 1111 1111 is my card", [(Kind.CARD, "4111 1111 1111 1111", "visa")]),
    (
        "tarjeta 4000 0566 5566 5556, caduca 04/27, CVV 919",
        [
            (Kind.CARD, "4000 0566 5566 5556", "visa"),
            (Kind.EXPIRY, "04/27", "card_expiry"),
            (Kind.CVV, "919", "cvv"),
        ],
    ),
    (
        "My CC: 4242424242424242 - 12/29 - 424",
        [
            (Kind.CARD, "4242424242424242", "visa"),
            (Kind.EXPIRY, "12/29", "card_expiry"),
            (Kind.CVV, "424", "cvv"),
        ],
    ),
]

IBANS = [
    ("IBAN: DE89 3704 0044 0532 0130 00", [(Kind.IBAN, "DE89 3704 0044 0532 0130 00", "DE")]),
    ("gb29 nwbk 6016 1331 9268 19", [(Kind.IBAN, "gb29 nwbk 6016 1331 9268 19", "GB")]),
    ("mon IBAN est FR1420041010050500013M02606", [(Kind.IBAN, "FR1420041010050500013M02606", "FR")]),
    ("mi IBAN es ES91 2100 0418 4502 0005 1332", [(Kind.IBAN, "ES91 2100 0418 4502 0005 1332", "ES")]),
    ("NL91ABNA0417164300 please", [(Kind.IBAN, "NL91ABNA0417164300", "NL")]),
    (
        "верните на IT60 X054 2811 1010 0000 0123 456",
        [(Kind.IBAN, "IT60 X054 2811 1010 0000 0123 456", "IT")],
    ),
    ("bitte auf at61 1904 3002 3457 3201 überweisen", [(Kind.IBAN, "at61 1904 3002 3457 3201", "AT")]),
]

NATIONAL_IDS = [
    ("my SSN is 536-22-1234", [(Kind.NATIONAL_ID, "536-22-1234", "us_ssn")]),
    ("536-22-1234", [(Kind.NATIONAL_ID, "536-22-1234", "us_ssn")]),
    ("social security number 536221234", [(Kind.NATIONAL_ID, "536221234", "us_ssn")]),
    ("NI number AB 12 34 56 C", [(Kind.NATIONAL_ID, "AB 12 34 56 C", "gb_nino")]),
    ("NINO: AB123456C", [(Kind.NATIONAL_ID, "AB123456C", "gb_nino")]),
    ("Steuer-ID: 36 574 261 809", [(Kind.NATIONAL_ID, "36 574 261 809", "de_idnr")]),
    ("meine Steueridentifikationsnummer ist 36574261809", [(Kind.NATIONAL_ID, "36574261809", "de_idnr")]),
    ("IdNr. 36574261809", [(Kind.NATIONAL_ID, "36574261809", "de_idnr")]),
    (
        "numéro de sécurité sociale : 2 95 10 99 126 111 93",
        [(Kind.NATIONAL_ID, "2 95 10 99 126 111 93", "fr_nir")],
    ),
    ("295109912611193", [(Kind.NATIONAL_ID, "295109912611193", "fr_nir")]),
    ("mi DNI es 54362315K", [(Kind.NATIONAL_ID, "54362315K", "es_dni")]),
    ("aquí tiene: 54362315-K", [(Kind.NATIONAL_ID, "54362315-K", "es_dni")]),
    ("NIE: X2482300W", [(Kind.NATIONAL_ID, "X2482300W", "es_nie")]),
    ("codice fiscale RCCMNL83S18D969H", [(Kind.NATIONAL_ID, "RCCMNL83S18D969H", "it_cf")]),
    ("my BSN is 111222333", [(Kind.NATIONAL_ID, "111222333", "nl_bsn")]),
    ("PESEL: 44051401359", [(Kind.NATIONAL_ID, "44051401359", "pl_pesel")]),
    ("ИНН 7707083893", [(Kind.NATIONAL_ID, "7707083893", "ru_inn")]),
    ("мой ИНН 500100732259", [(Kind.NATIONAL_ID, "500100732259", "ru_inn")]),
    ("СНИЛС 112-233-445 95", [(Kind.NATIONAL_ID, "112-233-445 95", "ru_snils")]),
    ("112-233-445 95", [(Kind.NATIONAL_ID, "112-233-445 95", "ru_snils")]),
    ("снилс 11223344595", [(Kind.NATIONAL_ID, "11223344595", "ru_snils")]),
]

PASSPORTS = [
    ("passport number: C01X00T47", [(Kind.PASSPORT, "C01X00T47", "passport")]),
    ("my passport no. 123456789", [(Kind.PASSPORT, "123456789", "passport")]),
    ("Reisepass Nr. C01X00T47", [(Kind.PASSPORT, "C01X00T47", "passport")]),
    ("Personalausweis L01X00T47", [(Kind.PASSPORT, "L01X00T47", "id_card")]),
    ("numéro de passeport 09AB12345", [(Kind.PASSPORT, "09AB12345", "passport")]),
    ("pasaporte PAA123456", [(Kind.PASSPORT, "PAA123456", "passport")]),
    ("паспорт 4510 123456", [(Kind.PASSPORT, "4510 123456", "passport")]),
    ("паспорт серия 45 10 номер 123456", [(Kind.PASSPORT, "45 10 номер 123456", "passport")]),
]

PHONES = [
    ("call me at +49 151 23456789", [(Kind.PHONE, "+49 151 23456789", "DE")]),
    ("Rückruf bitte: 0151 23456789", [(Kind.PHONE, "0151 23456789", "DE")]),
    ("+7 (915) 123-45-67", [(Kind.PHONE, "+7 (915) 123-45-67", "RU")]),
    ("позвоните 8 915 123 45 67", [(Kind.PHONE, "8 915 123 45 67", "RU")]),
    ("appelez-moi au 06 12 34 56 78", [(Kind.PHONE, "06 12 34 56 78", "FR")]),
    ("llámame al 612 34 56 78", [(Kind.PHONE, "612 34 56 78", "ES")]),
    ("phone: (212) 555-0134", [(Kind.PHONE, "(212) 555-0134", "US")]),
]

EMAILS = [
    ("mail: anna.k@gmail.com", [(Kind.EMAIL, "anna.k@gmail.com", "email")]),
    ("meine E-Mail ist max.mustermann+shop@web.de.", [(Kind.EMAIL, "max.mustermann+shop@web.de", "email")]),
]

BIRTH_DATES = [
    ("born on 12.03.1985", [(Kind.BIRTH_DATE, "12.03.1985", "date_of_birth")]),
    ("DOB: March 12, 1985", [(Kind.BIRTH_DATE, "March 12, 1985", "date_of_birth")]),
    ("Geburtsdatum: 03.04.1979", [(Kind.BIRTH_DATE, "03.04.1979", "date_of_birth")]),
    ("né le 12/03/1985", [(Kind.BIRTH_DATE, "12/03/1985", "date_of_birth")]),
    ("fecha de nacimiento: 12 de marzo de 1985", [(Kind.BIRTH_DATE, "12 de marzo de 1985", "date_of_birth")]),
    ("дата рождения 12.03.1985", [(Kind.BIRTH_DATE, "12.03.1985", "date_of_birth")]),
    ("my birthday is 1985-03-12", [(Kind.BIRTH_DATE, "1985-03-12", "date_of_birth")]),
]

PASSWORDS = [
    ("my password is Hunter2!", [(Kind.PASSWORD, "Hunter2!", "password")]),
    ("my password is sunshine.", [(Kind.PASSWORD, "sunshine", "password")]),
    ("password: 'correct horse battery'", [(Kind.PASSWORD, "correct horse battery", "password")]),
    ("Passwort: Sommer2024", [(Kind.PASSWORD, "Sommer2024", "password")]),
    ("das Kennwort lautet Geheim#1", [(Kind.PASSWORD, "Geheim#1", "password")]),
    ("mot de passe : Soleil#77", [(Kind.PASSWORD, "Soleil#77", "password")]),
    ("mi contraseña es Qwerty123", [(Kind.PASSWORD, "Qwerty123", "password")]),
    ("пароль: Malina2020", [(Kind.PASSWORD, "Malina2020", "password")]),
    ("логин ivan пароль dragonmoon", [(Kind.PASSWORD, "dragonmoon", "password")]),
    ("пароль от кабинета qwerty123", [(Kind.PASSWORD, "qwerty123", "password")]),
    ("user: anna, pass: tulpen77", [(Kind.PASSWORD, "tulpen77", "password")]),
    ('Mein Passwort ist "Sommer 2024"', [(Kind.PASSWORD, "Sommer 2024", "password")]),
    ("pw = xK9!mQ2#", [(Kind.PASSWORD, "xK9!mQ2#", "password")]),
    ("password- Tanya1985", [(Kind.PASSWORD, "Tanya1985", "password")]),
    ("Passwort lautet: apfelbaum", [(Kind.PASSWORD, "apfelbaum", "password")]),
]

PINS = [
    ("PIN: 1234", [(Kind.PIN, "1234", "pin")]),
    ("meine PIN ist 4821", [(Kind.PIN, "4821", "pin")]),
    ("code PIN : 5831", [(Kind.PIN, "5831", "pin")]),
    ("el pin de la tarjeta es 2468", [(Kind.PIN, "2468", "pin")]),
    ("пин-код 7391", [(Kind.PIN, "7391", "pin")]),
]

OTPS = [
    ("code 482913", [(Kind.OTP, "482913", "otp")]),
    ("verification code: 482 913", [(Kind.OTP, "482 913", "otp")]),
    ("482913 is your verification code", [(Kind.OTP, "482913", "otp")]),
    ("Bestätigungscode 482913", [(Kind.OTP, "482913", "otp")]),
    ("TAN: 731904", [(Kind.OTP, "731904", "otp")]),
    ("le code de vérification est 482913", [(Kind.OTP, "482913", "otp")]),
    ("código: 482913", [(Kind.OTP, "482913", "otp")]),
    ("код из смс 482913", [(Kind.OTP, "482913", "otp")]),
    ("Код 839201 никому не сообщайте", [(Kind.OTP, "839201", "otp")]),
    ("your one-time code: 77 12 33", [(Kind.OTP, "77 12 33", "otp")]),
    ("use this code: 90210 to log in", [(Kind.OTP, "90210", "otp")]),
]

SECRETS = [
    (f"my key {AWS_KEY}", [(Kind.SECRET, AWS_KEY, "aws_key")]),
    (GITHUB_TOKEN, [(Kind.SECRET, GITHUB_TOKEN, "github_token")]),
    (f"slack {SLACK_TOKEN}", [(Kind.SECRET, SLACK_TOKEN, "slack_token")]),
    (f"Stripe: {STRIPE_KEY}", [(Kind.SECRET, STRIPE_KEY, "stripe_key")]),
    (f"clé {GOOGLE_KEY}", [(Kind.SECRET, GOOGLE_KEY, "google_api_key")]),
    (f"Authorization: Bearer {JWT}", [(Kind.SECRET, JWT, "jwt")]),
    (f"bot token {BOT_TOKEN}", [(Kind.SECRET, BOT_TOKEN, "telegram_bot_token")]),
    (f"here it is\n{PRIVATE_KEY}\nthanks", [(Kind.SECRET, PRIVATE_KEY, "private_key")]),
    ("API key: " + ALNUM[:40], [(Kind.SECRET, ALNUM[:40], "token")]),
    ("вот мой токен " + ALNUM[:32], [(Kind.SECRET, ALNUM[:32], "token")]),
    (f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}", [(Kind.SECRET, AWS_SECRET, "token")]),
]

ADDRESSES = [
    ("Hauptstraße 5, 10115 Berlin", [(Kind.ADDRESS, "Hauptstraße 5, 10115 Berlin", "address")]),
    ("ich wohne in der Berliner Straße 12a", [(Kind.ADDRESS, "Berliner Straße 12a", "address")]),
    ("ship to 221 Baker Street", [(Kind.ADDRESS, "221 Baker Street", "address")]),
    ("12 rue de la Paix, 75002 Paris", [(Kind.ADDRESS, "12 rue de la Paix, 75002 Paris", "address")]),
    ("Calle Mayor 5, 28013 Madrid", [(Kind.ADDRESS, "Calle Mayor 5, 28013 Madrid", "address")]),
    ("адрес: ул. Ленина, д. 10, кв. 5", [(Kind.ADDRESS, "ул. Ленина, д. 10, кв. 5", "address")]),
]

POSITIVES = [
    *CARDS,
    *IBANS,
    *NATIONAL_IDS,
    *PASSPORTS,
    *PHONES,
    *EMAILS,
    *BIRTH_DATES,
    *PASSWORDS,
    *PINS,
    *OTPS,
    *SECRETS,
    *ADDRESSES,
]


@pytest.mark.parametrize(("text", "expected"), POSITIVES, ids=[text[:40] for text, _ in POSITIVES])
def test_finds_each_value_with_its_exact_span_kind_and_detail(
    text: str, expected: list[tuple[Kind, str, str]]
) -> None:
    assert found(text) == expected


# --- hard negatives: nothing that must not stay in chat --------------------------------------------------

NEGATIVES = [
    # order, tracking, ticket and invoice numbers (some Luhn-valid and card-shaped)
    "Order #4111111111111111 hasn't arrived",
    "my order 302-4455213-7766554 is late",
    "Bestellnummer: 4556 7375 8689 9855",
    "commande n° 4012888888881881",
    "pedido 5555555555554444, ¿dónde está?",
    "заказ №4111111111111111 не пришёл",
    "Sendungsnummer 00340434161094042557",
    "tracking 9400 1111 2020 0000 0000 00",
    "UPS 1Z999AA10123456784",
    "трек RA123456789RU",
    "Ticket #48213",
    "Rechnung RE-2024-0012 ist falsch",
    "facture n° 2024-1133",
    "factura 2024/000123",
    "счёт № 4521 от 12.03.2024",
    # prices
    "it costs 1.299,00 € now",
    "I paid $1,299.99 for it",
    "цена 1 299 ₽",
    # dates and times that are not birthdays
    "delivery on 12.03.2024 at 14:30",
    "log: 2024-03-12T14:35:12Z",
    "timestamp 1710254112345",
    "am 03.04.2025 um 9:45 Uhr",
    "my birthday party is on 12.05.2026, will it arrive?",
    # versions, barcodes, SKUs, IMEIs
    "app version 3.14.2 crashes",
    "Windows 10.0.19045.3803",
    "EAN 4006381333931",
    "4006381333931",
    "barcode 036000291452",
    "SKU 40023115A",
    "Art.-Nr. 123-456-78",
    "IMEI: 490154203237518",
    "IMEI 35 209900 176148 1",
    "my phone's IMEI is 356938035643809",
    # card-shaped but not a card, or already masked
    "is 4111 1111 1111 1112 a valid card?",
    "card ending in 4242",
    "paid with **** **** **** 4242",
    "the card 4111 11** **** 1111 was charged",
    "Visa •••• 1881",
    # keywords without a value
    "I forgot my password",
    "how do I reset my PIN?",
    "I didn't get the verification code",
    "where do I find the CVV?",
    "password must be 8 characters long",
    "my PIN was blocked after 3 attempts",
    "the code expires in 10 minutes",
    "my password is wrong apparently",
    "Passwort vergessen, was tun?",
    "mein Passwort ist falsch",
    "j'ai oublié mon mot de passe",
    "je n'ai pas reçu le code",
    "olvidé mi contraseña",
    "¿necesitan mi DNI?",
    "забыл пароль",
    "не пришёл код",
    "my API key stopped working",
    "do you need my passport?",
    # promo, postal and error codes
    "code WINTER15 doesn't work",
    "promo code SAVE2024",
    "Rabattcode FRUEHLING20",
    "code promo ETE2024",
    "código DESCUENTO10",
    "промокод ВЕСНА25",
    "discount code 2024 expired",
    "code postal 75001",
    "código postal 28001",
    "zip code 90210",
    "error code 0x80070005",
    "Fehlercode 5003",
    "код ошибки 5003",
    # public keys, hashes and UUIDs
    f"my public key: {PUBLIC_SSH}",
    PGP_PUBLIC,
    f"publishable key {PUBLISHABLE}",
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "commit 3f2a9c1b4e5d6f7a8b9c0d1e2f3a4b5c6d7e8f90",
    "md5 d41d8cd98f00b204e9800998ecf8427e",
    "request id 550e8400-e29b-41d4-a716-446655440000",
    # the shop's own published contacts
    "I called +49 30 901820 but nobody answered",
    "I wrote to support@shop.example twice",
    "Überweisung an DE02 1203 0000 0000 2020 51 ist raus",
    # numbers and words that are something else
    "Kundennummer 5512345678901234",
    "Amazon order 028-1234567-1234567 arrived broken",
    "Sendung 1234 5678 9012 3456 hängt fest",
    "BIC COBADEFFXXX, Konto 1234567890",
    "my BTC address is bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
    "I paid 4111 euros for the TV",
    "serial no. 4111111111111111",
    "réf. 81478086B",  # a valid DNI by chance, but a product reference
    "имей 35 199778 471253 3",
    "Offering 3 sizes, ordering 2",
    "the password field is greyed out",
    "Password: see my previous message",
    "Passwort: siehe oben",
    "mot de passe : aucun",
    "my password has 12 characters and a symbol",
    "the pin is on the back",
    "Die PIN hat 4 Stellen",
    "le code à 6 chiffres n'arrive pas",
    "passport expires 12/2031",
    "Passport photo 35x45 mm",
    "Выставьте счёт на ООО Ромашка, ИНН уточню позже",
    # plain chat
    "Do you have this in size 42?",
    "Ich habe 3 Artikel bekommen, aber 4 bestellt",
    "J'ai reçu 3 articles au lieu de 4",
    "Recibí 3 artículos pero pedí 4",
    "Пришло 3 товара вместо 4",
    "",
    "ok",
    "👍",
]


@pytest.mark.parametrize("text", NEGATIVES, ids=[text[:40] or "empty" for text in NEGATIVES])
def test_hard_negatives_find_nothing(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me at 0151 23456789 about order 12345", {Kind.PHONE}),
        ("my email is anna.k@gmail.com, ticket 48213", {Kind.EMAIL}),
        ("ship to Hauptstraße 5, 10115 Berlin", {Kind.ADDRESS}),
        ("date of birth 12.03.1985", {Kind.BIRTH_DATE}),
    ],
)
def test_personal_data_outside_the_default_policy_is_found_but_does_not_have_to_go(
    text: str, expected: set[Kind]
) -> None:
    assert kinds(text) == expected
    assert not expected & DEFAULT_MUST_NOT_STAY


# --- several values, offsets, overlaps -------------------------------------------------------------------


def test_a_message_with_several_values_lists_them_in_order() -> None:
    text = (
        "Hi, order 12345. Card 4111 1111 1111 1111 exp 12/26 CVV 123, "
        "refund to DE89 3704 0044 0532 0130 00, call +49 151 23456789 or mail anna.k@gmail.com; "
        "my password is Hunter2!"
    )
    assert [(kind, value) for kind, value, _ in found(text)] == [
        (Kind.CARD, "4111 1111 1111 1111"),
        (Kind.EXPIRY, "12/26"),
        (Kind.CVV, "123"),
        (Kind.IBAN, "DE89 3704 0044 0532 0130 00"),
        (Kind.PHONE, "+49 151 23456789"),
        (Kind.EMAIL, "anna.k@gmail.com"),
        (Kind.PASSWORD, "Hunter2!"),
    ]


def test_spans_are_sorted_and_never_overlap() -> None:
    text = (
        f"IBAN DE89 3704 0044 0532 0130 00 und Karte 4111111111111111, Token {GITHUB_TOKEN}, Tel 030 12345678"
    )
    spans = DETECTOR.find(text)
    assert [span.start for span in spans] == sorted(span.start for span in spans)
    for first, second in itertools.pairwise(spans):
        assert first.end <= second.start


def test_an_iban_wins_over_the_card_like_digits_inside_it() -> None:
    # Stretches of the digits of a spaced IBAN can look like a card; the IBAN is the more specific finding.
    text = "DE89 3704 0044 0532 0130 00"
    assert kinds(text) == {Kind.IBAN}


def test_offsets_are_offsets_into_the_original_text_even_when_lower_case_changes_its_length() -> None:
    text = "İİİ İstanbul: kart 4111 1111 1111 1111"  # "İ".lower() is two characters
    [span] = DETECTOR.find(text)
    assert text[span.start : span.end] == "4111 1111 1111 1111"


def test_a_private_key_block_is_one_secret_whatever_it_contains() -> None:
    text = f"{PRIVATE_KEY}"
    assert found(text) == [(Kind.SECRET, PRIVATE_KEY, "private_key")]


def test_a_cut_off_private_key_block_still_counts() -> None:
    text = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA" + ALNUM
    assert found(text) == [(Kind.SECRET, text, "private_key")]


def test_numbers_in_a_url_are_not_cards_or_phones() -> None:
    assert found("https://shop.example/track?id=4111111111111111&tel=015123456789") == []


# --- published contacts ----------------------------------------------------------------------------------


def test_published_contacts_never_count_however_they_are_written() -> None:
    detector = Detector(published=["+49 30 901820", "Support@Shop.example"], default_region="DE")
    assert detector.find("ruf an: 030 901820 oder support@shop.example") == []
    assert [span.kind for span in detector.find("ruf an: 030 901821")] == [Kind.PHONE]


def test_an_unreadable_published_contact_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="published contact") as raised:
        Detector(published=["not a contact 4711"])
    assert "4711" not in str(raised.value)


# --- masks and redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        (Kind.CARD, "4111 1111 1111 1111", "•••• 1111"),
        (Kind.CARD, "3782-822463-10005", "•••• 0005"),
        (Kind.IBAN, "DE89 3704 0044 0532 0130 00", "DE•• •••• 3000"),
        (Kind.IBAN, "gb29 nwbk 6016 1331 9268 19", "GB•• •••• 6819"),
        (Kind.PHONE, "+49 151 23456789", "•••• 89"),
        (Kind.EMAIL, "anna.k@gmail.com", "a•••@gmail.com"),
        (Kind.CVV, "123", "••••"),
        (Kind.PIN, "1234", "••••"),
        (Kind.OTP, "482913", "••••"),
        (Kind.PASSWORD, "Hunter2!", "••••"),
        (Kind.SECRET, AWS_KEY, "••••"),
        (Kind.NATIONAL_ID, "536-22-1234", "••••"),
        (Kind.EXPIRY, "12/26", "••••"),
        (Kind.CARD, "12", "••••"),
    ],
)
def test_masks_show_at_most_a_harmless_part(kind: Kind, value: str, masked: str) -> None:
    assert mask(kind, value) == masked


def test_redaction_replaces_each_value_by_its_kind_and_mask() -> None:
    text = "my card is 4111 1111 1111 1111, thanks"
    assert redact(text, DETECTOR.find(text)) == "my card is [card •••• 1111], thanks"


def test_redaction_of_a_message_with_several_values_leaves_none_of_them() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00, PIN: 1234, code 482913, password: Hunter2!"
    redacted = redact(text, DETECTOR.find(text))
    assert (
        redacted == "IBAN [iban DE•• •••• 3000], PIN: [pin ••••], code [otp ••••], password: [password ••••]"
    )
    for value in ("3704", "1234", "482913", "Hunter2"):
        assert value not in redacted


def test_redaction_without_spans_is_the_text_itself() -> None:
    assert redact("nothing here", []) == "nothing here"


def test_redaction_takes_spans_in_any_order_and_skips_overlaps() -> None:
    text = "a 1234 b 5678"
    spans = [Span(Kind.PIN, 9, 13, "pin"), Span(Kind.PIN, 2, 6, "pin"), Span(Kind.OTP, 3, 10, "otp")]
    assert redact(text, spans) == "a [pin ••••] b [pin ••••]"


# --- the API ---------------------------------------------------------------------------------------------


def test_the_default_policy_is_what_must_not_stay_in_chat() -> None:
    assert {
        Kind.CARD,
        Kind.CVV,
        Kind.EXPIRY,
        Kind.IBAN,
        Kind.NATIONAL_ID,
        Kind.PASSPORT,
        Kind.PASSWORD,
        Kind.PIN,
        Kind.OTP,
        Kind.SECRET,
    } == DEFAULT_MUST_NOT_STAY


def test_spans_are_frozen_and_their_detail_never_holds_the_value() -> None:
    text = "card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-1234"
    spans = DETECTOR.find(text)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spans[0].start = 0  # type: ignore[misc]
    assert [span.detail for span in spans] == ["visa", "DE", "us_ssn"]
    assert all(not any(char.isdigit() for char in span.detail) for span in spans)


def test_kind_values_are_the_names_used_in_redacted_text() -> None:
    assert [kind.value for kind in Kind] == [
        "card",
        "cvv",
        "expiry",
        "iban",
        "national_id",
        "passport",
        "phone",
        "email",
        "birth_date",
        "password",
        "pin",
        "otp",
        "secret",
        "address",
    ]


def test_the_default_region_decides_how_national_phone_numbers_are_read() -> None:
    text = "ruf mich an: 0151 23456789"
    assert [span.detail for span in Detector(default_region="DE").find(text)] == ["DE"]
    us = "call me at (212) 555-0134"
    assert [span.detail for span in Detector(default_region="us").find(us)] == ["US"]
