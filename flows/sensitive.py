"""Sensitive data in what a customer types: where it is, what kind it is, how to show it masked (issue #6).

Customers type card numbers, IBANs, tax ids, passwords and one-time codes into a messenger whatever the bot
asks for. PCI DSS wants an unsolicited card number deleted from the channel, GDPR wants no more kept than
needed, so the bot must *find* such values in every inbound message (and the outbound gate in every outgoing
one) before anything is stored or logged. This module is that finder: pure (no Telegram, no I/O, no async),
so the same code can serve the inbound guard, the outbound gate and the redaction of stored text.

It has to be right in both directions. A miss leaves a card number in a chat; a false alarm deletes an
innocent message ("order 4005 5500 0000 0019?" is an order, "I forgot my password" holds no password), which
is how customers learn to distrust the bot. So values are recognised by what they *are*, not only by how
they look: checksums (Luhn for cards, mod 97 for IBANs, each national id's own check digits via
`python-stdnum`), issuer ranges, phone numbering plans (`phonenumbers`), and, for values that have no
checksum (passwords, PINs, one-time codes, passport numbers, dates of birth, high-entropy tokens, addresses),
the words around them, in English, German, French, Spanish and Russian. Words that name something else
(order, tracking, invoice, ticket, IMEI, serial, SKU, barcode, version…) veto an ambiguous digit run that
follows them.

It has to be fast: it runs on every message (the issue asks for 20,000 messages/s on one core and a p99
under 1 ms), and most messages hold nothing. A message without a digit, an "@" or a password word costs a
couple of scans; any other scans once for the context words (one trie-shaped regular expression), once for
runs of digits, and runs the expensive checks (`phonenumbers`, `stdnum`) only on candidates that survived
the cheap ones. `bench/sensitive.py` measures it on a generated corpus.

Spans carry the kind and a `detail` (card network, IBAN country, which national id, which secret) but never
any part of the value: spans end up in logs and in the audit log. For the same reason no exception raised
here mentions a value.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum, auto

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn
from stdnum.pl import pesel as pl_pesel
from stdnum.ru import inn as ru_inn
from stdnum.us import ssn as us_ssn

__all__ = ["DEFAULT_MUST_NOT_STAY", "Detector", "Kind", "Span", "mask", "redact"]


class Kind(StrEnum):
    """What a sensitive value is. The string values appear in redacted text ("[card •••• 1111]")."""

    CARD = "card"
    CVV = "cvv"
    EXPIRY = "expiry"
    IBAN = "iban"
    NATIONAL_ID = "national_id"
    PASSPORT = "passport"
    PHONE = "phone"
    EMAIL = "email"
    BIRTH_DATE = "birth_date"
    PASSWORD = "password"  # noqa: S105 - the name of a kind, not a password
    PIN = "pin"
    OTP = "otp"
    SECRET = "secret"  # noqa: S105 - the name of a kind, not a secret
    ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class Span:
    """One sensitive value: `text[start:end]` is the value itself, not the word that announced it.

    `detail` says which variety it is ("visa", "DE" for an IBAN's country, "us_ssn", "aws_key"…) and never
    holds any part of the value, so spans may be logged."""

    kind: Kind
    start: int
    end: int
    detail: str


DEFAULT_MUST_NOT_STAY = frozenset(
    {
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
    }
)
"""The default policy of what must not stay in chat (the operator can change it in settings).

Phone numbers, email addresses, dates of birth and postal addresses are personal data too, but customers
give them in order to be called back or delivered to, so by default they are only redacted from what is
stored and logged."""


# --- context words ------------------------------------------------------------------------------------------


class _Ctx(Enum):
    """Categories of context words. A value without a checksum counts only after a word of its own
    category; a NEG word (order, tracking, invoice, IMEI…) vetoes an ambiguous digit run after it."""

    CARD = auto()
    CVV = auto()
    EXP = auto()
    ID = auto()
    PASSPORT = auto()
    DOB = auto()
    BIRTHDAY = auto()
    PWD = auto()
    PWD_WEAK = auto()
    PIN = auto()
    OTP = auto()
    CODE = auto()
    SECRET = auto()
    ADDR = auto()
    STREET = auto()
    PHONE = auto()
    NEG = auto()


_WORDS: dict[_Ctx, str] = {
    _Ctx.CARD: """card*|credit card*|debit card*|kreditkarte*|karte|karten|kartennummer*|bankkarte*|
        debitkarte*|ec-karte*|girocard|visa|mastercard|master card|amex|american express|maestro|carte|cartes|
        carte bancaire|carte bleue|carte de crédit|carte de paiement|tarjeta*|карта|карты|карте|карту|картой|
        карточк*|кредитк*|дебетов*|cb|charge it|charge my|pay with|belasten sie|abbuchen|débiter|débitez|
        cobren|cobrar|cargar a|спишите|списать с|оплатите с""",
    _Ctx.CVV: """cvv|cvv2|cvc|cvc2|cid|csc|card verification|security code|sicherheitscode|prüfziffer|
        prüfnummer|kartenprüfnummer|kartenprüfziffer|cryptogramme|cryptogramme visuel|code de sécurité|
        código de seguridad|código cvv|cvv-код|cvc-код|код cvv|код cvc|код безопасности""",
    _Ctx.EXP: """exp|expiry|expiry date|expires|expiration|expiration date|exp date|valid thru|valid through|
        valid until|good thru|gültig bis|ablaufdatum|läuft ab|date d'expiration|expire|expire le|
        date de validité|fin de validité|fecha de caducidad|caducidad|caduca|vence|vencimiento|
        fecha de vencimiento|срок действия|действует до|годна до|действительна до""",
    _Ctx.ID: """ssn|social security|social security number|soc sec|nino|national insurance|
        national insurance number|ni number|ni no|steuer-id|steuerid|steuer-idnr|steuer-identifikationsnummer|
        steueridentifikationsnummer|identifikationsnummer|idnr|tax id|tax-id|tax number|tax identification|
        tin|steuernummer|id number|national id|personal id|identity number|numéro de sécurité sociale|
        sécurité sociale|sécu|numéro de sécu|nir|insee|numéro insee|carte vitale|numéro fiscal|dni|nie|nif|
        documento de identidad|número de identificación|codice fiscale|bsn|burgerservicenummer|sofinummer|
        pesel|инн|inn|снилс|snils""",
    _Ctx.PASSPORT: """passport*|reisepass*|pass-nr|passnummer|passport-nr|passeport*|pasaporte*|паспорт*|
        загранпаспорт*|personalausweis*|ausweisnummer|ausweis-nr|id card|identity card|carte d'identité|
        cni""",
    _Ctx.DOB: """date of birth|dob|d.o.b|born|born on|birth date|birthdate|geburtsdatum|geboren|geboren am|
        geb.|date de naissance|né le|née le|né|née|fecha de nacimiento|nacido|nacida|nací|nacimiento|
        дата рождения|родился|родилась|д.р.|рождения""",
    _Ctx.BIRTHDAY: """birthday|geburtstag|anniversaire|cumpleaños|день рождения""",
    _Ctx.PWD: """password*|passwort*|kennwort*|mot de passe|mdp|contraseña*|contrasena*|clave|пароль|пароля|
        паролем|pwd|passwd|pw""",
    _Ctx.PWD_WEAK: """pass""",
    _Ctx.PIN: """pin|pin code|pin-code|pincode|pin number|pin-nummer|pin-nr|geheimzahl|code pin|code secret|
        número pin|пин|пин-код|пинкод|пин код|pin-код""",
    _Ctx.OTP: """otp|one-time code|one time code|one-time password|one time password|verification code|
        confirmation code|login code|sign-in code|2fa code|2fa|auth code|authentication code|sms code|tan|
        mtan|smstan|sms-tan|push-tan|bestätigungscode|verifizierungscode|einmalcode|einmalpasswort|
        aktivierungscode|sms-code|code de vérification|code de confirmation|code sms|code à usage unique|
        código de verificación|código de confirmación|código sms|код подтверждения|код из смс|код из sms|
        смс-код|смс код|sms-код|одноразовый код|одноразовый пароль""",
    _Ctx.CODE: """code|código|codigo|код""",
    _Ctx.SECRET: """api key|api-key|apikey|api_key|api token|api_token|api secret|api_secret|access key|
        access token|access_token|secret key|secret_key|secret|client secret|client_secret|token|auth token|
        auth_token|bearer|private key|aws_secret_access_key|aws secret|api-schlüssel|zugangsschlüssel|
        geheimer schlüssel|clé api|clé secrète|jeton|clave api|clave secreta|token de acceso|токен|ключ api|
        api ключ|api-ключ|секретный ключ|секрет|приватный ключ""",
    _Ctx.ADDR: """address|adresse|lieferadresse|rechnungsadresse|anschrift|wohnadresse|dirección|direccion|
        domicilio|адрес|адреса|адресу|ship to|deliver to|send it to|i live at|ich wohne|wohne in|j'habite|
        vivo en|живу""",
    _Ctx.STREET: """street|st|road|rd|avenue|ave|lane|ln|drive|boulevard|blvd|way|court|ct|place|square|
        terrace|close|crescent|highway|rue|av|bd|chemin|allée|impasse|quai|route|calle|c/*|avenida|avda|plaza|
        paseo|camino|carrera|ronda|ул|улица|пр|проспект|пр-т|пер|переулок|шоссе|бульвар|б-р|наб|набережная|пл|
        площадь""",
    _Ctx.PHONE: """phone|phone number|call me|call|tel|telephone|mobile|cell|whatsapp|telefon|handy|
        handynummer|mobilnummer|rufnummer|telefonnummer|téléphone|portable|numéro de portable|tél|teléfono|
        telefono|móvil|movil|celular|телефон*|тел|мобильный|reach me|text me|ruf mich an|rufen sie mich|
        erreichbar|appelez-moi|appelle-moi|rappelez-moi|joignable|llámame|llamame|llámenme|llamar al|
        позвоните|перезвоните|звоните|номер телефона""",
    _Ctx.NEG: """order*|bestell*|auftrag*|commande*|pedido*|заказ*|tracking|tracking number|sendungsnummer|
        sendungsverfolgung|suivi|numéro de suivi|seguimiento|трек|трек-номер|трек номер|ticket*|vorgang*|
        case number|case id|fallnummer|invoice*|rechnung*|facture*|factura*|счет|счёт|счета|счёта|imei|имей|
        serial*|seriennummer|numéro de série|número de serie|серийный|sku|art.-nr|art-nr|artikel*|article|
        artículo|артикул|ean|barcode|gtin|upc|strichcode|code-barres|código de barras|штрихкод|штрих-код|
        version|versión|версия|build|reference|ref|réf|referenz|référence|referencia|kundennummer|
        customer number|customer id|numéro client|número de cliente|номер клиента|transaction*|transaktion*|
        parcel|paket|colis|paquete|посылк*|shipment|booking|buchung*|réservation|reserva|бронь|бронирован*|
        confirmation number|member*|mitgliedsnummer|policy|vertragsnummer|contract|contrat|contrato|договор*|
        item|items|product|produkt|produit|producto|товар|товара|sscc|nve|hash|sha1|sha256|md5|checksum|
        commit|uuid|request id|request-id|public key|publickey|public ssh key|ssh key|ssh-key|publishable key|
        öffentlicher schlüssel|clé publique|clave pública|публичный ключ|открытый ключ|certificate|zertifikat|
        certificat|certificado|сертификат""",
}
"""Context words by category, lower case, "|"-separated. A trailing "*" matches any continuation (German
compounds, Russian and Spanish endings); other entries must end at a word boundary."""

_ID_HINTS: dict[str, str] = {
    "ssn": "us_ssn",
    "social security": "us_ssn",
    "social security number": "us_ssn",
    "soc sec": "us_ssn",
    "nino": "gb_nino",
    "national insurance": "gb_nino",
    "national insurance number": "gb_nino",
    "ni number": "gb_nino",
    "ni no": "gb_nino",
    "steuer-id": "de_idnr",
    "steuerid": "de_idnr",
    "steuer-idnr": "de_idnr",
    "steuer-identifikationsnummer": "de_idnr",
    "steueridentifikationsnummer": "de_idnr",
    "identifikationsnummer": "de_idnr",
    "idnr": "de_idnr",
    "numéro de sécurité sociale": "fr_nir",
    "sécurité sociale": "fr_nir",
    "securite sociale": "fr_nir",
    "sécu": "fr_nir",
    "numéro de sécu": "fr_nir",
    "nir": "fr_nir",
    "insee": "fr_nir",
    "carte vitale": "fr_nir",
    "bsn": "nl_bsn",
    "burgerservicenummer": "nl_bsn",
    "sofinummer": "nl_bsn",
    "pesel": "pl_pesel",
    "инн": "ru_inn",
    "inn": "ru_inn",
    "снилс": "ru_snils",
    "snils": "ru_snils",
}
"""Which national id a context word names: a digit run valid as two ids (an 11-digit run may pass both the
German tax id and the PESEL check) is reported as the one the customer named."""


def _variants(word: str) -> set[str]:
    """A context word as customers type it: with ’ for ', and Latin words also without accents (keyboards
    without them); Russian words with е for ё."""
    out = {word, word.replace("'", "’")}
    if not word.isascii() and not any("\u0400" <= char <= "\u04ff" for char in word):
        plain = "".join(
            char for char in unicodedata.normalize("NFD", word) if not unicodedata.combining(char)
        )
        out |= {plain, plain.replace("'", "’")}
    if "ё" in word:
        out.add(word.replace("ё", "е"))
    return out


def _trie(words: Iterable[str]) -> str:
    """One regular expression for many words, shaped as a trie, so the engine tries each letter once per
    position instead of each word. A word marked "*" matches as a prefix; others need a word end after them.
    Longer entries are tried first, so "security code" wins over "secur…" alternatives and "code"."""
    root: dict[str, object] = {}
    for entry in words:
        stem = entry.endswith("*")
        node = root
        for char in entry.rstrip("*"):
            child = node.setdefault(char, {})
            assert isinstance(child, dict)
            node = child
        node[""] = bool(node.get("", False)) or stem

    def emit(node: dict[str, object]) -> str:
        branches = [
            re.escape(char) + emit(child) for char, child in sorted(node.items()) if isinstance(child, dict)
        ]
        if "" in node:
            branches.append("" if node[""] else r"(?!\w)")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(root)


def _build_keywords() -> tuple[re.Pattern[str], dict[str, _Ctx], tuple[str, ...]]:
    """The context-word regular expression, the category of each entry, and the prefix entries (longest
    first) for words matched by a prefix ("orders" by "order*")."""
    category_of: dict[str, _Ctx] = {}
    stems: set[str] = set()
    entries: list[str] = []
    for category, listed in _WORDS.items():
        for raw in listed.split("|"):
            word = " ".join(raw.split())
            for variant in _variants(word):
                key = variant.rstrip("*")
                if category_of.setdefault(key, category) != category:
                    raise ValueError("a context word is listed in two categories")
                if variant.endswith("*"):
                    stems.add(key)
                entries.append(variant)
    pattern = re.compile(r"(?<!\w)(?:" + _trie(entries) + ")")
    return pattern, category_of, tuple(sorted(stems, key=len, reverse=True))


_KEYWORD, _CATEGORY_OF, _STEMS = _build_keywords()


def _category(word: str) -> _Ctx:
    """The category of a matched context word: exact entries directly, prefix entries ("order*" matched as
    "orders") by their longest listed prefix."""
    category = _CATEGORY_OF.get(word)
    if category is not None:
        return category
    for stem in _STEMS:
        if word.startswith(stem):
            return _CATEGORY_OF[stem]
    return _Ctx.NEG  # unreachable with a consistent table; vetoing is the safe reading


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    category: _Ctx
    word: str


# --- small helpers ------------------------------------------------------------------------------------------


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_DIGIT = re.compile(r"[0-9]")
_PASSWORD_HINTS = ("pass", "pwd", "kennwort", "mdp", "contrase", "clave", "парол", "-----begin")
"""Substrings (of the lower-cased text) of every password word: a message with no digit and no "@" needs a
closer look only if it holds one of these (passwords can be letters only) or a private key block."""

_SEP = r"(?:[ \t\u00a0\u202f\-/()]{1,3}|\.(?![ \t\n])|[ \t]*\r?\n[ \t]*)"
_RUN = re.compile(rf"[0-9]+(?:{_SEP}[0-9]+)*")
"""Digits grouped the ways people type card, phone and id numbers: spaces (also double, no-break), dashes,
dots, slashes, parentheses, and line breaks (a card split across two lines). Commas end a run, and so does
a dot before a space ("order 32185849. 4333 3723 …" is two runs)."""
_GROUP = re.compile(r"[0-9]+")


def _lower(text: str) -> str:
    """`text` lower-cased with the same length (a few characters, like "İ", lower-case to two), so that
    offsets found in the lower-cased text are offsets in the text."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(char.lower()[0] for char in text)


def _luhn(digits: str) -> bool:
    """The Luhn check of card numbers (and IMEIs), inline: python-stdnum's costs ~9 µs, this ~2 µs."""
    total = 0
    double = False
    for char in reversed(digits):
        value = ord(char) - 48
        if double:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
        double = not double
    return total % 10 == 0


_TAIL = r"(?!\w|[.,:/\-]\d|\s?(?:%|€|\$|£|₽|eur\b|usd\b|rub\b|руб))"
"""After a short numeric value: not more digits, not a decimal or time, not an amount or a percentage."""

_LEAD = re.compile(
    r"(?:[\s:=#№'\"«»“”„‚‘’()\[\]\-–—>*.]"
    r"|(?:is|was|are|ist|lautet|war|est|était|c'est|es|era|это|будет"  # copulas
    r"|number|num|no|nr|nummer|numéro|numero|número|номер|n°|nº|code|код|pin"  # "PIN number", "Code Nr."
    r"|the|my|your|mein|meine|meinen|dein|deine|ihr|ihre|mon|ma|votre|ton|mi|tu|su|мой|моя|мои|ваш|ваша|твой"
    r"|on|am|le|el|den|в|to|auf|en|a|на|de|la|del|der|des|du|of"  # "born on", "changed to", "de la carte"
    r"|карты|карточки|karte|carte|tarjeta|card)(?![^\W_]))*"  # "пинкод карты 7820"
)
"""What may stand between a context word and its value: punctuation, a copula ("is", "ist", "est", "es",
"это"), "number"/"Nr."/"номер", possessives, short prepositions and articles ("born on", "PIN de la
carte") and the card a PIN belongs to. Anything else means the word is not introducing a value ("PIN
blocked", "password reset")."""

_LOOSE = re.compile(r"(?:\s+[^\W\d][\w'’\-]{0,15}){1,4}?\s*(?:[:=]|\s(?:is|ist|lautet|est|es|era|это)\s)\s*")
"""A second chance after a context word: up to four words and then a colon or a copula ("password for the
shop: …", "код из SMS: …")."""

_LOGIN_BEFORE = re.compile(
    r"(?<!\w)(?:login|логин|user|username|usuario|identifiant|benutzer|benutzername|user ?id)\b"
)
"""A login named before the password word: then a plain word after it is the password ("логин ivan
пароль dragonmoon")."""
_OWNER_PHRASE = re.compile(
    r"\s+(?:от|для|for|für|zum|zur|pour|para|of|to)\s+(?:(?:the|my|die|das|den|mein|meinem|le|la|mon|ma|el|mi|"
    r"моего|моей|личного)\s+)?[^\W\d][\w\-]{1,20}\s+"
)
"""What a password is for, between word and value: "пароль от кабинета …", "password for the app …"."""
_MARK = re.compile(r"[:=\"'«“„]|\s[-–—]\s|(?<!\w)(?:is|ist|lautet|est|es|era|это|was|war|était|c'est)(?!\w)")

_SENTENCE_END = re.compile(r"[.!?;\n](?:\s|$)")
_ABBREVIATION = re.compile(r"(?<![^\W\d_])[^\W\d_]{1,3}$")
"""A word of one to three letters before a dot ("no.", "Nr.", "geb."): an abbreviation, not a sentence end."""


def _entropy(token: str) -> float:
    """Shannon entropy in bits per character: random keys have ~4.5–6, words and ids far less."""
    counts = Counter(token)
    size = len(token)
    return -sum(count / size * math.log2(count / size) for count in counts.values())


# --- payment cards ------------------------------------------------------------------------------------------


def _network(digits: str) -> str | None:
    """The card network of a number by its issuer prefix and length (None: no network issues such a
    number). 13-digit Visa numbers exist but are rare next to EAN-13 barcodes; see `card_ok`."""
    size = len(digits)
    first = digits[0]
    two = int(digits[:2])
    if first == "4":
        return "visa" if size in (13, 16, 19) else None
    if first == "5":
        if 51 <= two <= 55:
            return "mastercard" if size == 16 else None
        if two in (50, 56, 57, 58):
            return "maestro" if 13 <= size <= 19 else None
        return None
    if first == "2":
        four = int(digits[:4])
        if 2200 <= four <= 2204:
            return "mir" if 16 <= size <= 19 else None
        if 2221 <= four <= 2720:
            return "mastercard" if size == 16 else None
        return None
    if first == "3":
        if two in (34, 37):
            return "amex" if size == 15 else None
        four = int(digits[:4])
        if 3528 <= four <= 3589:
            return "jcb" if 16 <= size <= 19 else None
        if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
            return "diners" if 14 <= size <= 19 else None
        return None
    if first == "6":
        if digits.startswith("6011") or two == 65 or 644 <= int(digits[:3]) <= 649:
            return "discover" if 16 <= size <= 19 else None
        if two == 62:
            return "unionpay" if 16 <= size <= 19 else None
        if two in (63, 67):
            return "maestro" if 13 <= size <= 19 else None
        return None
    return None


def _card_grouping(lengths: Sequence[int]) -> bool:
    """Whether digit groups are grouped the way card numbers are written: one block, blocks of four (the
    last may be shorter, or eight: "4111111 1…" typed in halves), or American Express's 4-6-5 and Diners'
    4-6-4. An order number like "302-4455213-7766554" is not, and then needs card words nearby."""
    if len(lengths) == 1:
        return True
    if tuple(lengths) in ((4, 6, 5), (4, 6, 4)):
        return True
    return all(size % 4 == 0 for size in lengths[:-1]) and 1 <= lengths[-1] <= 8


# --- IBAN ---------------------------------------------------------------------------------------------------

_IBAN_LENGTHS = {
    entry[:2]: int(entry[2:])
    for entry in _word_set(
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28 "
        "EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23 IQ23 IS26 "
        "IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 "
        "NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 "
        "SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30"
    )
}
"""IBAN length per country (SWIFT IBAN registry, as in python-stdnum's database): a candidate is cut at
exactly this length, so an IBAN followed by more digits ("… 00 12 €") is still found."""


def _iban_at(text: str, start: int) -> tuple[int, str] | None:
    """The end and country of a valid IBAN starting at `start` (two letters, then digits), or None.
    Characters are taken as the customer typed them: any case, single spaces, dashes or a line break
    between groups."""
    country = text[start : start + 2].upper()
    length = _IBAN_LENGTHS.get(country)
    if length is None:
        return None
    chars: list[str] = []
    index = start
    size = len(text)
    end = start
    while index < size and len(chars) < length:
        char = text[index]
        if char.isascii() and char.isalnum():
            chars.append(char)
            index += 1
            end = index
        elif char in " \u00a0-\n" and chars and index + 1 < size and text[index + 1].isascii():
            index += 1
        else:
            break
    if len(chars) != length or (end < size and text[end].isascii() and text[end].isalnum()):
        return None
    compact = "".join(chars).upper()
    if not _iban_valid(compact):
        return None
    return end, country


def _iban_valid(compact: str) -> bool:
    """Country length and the ISO 7064 mod 97 check (what every IBAN must pass). python-stdnum's
    `iban.is_valid` also checks each country's BBAN layout, but costs ~200 µs a call; a wrong length or a
    failed mod 97 leaves one random string in ~2,000 that could pass, which the length table narrows."""
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    numeric = "".join(str(int(char, 36)) for char in compact[4:] + compact[:4])
    return int(numeric) % 97 == 1


# --- national ids -------------------------------------------------------------------------------------------


def _snils(digits: str) -> bool:
    """Russian SNILS (11 digits; python-stdnum has no module for it): the check number is the weighted sum
    of the first nine digits modulo 101, with 100 written as 00."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    total = sum(int(digit) * (9 - index) for index, digit in enumerate(digits[:9]))
    check = total % 101
    if check == 100:
        check = 0
    return check == int(digits[9:])


_NINO_BAD_PREFIX = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _nino(compact: str) -> bool:
    """UK National Insurance number (python-stdnum has none): two prefix letters from the allowed set,
    six digits, a suffix A–D. There is no check digit, so a compact one needs an id word (`letter_id`)."""
    if len(compact) != 9:
        return False
    first, second = compact[0], compact[1]
    return (
        first.isalpha()
        and second.isalpha()
        and first not in "DFIQUV"
        and second not in "DFIOQUV"
        and compact[:2] not in _NINO_BAD_PREFIX
        and compact[2:8].isdigit()
        and compact[8] in "ABCD"
    )


_DIGIT_IDS: dict[int, tuple[tuple[str, bool], ...]] = {
    9: (("us_ssn", True), ("nl_bsn", True)),
    10: (("ru_inn", True),),
    11: (("de_idnr", True), ("pl_pesel", True), ("ru_snils", True)),
    12: (("ru_inn", True),),
    13: (("fr_nir", True),),
    15: (("fr_nir", True),),
}
"""National ids made of digits only, by length: (detail, needs a context word). A bare 9–13 digit run is an
order number as often as an id, so it counts only after an id word; only a few written forms are specific
enough to stand alone (see `digit_ids`): a dashed SSN "536-22-1234", a SNILS "112-233-445 95", and a
15-digit NIR with its mod 97 key, contiguous or grouped as on a carte Vitale ("2 95 10 99 126 111 93")."""


def _digit_id_valid(detail: str, digits: str) -> bool:
    if detail == "us_ssn":
        return bool(us_ssn.is_valid(digits))
    if detail == "nl_bsn":
        return bool(nl_bsn.is_valid(digits))
    if detail == "ru_inn":
        return bool(ru_inn.is_valid(digits))
    if detail == "de_idnr":
        return bool(de_idnr.is_valid(digits))
    if detail == "pl_pesel":
        return bool(pl_pesel.is_valid(digits))
    if detail == "ru_snils":
        return _snils(digits)
    if detail == "fr_nir":
        return (len(digits) == 15 and bool(fr_nir.is_valid(digits))) or _nir_without_key(digits)
    return False


def _nir_without_key(digits: str) -> bool:
    """A French NIR written without its two-digit key (13 digits): sex digit and month only."""
    return len(digits) == 13 and digits[0] in "12" and (1 <= int(digits[3:5]) <= 12 or digits[3] in "2345")


_PAIRS = re.compile(r"0[1-9](?:[ .\-]?[0-9]{2}){4}")
_US_PHONE = re.compile(r"[0-9]{3}[-. ][0-9]{3}[-. ][0-9]{4}")
_ID_CONTEXT = frozenset({_Ctx.ID, _Ctx.NEG, _Ctx.PHONE, _Ctx.CARD, _Ctx.PASSPORT})
_LETTER_ID_CONTEXT = frozenset({_Ctx.ID, _Ctx.NEG, _Ctx.PHONE, _Ctx.PASSPORT})
_PHONE_CONTEXT = frozenset({_Ctx.PHONE, _Ctx.NEG, _Ctx.ID, _Ctx.CARD, _Ctx.PASSPORT})
_CARD_CONTEXT = frozenset({_Ctx.CARD, _Ctx.CVV, _Ctx.EXP, _Ctx.NEG})
"""Which context words decide about a candidate: the closest of these before it wins (an id word makes a
digit run an id; a phone, card or order word closer to it says it is something else)."""
_NIR_WRITTEN = re.compile(r"[12][0-9]{14}|[12] [0-9]{2} [0-9]{2} [0-9]{2} [0-9]{3} [0-9]{3} [0-9]{2}")
_SSN_DASHED = re.compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}")
_SNILS_FORMATTED = re.compile(r"[0-9]{3}-[0-9]{3}-[0-9]{3}[ -][0-9]{2}")

_LETTER_ID = re.compile(
    r"(?P<it_cf>[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]"
    r"[0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z])"
    r"|(?P<es_nie>[XYZxyz][ -]?[0-9]{7}[ -]?[A-Za-z])"
    r"|(?P<es_dni>[0-9]{8}[ -]?[A-Za-z])"
    r"|(?P<gb_nino>[A-Za-z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Da-d])"
)
"""National ids mixing letters and digits, tried where a run of digits touches a letter: Italian codice
fiscale, Spanish NIE and DNI, UK National Insurance number."""


_LETTER_ID_RUNS = frozenset({2, 6, 7, 8})
"""The lengths (in characters) of the digit runs that can be part of one of `_LETTER_ID`: the first run of a
codice fiscale (2), a NINO (6, or 8 when spaced), a NIE (7), a DNI (8)."""


def _letter_id_valid(detail: str, value: str) -> bool:
    compact = value.replace(" ", "").replace("-", "").upper()
    if detail == "it_cf":
        return bool(it_cf.is_valid(compact))
    if detail == "es_nie":
        return bool(es_nie.is_valid(compact))
    if detail == "es_dni":
        return bool(es_dni.is_valid(compact))
    return _nino(compact)


# --- values after context words -----------------------------------------------------------------------------

_PIN_VALUE = re.compile(rf"[0-9]{{4,8}}{_TAIL}")
_CVV_VALUE = re.compile(rf"[0-9]{{3,4}}{_TAIL}")
_EXTRA_GAP = re.compile(r"[\s,;|\-–—]*")
"""What separates a card number from the expiry and CVV after it ("…1111 12/26 123", "… - 12/29 - 424")."""
_CARD_CVV = re.compile(rf"[0-9]{{3}}{_TAIL}")
_AMEX_CVV = re.compile(rf"[0-9]{{4}}{_TAIL}")
_OTP_VALUE = re.compile(
    r"(?:[A-Z]{1,2}-)?(?P<value>[0-9]{3}[ -][0-9]{3}|[0-9]{2} [0-9]{2} [0-9]{2}|[0-9]{4,8})" + _TAIL
)
_EXPIRY_VALUE = re.compile(r"(?:0?[1-9]|1[0-2]) ?[/.\-] ?(?:20[0-9]{2}|[0-9]{2})(?![0-9])")
_OTP_BEFORE = re.compile(
    r"(?<![\w\-])(?P<value>[0-9]{4,8})\s*(?:is|ist|est|es|это|—|-|:)\s+(?:[^\W\d]+\s+){0,3}$"
)
"""A one-time code written before its word: "482913 is your verification code" (as SMS texts put it)."""

_CODE_NOT_OTP_BEFORE = re.compile(
    r"(?:postal|zip|area|post|country|error|promo|promotional|discount|coupon|voucher|gift|referral|tracking|"
    r"order|product|item|article|status|dial|sort|swift|bic|bank|qr|bar|door|dress|source|program|colou?r|hs|"
    r"tax|vat|region|city|airport|flight|booking|ticket|fehler|rabatt|gutschein|aktions|bestell|artikel|"
    r"erreur|réduction|reduction|avantage|parrainage|descuento|promocional|cupón|cupon|regalo|почтовый|промо|"
    r"cadeau|discount|sale)[\s\-]*$"
)
_CODE_NOT_OTP_AFTER = re.compile(
    r"\s*(?:postal|promo|de réduction|de reduction|d['’]erreur|de descuento|de error|promocional|"
    r"de promoción|"
    r"de regalo|ошибки|товара|заказа|региона|города|страны|скидки|купона|de parrainage|avantage|d['’]accès|"
    r"de acceso|доступа|cadeau|du produit|de produit|de l['’]article|postale|de cupón|de cupon)"
)
""""code" alone is a one-time code only if nothing says it is a postal, promo, error, product or region
code ("code postal 75001", "Rabatt-Code 2024", "код ошибки 5003")."""

_PASSPORT_VALUE = re.compile(
    r"(?<![\w])(?:[0-9]{2} ?[0-9]{2} ?(?:№|n°|nº|номер|no\.?)? ?[0-9]{6}|[A-Za-z0-9]{6,10})(?!\w)"
)
"""A passport or identity card number: Russian series and number ("45 08 123456"), or one token of six to
ten letters and digits (checked further in `_passport_like`)."""


def _passport_like(value: str) -> bool:
    """Passport numbers are mostly digits ("123456789", "09AB12345", "PAA123456") or, like German ones, nine
    upper-case letters and digits ("C01X00T47"); a word ("number", "expires") or a date is not one."""
    digits = sum(char.isdigit() for char in value)
    letters = sum(char.isascii() and char.isalpha() for char in value)  # not "номер" in "45 10 номер 123456"
    if digits >= 4 and letters <= 4:
        return _DATE.fullmatch(value) is None
    return len(value) >= 8 and digits >= 1 and value.isupper()


_MONTHS = (
    r"jan(?:uary|uar|vier)?|feb(?:ruary|ruar)?|févr(?:ier)?|fevr(?:ier)?|mar(?:ch|s)?|märz|apr(?:il)?|avr(?:il)?|"
    r"may|mai|jun(?:e|i)?|juin|jul(?:y|i)?|juil(?:let)?|aug(?:ust)?|août|aout|sep(?:t|tember|tembre)?|"
    r"oct(?:ober|obre)?|okt(?:ober)?|nov(?:ember|embre)?|dec(?:ember)?|dez(?:ember)?|déc(?:embre)?|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|"
    r"января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
)
_DATE = re.compile(
    r"(?:(?:0?[1-9]|[12][0-9]|3[01])[./-](?:0?[1-9]|1[0-2])[./-](?:19|20)?[0-9]{2}"
    r"|(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12][0-9]|3[01])/(?:19|20)?[0-9]{2}"
    r"|(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    rf"|(?:0?[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th|er|\.)?\s+(?:de\s+)?(?:{_MONTHS})\.?,?\s+(?:de\s+)?(?:19|20)[0-9]{{2}}"
    rf"|(?:{_MONTHS})\.?\s+(?:0?[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)?,?\s+(?:19|20)[0-9]{{2}}"
    r")(?![0-9])",
    re.IGNORECASE,
)
"""A full date (with a year): day.month.year, month/day/year, ISO, "12 March 1985", "12. März 1985",
"12 de marzo de 1985", "12 марта 1985", "March 12, 1985". A date of birth always has a year; a date without
one is an appointment."""

_PASSWORD_STOP = _word_set(
    """wrong incorrect invalid expired not no reset changed change blocked locked forgotten forgot too
    required
    missing empty correct right the same my your it that this weak strong working work works doesn't does
    don't didn't isn't wasn't won't can't cannot please help and or but for to of in on at with from is was be
    been a an new old still also really very just now again here there ok okay fine unknown lost stolen case
    sensitive long short simple hard easy secure safe saved stored sent manager field protected required
    falsch nicht kein keine abgelaufen gesperrt zurückgesetzt vergessen ungültig richtig der die das zu zum
    und oder aber funktioniert geht klappt neu alt noch immer mein dein ihr bitte hilfe leer lang kurz sicher
    verloren geändert ändern pas incorrect expiré oublié bloqué le la les mon ma mes ton votre ne plus trop
    faux erroné invalide fonctionne marche nouveau nouvel ancien perdu changé modifié aide svp vide sécurisé
    no incorrecta incorrecto caducada caducado olvidada olvidado bloqueada bloqueado mi el los las tu su muy
    demasiado nueva nuevo vieja viejo funciona perdida cambiada cambiado ayuda válida inválida errónea vacía
    correcta segura не неверный неверен неправильный неправильно забыл забыла сбросить сброшен истёк истек
    устарел мой мне от для и или но новый старый подходит работает заблокирован потерял изменил помогите
    пожалуйста слишком правильный верный
    none nothing nichts keins rien aucun ninguna ninguno nada нет see siehe voir ver см"""
)
"""Words that follow "password is" without being the password ("my password is wrong")."""

_TOKEN = re.compile(r"\S{1,80}")
_QUOTED = re.compile(r"[\"'«“„‘‹]([^\"'»”“‘’›\n]{4,64})[\"'»”“’›]")
_NEXT_WORD = re.compile(r"[ \t]*(?:[,;]\s*)?([^\W\d_]+)")
"""The word after a password candidate on the same line; None when the line or sentence ends there."""
_CLOSING = _word_set(
    """thanks thank thx ty cheers please pls plz bye btw ok okay danke vielen lg gruß grüße bitte merci
    cordialement svp bonne gracias saludos muchas porfa спасибо заранее пожалуйста"""
)
"""Words that may follow a plain-word password without making it part of a sentence ("password: sunshine
thanks")."""
_NOT_PASSWORDS = ("-----", "ssh-", "ecdsa-", "http", "www.", "pk_live_", "pk_test_")
_OPEN_QUOTES = "\"'«“„‘‹(["
_CLOSE_PUNCT = ".,;:)]»”\"'’›"

_SECRET_SHAPES = re.compile(
    r"(?P<aws_key>(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9]))"
    r"|(?P<github_token>(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?!\w))"
    r"|(?P<gitlab_token>(?<!\w)glpat-[A-Za-z0-9_\-]{20,})"
    r"|(?P<slack_token>(?<!\w)xox[abposr]-[A-Za-z0-9\-]{10,})"
    r"|(?P<stripe_key>(?<!\w)[sr]k_(?:live|test)_[A-Za-z0-9]{16,})"
    r"|(?P<google_api_key>(?<![\w\-])AIza[0-9A-Za-z_\-]{35}(?![\w\-]))"
    r"|(?P<api_key>(?<![\w\-])sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{20,})"
    r"|(?P<npm_token>(?<!\w)npm_[A-Za-z0-9]{36}(?!\w))"
    r"|(?P<sendgrid_key>(?<!\w)SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})"
    r"|(?P<telegram_bot_token>(?<![\w:])[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}(?![\w\-]))"
    r"|(?P<jwt>(?<![\w\-])eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})"
    r"|(?P<private_key>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z))",
    re.DOTALL,
)
"""Secrets recognisable by their shape: cloud and SaaS keys with well-known prefixes, JWTs, Telegram bot
tokens and private key blocks (also when cut off). Publishable keys (Stripe pk_…), SSH and PGP public keys
and certificates are public by design and are not matched."""

_SECRET_VALUE = re.compile(r"[A-Za-z0-9_\-+/=.]{20,512}")
_PUBLIC_PREFIXES = ("ssh-", "ecdsa-", "AAAAB3", "AAAAC3", "AAAAE2", "pk_live_", "pk_test_", "http", "www.")

_EMAIL = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)

# --- addresses ----------------------------------------------------------------------------------------------

_DE_STREET_ENDS = (
    "straße",
    "strasse",
    "str.",
    "str",
    "weg",
    "gasse",
    "allee",
    "platz",
    "ring",
    "damm",
    "ufer",
    "chaussee",
)
"""How German street names end ("Hauptstraße 5", "Lindenweg 3a", "Berliner Str. 12"): checked, from the
lower-cased text, just before each short run of digits."""
_HOUSE_NUMBER_END = re.compile(r"(?: ?[a-z])?(?![\w])", re.IGNORECASE)
_NAME_BEFORE = re.compile(r"(?:[A-ZÄÖÜ][\w'’\-]*\.?\s+){1,3}$")
_NUMBER_BEFORE_EN = re.compile(r"(?<![\w])[0-9]{1,5}[A-Za-z]?,?\s+(?:[A-Z][\w'’\-]*\.?\s+){1,3}$")
_NUMBER_BEFORE_FR = re.compile(r"(?<![\w])[0-9]{1,4}(?:\s?(?:bis|ter))?,?\s+$")
_NAME_AFTER_FR = re.compile(
    r"\.?\s+(?:(?:de|du|des|la|le|l['’]|d['’])\s*)*[A-Za-zÀ-ÿ][\w'’\-]*(?:\s+[A-ZÀ-Ý][\w'’\-]*){0,3}"
)
_NAME_NUMBER_AFTER = re.compile(
    r"\.?\s*(?:(?:de|del|la|las|los|el)\s+)*[A-Za-zÀ-ÿА-Яа-яЁё0-9][\w'’\-]*(?:\s+[A-ZÀ-ÝА-ЯЁ][\w'’\-]*){0,2}"
    r"(?:,\s*|\s+)(?:n[º°o]\.?\s*|д\.\s*|дом\s*)?[0-9]{1,4}(?:\s?[a-zA-Zа-я](?!\w))?"
    r"(?:,?\s*(?:корп\.?|к\.|стр\.)\s*[0-9]{1,3})?(?:,?\s*(?:кв\.?|квартира|piso|apt\.?|apartment)\s*[0-9]{1,4}\w?)?"
)
_POSTCODE_CITY = re.compile(
    r",?\s*(?:[0-9]{4,6}|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})\s+(?:г\.\s*)?[A-ZÄÖÜÉÀ-ÝА-ЯЁ][\w\-]+"
    r"(?:\s+[A-ZÄÖÜ][\w\-]+)?"
)
_FR_STREET_WORDS = frozenset(
    {
        "rue",
        "avenue",
        "av",
        "bd",
        "boulevard",
        "place",
        "chemin",
        "allée",
        "allee",
        "impasse",
        "quai",
        "route",
        "square",
    }
)
_EN_STREET_WORDS = frozenset(
    {
        "street",
        "st",
        "road",
        "rd",
        "avenue",
        "ave",
        "lane",
        "ln",
        "drive",
        "boulevard",
        "blvd",
        "way",
        "court",
        "ct",
        "place",
        "square",
        "terrace",
        "close",
        "crescent",
        "highway",
    }
)
_FOLLOWED_STREET_WORDS = frozenset(
    {
        "calle",
        "c/",
        "avenida",
        "avda",
        "plaza",
        "paseo",
        "camino",
        "carrera",
        "ул",
        "улица",
        "пр",
        "проспект",
        "пр-т",
        "пер",
        "переулок",
        "шоссе",
        "бульвар",
        "б-р",
        "наб",
        "набережная",
        "пл",
        "площадь",
    }
)

# --- the detector -------------------------------------------------------------------------------------------

_PRIORITY = {
    Kind.SECRET: 100,
    Kind.IBAN: 90,
    Kind.CARD: 80,
    Kind.NATIONAL_ID: 70,
    Kind.PASSPORT: 60,
    Kind.CVV: 55,
    Kind.EXPIRY: 54,
    Kind.PIN: 53,
    Kind.OTP: 52,
    Kind.PASSWORD: 51,
    Kind.BIRTH_DATE: 40,
    Kind.EMAIL: 35,
    Kind.PHONE: 30,
    Kind.ADDRESS: 20,
}
"""Which span wins an overlap: the more specific kind, then the longer span."""

_CONTEXT_WINDOW = 40
"""How far (in characters) a context word reaches to the value after it."""


class Detector:
    """Finds sensitive values in a text (see the module docstring for the approach).

    One instance is shared by every caller: it holds only the compiled configuration (the business's own
    published contacts and the default phone region) and keeps no state between calls, so it is safe to use
    from any number of tasks."""

    def __init__(self, *, published: Iterable[str] = (), default_region: str = "DE") -> None:
        """`published`: the business's own published contacts (phone numbers, emails, also an IBAN for
        payments) that never count: a customer quoting the shop's hotline is not leaking anything.
        `default_region`: how phone numbers without a country code are read (ISO 3166 code)."""
        self._region = default_region.upper()
        emails: set[str] = set()
        phones: set[str] = set()
        ibans: set[str] = set()
        for contact in published:
            value = contact.strip()
            if "@" in value:
                emails.add(value.lower())
                continue
            compact = "".join(value.split()).upper()
            if _iban_valid(compact):
                ibans.add(compact)
                continue
            try:
                number: phonenumbers.PhoneNumber | None = phonenumbers.parse(value, self._region)
            except phonenumbers.NumberParseException:
                number = None
            if number is None or not phonenumbers.is_valid_number(number):
                raise ValueError("a published contact is neither an email, an IBAN nor a phone number")
            phones.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        self._emails = frozenset(emails)
        self._phones = frozenset(phones)
        self._ibans = frozenset(ibans)

    # The public entry point ---------------------------------------------------------------------------------

    def find(self, text: str) -> list[Span]:
        """Typed spans, sorted by start, non-overlapping (on overlap the more specific kind wins, then the
        longer span)."""
        if not text:
            return []
        has_digit = _DIGIT.search(text) is not None
        low = _lower(text)
        if not has_digit and "@" not in text and not any(hint in low for hint in _PASSWORD_HINTS):
            return []
        scan = _Scan(self, text, low)
        if has_digit:
            scan.secrets()
            scan.runs()
        if "@" in text:
            scan.emails()
        scan.keyword_values()
        if has_digit:
            scan.phones()
            scan.addresses()
        return _resolve(scan.spans)

    # Used by _Scan ------------------------------------------------------------------------------------------

    def _published_phone(self, number: phonenumbers.PhoneNumber) -> bool:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) in self._phones


class _Scan:
    """The state of one `Detector.find` call: the text, its context words and digit runs, and the spans
    found so far. Each method adds the spans of some kinds; `_resolve` settles overlaps at the end."""

    def __init__(self, detector: Detector, text: str, low: str) -> None:
        self.detector = detector
        self.text = text
        self.low = low
        self.spans: list[Span] = []
        self.hits: list[_Hit] = []
        for match in _KEYWORD.finditer(low):
            word = match.group()
            self.hits.append(_Hit(match.start(), match.end(), _category(word), word))
        self.hit_ends = [hit.end for hit in self.hits]
        self.hit_end_set = frozenset(self.hit_ends)
        self.categories = {hit.category for hit in self.hits}
        self.card_words = _Ctx.CARD in self.categories or _Ctx.CVV in self.categories
        self.urls: list[tuple[int, int]] = (
            [match.span() for match in _URL.finditer(text)] if "://" in text or "www." in low else []
        )
        self.line_runs: list[tuple[int, int, int]] = []
        """(start, end, digit count) of the runs of digits split at line breaks (phones and ids never span
        lines), for `phones`."""
        self.house_numbers: list[tuple[int, int]] = []
        """(street word end, number end) of short runs right after a German street name, for `addresses`."""

    # context ------------------------------------------------------------------------------------------------

    def near(self, position: int, categories: frozenset[_Ctx], window: int = _CONTEXT_WINDOW) -> _Hit | None:
        """The closest context word of one of `categories` ending at most `window` characters before
        `position` in the same sentence, provided no other word of those categories is closer ("order
        12345. My card is 4111…": the order word does not reach the card)."""
        index = bisect_right(self.hit_ends, position) - 1
        while index >= 0:
            hit = self.hits[index]
            if position - hit.end > window:
                return None
            if hit.category in categories:
                return None if self.sentence_break(hit.end, position) else hit
            index -= 1
        return None

    def sentence_break(self, start: int, end: int) -> bool:
        """Whether a sentence ends between `start` and `end` (a dot after an abbreviation does not end one:
        "no.", "Nr.", or a context word itself, "IdNr.", "Tel.")."""
        return self.sentence_end(start, end) is not None

    def sentence_end(self, start: int, end: int) -> int | None:
        position = start
        while True:
            stop = _SENTENCE_END.search(self.text, position, end)
            if stop is None:
                return None
            dot = stop.start()
            if self.text[dot] != "." or not (
                dot in self.hit_end_set or _ABBREVIATION.search(self.text, position, dot) is not None
            ):
                return dot
            position = dot + 1

    def window_end(self, hit_index: int) -> int:
        """Where the value introduced by a context word must have started: within `_CONTEXT_WINDOW`
        characters, before the next context word and before the end of the sentence."""
        hit = self.hits[hit_index]
        end = min(len(self.text), hit.end + _CONTEXT_WINDOW)
        if hit_index + 1 < len(self.hits):
            end = min(end, self.hits[hit_index + 1].start)
        stop = self.sentence_end(hit.end, end)
        return end if stop is None else stop

    def in_url(self, start: int, end: int) -> bool:
        return any(url_start <= start and end <= url_end for url_start, url_end in self.urls)

    def taken(self, start: int, end: int) -> bool:
        return any(span.start < end and start < span.end for span in self.spans)

    def add(self, kind: Kind, start: int, end: int, detail: str) -> None:
        self.spans.append(Span(kind, start, end, detail))

    # secrets with a known shape -----------------------------------------------------------------------------

    def secrets(self) -> None:
        """Secrets by their shape (`_SECRET_SHAPES`), after a substring test for any of their prefixes, since
        nearly no message holds one."""
        text = self.text
        hinted = (
            "AKIA" in text
            or "ASIA" in text
            or "AIza" in text
            or "eyJ" in text
            or "xox" in text
            or "-----" in text
            or ":AA" in text
            or "SG." in text
            or "sk-" in text
            or "glpat-" in text
            or ("_" in text and ("gh" in text or "k_" in text or "npm_" in text or "github_pat_" in text))
        )
        if not hinted:
            return
        for match in _SECRET_SHAPES.finditer(self.text):
            kind = match.lastgroup
            assert kind is not None
            self.add(Kind.SECRET, match.start(), match.end(), kind)

    # digit runs: cards, IBANs, national ids -----------------------------------------------------------------

    def runs(self) -> None:
        """One pass over the runs of digits: IBANs and letter-digit ids where a run touches letters, house
        numbers where it is short, cards and digit-only ids where it is long; phone candidates are kept for
        `phones`, which runs once the more specific kinds have taken their digits."""
        text = self.text
        size = len(text)
        for run in _RUN.finditer(text):
            start, end = run.span()
            length = end - start
            if start >= 2 and text[start - 1].isalpha() and text[start - 1].isascii():
                self.letter_prefixed(start, length in _LETTER_ID_RUNS)
            elif length in _LETTER_ID_RUNS and end < size:
                after = text[end]
                if (after.isalpha() and after.isascii()) or (
                    after in " -" and text[end + 1 : end + 2].isalpha()
                ):
                    self.letter_id(start, end)
            if length <= 4:
                if start >= 3:
                    self.house_number(start, end)
                continue
            if length < 7 or (self.urls and self.in_url(start, end)):
                continue
            written = run.group()
            if written.isdigit():  # one group of digits: order numbers, ids, most phones typed bare
                self.line_runs.append((start, end, length))
                if length >= 13:
                    self.cards(((start, end),))
                if length in _DIGIT_IDS:
                    self.digit_ids(start, end, written)
                continue
            groups = [match.span() for match in _GROUP.finditer(text, start, end)]
            if sum(group_end - group_start for group_start, group_end in groups) >= 13:
                self.cards(groups)
            # Phones and ids never span lines: split the run where a separator holds a line break.
            first = 0
            for index in range(1, len(groups) + 1):
                if index == len(groups) or "\n" in text[groups[index - 1][1] : groups[index][0]]:
                    line_start, line_end = groups[first][0], groups[index - 1][1]
                    digits = "".join(
                        text[group_start:group_end] for group_start, group_end in groups[first:index]
                    )
                    self.line_runs.append((line_start, line_end, len(digits)))
                    if len(digits) in _DIGIT_IDS:
                        self.digit_ids(line_start, line_end, digits)
                    first = index

    def house_number(self, start: int, end: int) -> None:
        """Note a short run right after a German street name ("Hauptstraße 5", "Berliner Str. 12a") for
        `addresses`: German writes the number after the street, so the street is found from its number."""
        street_end = start - 1 if start and self.text[start - 1] == " " else start
        low = self.low
        if street_end >= 3 and low.endswith(_DE_STREET_ENDS, 0, street_end):
            if low.endswith("ring", 0, street_end) and low[street_end - 5 : street_end - 4].isalpha():
                return  # "Offering 3", "during 3": only "… Ring 3" is a street
            tail = _HOUSE_NUMBER_END.match(self.text, end)
            if tail is not None:
                self.house_numbers.append((street_end, tail.end()))

    def letter_prefixed(self, start: int, id_shaped: bool) -> None:
        """A run right after letters: an IBAN ("DE89 3704…", "gb29 nwbk…"), or a NIE/NINO/codice fiscale
        (handled by `letter_id` from the token start)."""
        text = self.text
        head = start - 2
        standalone = head == 0 or not (text[head - 1].isascii() and text[head - 1].isalnum())
        if standalone and text[head].isascii() and text[head].isalpha():
            found = _iban_at(text, head)
            if found is not None:
                end, country = found
                compact = "".join(char for char in text[head:end] if char.isalnum()).upper()
                if compact not in self.detector._ibans and not self.taken(head, end):
                    self.add(Kind.IBAN, head, end, country)
                return
        if id_shaped:
            self.letter_id(start, start)

    def letter_id(self, start: int, end: int) -> None:
        """Ids mixing letters and digits around the run at `start`: find the token start and try
        `_LETTER_ID` there (or, for a spaced NINO "QQ 12 34 56 C", at its two letters)."""
        text = self.text
        head = start
        while head > 0 and head > start - 12 and text[head - 1].isascii() and text[head - 1].isalnum():
            head -= 1
        match = None
        if not (head > 0 and (text[head - 1].isalnum() or text[head - 1] == "_")):
            match = _LETTER_ID.match(text, head)
        if match is None and head == start and start >= 3 and text[start - 1] == " ":
            head = start - 3
            if text[head : start - 1].isalpha() and not (head > 0 and text[head - 1].isalnum()):
                match = _LETTER_ID.match(text, head)
        if match is None:
            return
        value_end = match.end()
        if value_end < len(text) and (text[value_end].isalnum() or text[value_end] == "_"):
            return
        detail = match.lastgroup
        assert detail is not None
        if self.taken(head, value_end) or not _letter_id_valid(detail, match.group()):
            return
        context = self.near(head, _LETTER_ID_CONTEXT)
        if context is not None and context.category != _Ctx.ID:
            return
        if detail == "gb_nino" and context is None and match.group().count(" ") < 4:
            return  # a compact NINO has no check digit: only after an id word
        self.add(Kind.NATIONAL_ID, head, value_end, detail)

    def cards(self, groups: Sequence[tuple[int, int]]) -> None:
        """Card numbers among the digit groups of one run: the longest Luhn-valid window of whole groups with
        a known issuer, tried from each group on. A window that is only part of its run (a card followed by
        its expiry and CVV, two cards in a row) counts when what is left over is short, is on another line,
        or when the message speaks of cards; so a tracking number that happens to hold a valid-looking
        window of 16 digits does not."""
        text = self.text
        count = len(groups)
        index = 0
        previous_end = -1  # group index of the last card found in this run
        while index < count:
            best: tuple[int, str, str] | None = None
            digits = ""
            for last in range(index, count):
                digits += text[groups[last][0] : groups[last][1]]
                if len(digits) > 19:
                    break
                if len(digits) >= 13:
                    network = _network(digits)
                    if network is not None and _luhn(digits):
                        best = (last, network, digits)
            if best is None:
                index += 1
                continue
            last, network, digits = best
            if self.card_ok(groups, index, last, digits, previous_end):
                start, end = groups[index][0], groups[last][1]
                if not self.taken(start, end):
                    self.add(Kind.CARD, start, end, network)
                    self.card_extras(end, network)
                previous_end = last
                index = last + 1
            else:
                index += 1

    def card_ok(
        self, groups: Sequence[tuple[int, int]], first: int, last: int, digits: str, previous_end: int
    ) -> bool:
        text = self.text
        start = groups[first][0]
        context = self.near(start, _CARD_CONTEXT)
        if context is not None and context.category == _Ctx.NEG:
            return False
        sure = self.card_words or context is not None
        if len(digits) == 13 and not sure:
            return False  # 13 digits: an EAN-13 barcode far more often than an old Visa number
        lengths = [group_end - group_start for group_start, group_end in groups[first : last + 1]]
        if not sure and not _card_grouping(lengths):
            return False
        if sure:
            return True
        if first > 0 and previous_end != first - 1:
            between = text[groups[first - 1][1] : start]
            left = sum(group_end - group_start for group_start, group_end in groups[:first])
            if "\n" not in between and left < 13:
                return False
        if last + 1 < len(groups):
            between = text[groups[last][1] : groups[last + 1][0]]
            rest = [group_end - group_start for group_start, group_end in groups[last + 1 :]]
            short = all(size <= 4 for size in rest) and sum(rest) <= 10
            if "\n" not in between and not short and sum(rest) < 13:
                return False
        return True

    def card_extras(self, card_end: int, network: str) -> None:
        """An expiry date and a CVV typed right after a card number ("4111… 12/26 123")."""
        text = self.text
        position = card_end
        match = _EXTRA_GAP.match(text[position : position + 5])
        position += match.end() if match else 0
        expiry = _EXPIRY_VALUE.match(text, position)
        if expiry is not None and "/" in expiry.group():
            self.add(Kind.EXPIRY, expiry.start(), expiry.end(), "card_expiry")
            position = expiry.end()
            gap = _EXTRA_GAP.match(text[position : position + 5])
            position += gap.end() if gap else 0
        cvv = (_AMEX_CVV if network == "amex" else _CARD_CVV).match(text, position)
        if cvv is not None and position > card_end:
            self.add(Kind.CVV, cvv.start(), cvv.end(), "cvv")

    def digit_ids(self, start: int, end: int, digits: str) -> None:
        """National ids made only of digits, in one line of a run (`digits` has a length in `_DIGIT_IDS`)."""
        if self.taken(start, end):
            return
        written = self.text[start:end]
        context = self.near(start, _ID_CONTEXT)
        named = context is not None and context.category == _Ctx.ID
        if context is not None and not named:
            return
        hint = _ID_HINTS.get(context.word) if context is not None else None
        for detail, needs_word in sorted(_DIGIT_IDS[len(digits)], key=lambda candidate: candidate[0] != hint):
            standalone = (
                (detail == "us_ssn" and _SSN_DASHED.fullmatch(written) is not None)
                or (detail == "ru_snils" and _SNILS_FORMATTED.fullmatch(written) is not None)
                or (detail == "fr_nir" and _NIR_WRITTEN.fullmatch(written) is not None)
            )
            if needs_word and not named and not standalone:
                continue
            if _digit_id_valid(detail, digits):
                self.add(Kind.NATIONAL_ID, start, end, detail)
                return

    # phones and emails --------------------------------------------------------------------------------------

    def phones(self) -> None:
        """Phone numbers among the runs that look like one: "+…", "00…", a trunk "0" or Russian "8", a
        parenthesised area code, a US 3-3-4 grouping, or any run of 7–15 digits after a phone word. Only
        those are given to `phonenumbers`, whose matcher costs ~100 µs a call."""
        text = self.text
        for start, end, count in self.line_runs:
            if not 7 <= count <= 15:
                continue
            head = start
            while head > 0 and head > start - 2 and text[head - 1] in "+(":
                head -= 1
            written = text[start:end]
            plus = text[head] == "+" or written.startswith("00")
            paren = head < start or ")" in written
            us_like = count == 10 and _US_PHONE.fullmatch(written) is not None
            if not (plus or paren or us_like or written[0] in "08") and _Ctx.PHONE not in self.categories:
                continue
            context = self.near(head, _PHONE_CONTEXT)
            if context is not None and context.category != _Ctx.PHONE:
                continue
            if not (plus or paren or us_like or written[0] in "08" or context is not None):
                continue
            if self.taken(start, end) or (not plus and _DATE.fullmatch(written) is not None):
                continue
            for region in self.phone_regions(written, plus, context is not None or paren or us_like):
                found = False
                for match in PhoneNumberMatcher(text[head:end], region, leniency=Leniency.VALID):
                    found = True
                    if not self.detector._published_phone(match.number):
                        detail = phonenumbers.region_code_for_number(match.number) or ""
                        self.add(Kind.PHONE, head + match.start, head + match.end, detail)
                if found:
                    break

    def phone_regions(self, written: str, plus: bool, likely: bool) -> tuple[str, ...]:
        """Which numbering plans to read a number in: the default region, and, when something says it is a
        phone (a phone word, parentheses, a US grouping), the plans its national format fits: a trunk 0
        and ten digits (France, UK), a Russian trunk 8, nine digits (Spain), ten digits (North America).
        Each try costs tens of microseconds, so at most three."""
        own = self.detector._region
        if plus or not likely:
            return (own,)
        digits = "".join(char for char in written if char.isdigit())
        size = len(digits)
        first = digits[0]
        regions = [own]
        if first == "0":
            if size == 10 and _PAIRS.fullmatch(written) is not None:
                regions.insert(0, "FR")  # "06 12 34 56 78": the French way of writing a number
            regions += ["FR", "GB", "IT", "NL"] if size == 10 else ["GB", "DE", "AT"]
        elif first == "8" and size == 11:
            regions.append("RU")
        elif size == 9:
            regions += ["ES", "FR"]
        elif size == 10:
            regions += ["US", "RU", "IT"]
        return tuple(dict.fromkeys(regions))[:3]

    def emails(self) -> None:
        for match in _EMAIL.finditer(self.text):
            if match.group().lower() not in self.detector._emails and not self.taken(*match.span()):
                self.add(Kind.EMAIL, match.start(), match.end(), "email")

    # values announced by context words ----------------------------------------------------------------------

    def keyword_values(self) -> None:
        for index, hit in enumerate(self.hits):
            category = hit.category
            if category in (_Ctx.PWD, _Ctx.PWD_WEAK):
                self.password(index)
            elif category == _Ctx.PIN:
                self.short_value(index, _PIN_VALUE, Kind.PIN, "pin")
            elif category == _Ctx.CVV:
                if not self.short_value(index, _CVV_VALUE, Kind.CVV, "cvv"):
                    self.otp(index, weak=False)
            elif category == _Ctx.OTP:
                self.otp(index, weak=False)
            elif category == _Ctx.CODE:
                self.otp(index, weak=True)
            elif category == _Ctx.EXP:
                if self.card_words or any(span.kind is Kind.CARD for span in self.spans):
                    self.short_value(index, _EXPIRY_VALUE, Kind.EXPIRY, "card_expiry")
            elif category == _Ctx.PASSPORT:
                self.passport(index)
            elif category in (_Ctx.DOB, _Ctx.BIRTHDAY):
                self.birth_date(index, strong=category == _Ctx.DOB)
            elif category == _Ctx.SECRET:
                self.secret_value(index)

    def value_start(self, index: int) -> tuple[int, bool]:
        """Where the value after context word `index` would start, and whether a colon, an equals sign, a
        quote or a copula announced it."""
        hit = self.hits[index]
        lead = _LEAD.match(self.low, hit.end)
        position = lead.end() if lead is not None else hit.end
        return position, _MARK.search(self.low, hit.end, position) is not None

    def loose_start(self, index: int) -> int | None:
        hit = self.hits[index]
        match = _LOOSE.match(self.low, hit.end)
        if match is None or match.end() > hit.end + _CONTEXT_WINDOW:
            return None
        return match.end()

    def short_value(self, index: int, pattern: re.Pattern[str], kind: Kind, detail: str) -> bool:
        position, _ = self.value_start(index)
        match = pattern.match(self.text, position)
        if match is None:
            loose = self.loose_start(index)
            match = pattern.match(self.text, loose) if loose is not None else None
        if match is None or self.taken(match.start(), match.end()):
            return False
        self.add(kind, match.start(), match.end(), detail)
        return True

    def otp(self, index: int, *, weak: bool) -> None:
        hit = self.hits[index]
        low = self.low
        if weak and (
            _CODE_NOT_OTP_BEFORE.search(low, max(0, hit.start - 24), hit.start) is not None
            or _CODE_NOT_OTP_AFTER.match(low, hit.end) is not None
        ):
            return
        position, _ = self.value_start(index)
        match = _OTP_VALUE.match(self.text, position)
        if match is None:
            loose = self.loose_start(index)
            match = _OTP_VALUE.match(self.text, loose) if loose is not None else None
        if match is None:
            match = _OTP_BEFORE.search(low, max(0, hit.start - 48), hit.start)
        if match is None:
            return
        start, end = match.span("value")
        value = self.text[start:end]
        if weak and len(value) == 4 and value[:2] in ("19", "20"):
            return  # "code 2024": a year, or a promo code named after one
        if not self.taken(start, end):
            self.add(Kind.OTP, start, end, "otp")

    def password(self, index: int) -> None:
        """The password after a password word. The value is the next token; a token with a digit, a symbol
        or an inner capital is accepted after any lead-in, a plain word only after a colon or "is" (or a
        login named just before: "login ivan password sunshine") and when it ends its sentence ("my
        password is sunshine." but not "my password is wrong" or "password: funktioniert nicht"); either
        way not one of `_PASSWORD_STOP`. "pass" alone needs a colon."""
        hit = self.hits[index]
        login = _LOGIN_BEFORE.search(self.low, max(0, hit.start - 40), hit.start) is not None
        tries: list[tuple[int | None, bool]] = [self.value_start(index), (self.loose_start(index), True)]
        owner = _OWNER_PHRASE.match(self.low, hit.end)
        if owner is not None and not any(hit.end < other.start < owner.end() for other in self.hits):
            tries.append((owner.end(), False))  # "пароль от кабинета Qwerty123", "password for the app X1…"
        for position, marked in tries:
            if position is None:
                continue
            if hit.category == _Ctx.PWD_WEAK and not (marked and ":" in self.low[hit.end : position + 1]):
                return
            found = self.password_token(position, marked or login)
            if found is not None:
                if not self.taken(*found):
                    self.add(Kind.PASSWORD, found[0], found[1], "password")
                return

    def password_token(self, position: int, marked: bool) -> tuple[int, int] | None:
        text = self.text
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        start, end = match.span()
        opening = start - 1 if start and text[start - 1] in _OPEN_QUOTES else start  # the lead-in took it
        quoted = text[opening] in _OPEN_QUOTES
        if quoted:
            closing = _QUOTED.match(text, opening)
            if closing is not None:
                return closing.span(1)  # a quoted value is the password as a whole, spaces included
        while start < end and text[start] in _OPEN_QUOTES + "¡¿":
            start += 1
        while end > start and text[end - 1] in _CLOSE_PUNCT:
            end -= 1
        token = text[start:end]
        bare = token.strip("!?")
        if not 4 <= len(bare) <= 64 or bare.lower() in _PASSWORD_STOP or not any(c.isalnum() for c in bare):
            return None
        if bare.startswith(_NOT_PASSWORDS) or "@" in bare:
            return None
        plain = bare.isalpha() and (bare[1:].islower() or (bare.isupper() and len(bare) <= 4))
        if not plain:
            return start, end
        if not (marked or quoted):
            return None
        following = _NEXT_WORD.match(text, match.end())
        standalone = following is None or following.group(1).lower() in _CLOSING
        return (start, end) if standalone or quoted else None

    def passport(self, index: int) -> None:
        hit = self.hits[index]
        end = self.window_end(index)
        for match in _PASSPORT_VALUE.finditer(self.text, hit.end, end + 14):
            if match.start() > end:
                return
            if _passport_like(match.group()):
                if not self.taken(match.start(), match.end()):
                    detail = "id_card" if "ausweis" in hit.word or "card" in hit.word else "passport"
                    self.add(Kind.PASSPORT, match.start(), match.end(), detail)
                return

    def birth_date(self, index: int, *, strong: bool) -> None:
        """A date of birth: a full date (with a year) right after "date of birth", "born on", "geboren am",
        "né le", "дата рождения"… For "birthday" the value must follow "is" or a colon directly ("my
        birthday is 12.03.1985"), since a birthday party or a present has a date too."""
        position, marked = self.value_start(index)
        if not strong and not marked:
            return
        match = _DATE.match(self.text, position)
        if match is None and strong:
            loose = self.loose_start(index)
            match = _DATE.match(self.text, loose) if loose is not None else None
        if match is not None and not self.taken(match.start(), match.end()):
            self.add(Kind.BIRTH_DATE, match.start(), match.end(), "date_of_birth")

    def secret_value(self, index: int) -> None:
        """A long high-entropy token after an API key / token / secret word. Hashes and UUIDs count here
        (a key is often hex), since the word says it is a key; without one they never do."""
        position, _ = self.value_start(index)
        match = _SECRET_VALUE.match(self.text, position)
        if match is None:
            return
        token = match.group().rstrip(".")
        if token.startswith(_PUBLIC_PREFIXES) or self.taken(match.start(), match.start() + len(token)):
            return
        has_digit = any(char.isdigit() for char in token)
        has_alpha = any(char.isalpha() for char in token)
        if not (has_digit and has_alpha) or _entropy(token) < 3.0:
            return
        self.add(Kind.SECRET, match.start(), match.start() + len(token), "token")

    # addresses ----------------------------------------------------------------------------------------------

    def addresses(self) -> None:
        """Postal addresses: a street with its house number, in each language's order ("Hauptstraße 5",
        "221 Baker Street", "12 rue de la Paix", "Calle Mayor 5", "ул. Ленина, д. 10"), with the postcode and
        city after it; a postcode and city alone only after an address word."""
        text = self.text
        for street_end, end in self.house_numbers:
            head = street_end
            while head > 0 and (text[head - 1].isalpha() or text[head - 1] in "-."):
                head -= 1
            suffix = next(ending for ending in _DE_STREET_ENDS if self.low.endswith(ending, 0, street_end))
            if street_end - head - len(suffix) < 3:
                # "Berliner Straße 5", "Am Ring 3": a capitalised street word after capitalised words.
                if head != street_end - len(suffix) or not text[head].isupper():
                    continue
                name = _NAME_BEFORE.search(text, max(0, head - 40), head)
                if name is None:
                    continue
                head = name.start()
            self.add_address(head, end)
        for index, hit in enumerate(self.hits):
            if hit.category == _Ctx.STREET:
                self.street_word(index)
            elif hit.category == _Ctx.ADDR:
                position, _ = self.value_start(index)
                postcode = _POSTCODE_CITY.match(text, position)
                if postcode is not None and postcode.group().strip(", ")[:1].isdigit():
                    self.add_address(postcode.start(), postcode.end())

    def street_word(self, index: int) -> None:
        text = self.text
        hit = self.hits[index]
        word = hit.word
        if word in _EN_STREET_WORDS and text[hit.start].isupper():
            number = _NUMBER_BEFORE_EN.search(text, max(0, hit.start - 60), hit.start)
            if number is not None:
                end = hit.end + (1 if text[hit.end : hit.end + 1] == "." else 0)
                self.add_address(number.start(), end)
                return
        if word in _FR_STREET_WORDS:
            number = _NUMBER_BEFORE_FR.search(text, max(0, hit.start - 12), hit.start)
            name = _NAME_AFTER_FR.match(text, hit.end)
            if number is not None and name is not None:
                self.add_address(number.start(), name.end())
                return
        if word in _FOLLOWED_STREET_WORDS:
            rest = _NAME_NUMBER_AFTER.match(text, hit.end)
            if rest is not None:
                self.add_address(hit.start, rest.end())

    def add_address(self, start: int, end: int) -> None:
        postcode = _POSTCODE_CITY.match(self.text, end)
        if postcode is not None:
            end = postcode.end()
        if not self.taken(start, end):
            self.add(Kind.ADDRESS, start, end, "address")


def _resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans sorted by start: on overlap the more specific kind wins, then the longer."""
    if len(spans) <= 1:
        return spans
    kept: list[Span] = []
    for span in sorted(spans, key=lambda span: (-_PRIORITY[span.kind], span.start - span.end, span.start)):
        if not any(other.start < span.end and span.start < other.end for other in kept):
            kept.append(span)
    kept.sort(key=lambda span: span.start)
    return kept


# --- masks and redaction ------------------------------------------------------------------------------------

_DOTS = "••••"


def mask(kind: Kind, value: str) -> str:
    """How a value is shown once detected: enough to recognise one's own value, never enough to use it.
    A card shows its last four digits ("•••• 1111"), an IBAN its country and last four ("DE•• •••• 3000"),
    a phone its last two digits ("•••• 89"), an email its first letter and domain ("a•••@example.com");
    everything else nothing ("••••"): a CVV, PIN, one-time code, password or secret has no safe part."""
    if kind is Kind.CARD:
        digits = "".join(char for char in value if char.isdigit())
        return f"{_DOTS} {digits[-4:]}" if len(digits) >= 12 else _DOTS
    if kind is Kind.IBAN:
        compact = "".join(char for char in value if char.isalnum()).upper()
        return f"{compact[:2]}•• {_DOTS} {compact[-4:]}" if len(compact) >= 15 else _DOTS
    if kind is Kind.PHONE:
        digits = "".join(char for char in value if char.isdigit())
        return f"{_DOTS} {digits[-2:]}" if len(digits) >= 7 else _DOTS
    if kind is Kind.EMAIL:
        local, at, domain = value.strip().partition("@")
        return f"{local[:1]}•••@{domain}" if at and local and domain else _DOTS
    return _DOTS


def redact(text: str, spans: Sequence[Span]) -> str:
    """`text` with each span replaced by "[<kind> <mask>]": "my card is [card •••• 1111], thanks". Spans may
    come in any order; a span overlapping an earlier one is skipped (`Detector.find` never returns such)."""
    parts: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda span: span.start):
        if span.start < position:
            continue
        parts.append(text[position : span.start])
        parts.append(f"[{span.kind.value} {mask(span.kind, text[span.start : span.end])}]")
        position = span.end
    parts.append(text[position:])
    return "".join(parts)
