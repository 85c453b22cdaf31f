"""Loading and validating the approved content catalog (a TOML file).

The deployed catalog is the approved baseline (invariant 3): everything the bot can say is in it, each entry
under a stable key with a content hash, so an auditor can tell exactly which approved text a message came
from. Validation is strict and happens at start: a typo in a key or a placeholder is a deploy error, not a
runtime surprise in front of a customer.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.content.contract import SHORT_TEXTS, SYSTEM_TEXTS
from bot.errors import CatalogError
from flows.forms import FieldDef, FieldKind, FormDef
from flows.offers import MAX_DISCOUNT, MAX_OFFER_TEXT, Audience, Offer, OfferTerms, parse_code

MAX_TEXT = 4096
MAX_BUTTON_LABEL = 64
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_ANSWER_ID = re.compile(r"^[a-z0-9_]{1,32}$")
_VERSION = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_SECTIONS = frozenset({"catalog", "notice", "texts", "answers", "templates", "offers", "forms"})
_FORM_KEYS = frozenset({"purpose", "fields", "retention_days"})
_FIELD_KEYS = frozenset({"name", "kind", "label", "required"})
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_OFFER_KEYS = frozenset({"text", "discount", "code", "valid_from", "valid_until", "audience", "locales"})
_NOTICE_KEYS = frozenset({"version", "text"})
_TEMPLATE_KEYS = frozenset({"text"})
_CATALOG_KEYS = frozenset({"version", "default_locale", "faq_threshold"})
_TEXT_KEYS = frozenset({"text", "fields"})
_ANSWER_KEYS = frozenset({"title", "keywords", "text", "buttons"})
_BUTTON_KEYS = frozenset({"text", "answer", "url"})
_HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?")
MAX_ANSWER_BUTTONS = 6


@dataclass(frozen=True)
class TextEntry:
    """A system text: one template per locale, using only `fields`."""

    key: str
    fields: frozenset[str]
    templates: Mapping[str, str]
    digest: str


@dataclass(frozen=True)
class AnswerButton:
    """A button under an answer: to another approved answer, or to an approved https page."""

    labels: Mapping[str, str]
    answer: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Answer:
    """An approved FAQ answer: a button title, the keywords that find it, the answer text and its buttons."""

    id: str
    titles: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]]
    texts: Mapping[str, str]
    digest: str
    buttons: tuple[AnswerButton, ...] = ()


@dataclass(frozen=True)
class Notice:
    """The privacy notice customers accept before chatting. Its `version` is what consent records name:
    changing the text without changing the version would make old consents claim a text nobody saw, so
    the digest of the whole entry is recorded with every consent as well."""

    version: str
    texts: Mapping[str, str]
    digest: str


@dataclass(frozen=True)
class Template:
    """A marketing message (broadcast template). Sending one needs the recipient's valid marketing
    consent and an unsubscribe button; the outbound gate enforces both."""

    id: str
    texts: Mapping[str, str]
    digest: str


@dataclass(frozen=True)
class Catalog:
    version: str
    default_locale: str
    faq_threshold: float
    notice: Notice
    texts: Mapping[str, TextEntry]
    answers: Mapping[str, Answer]
    templates: Mapping[str, Template]
    offers: Mapping[str, Offer]
    """Deployed offers, approved by deployment, keyed by id (their `Offer.key` is `catalog:ID`)."""
    forms: Mapping[str, FormDef]
    """Secure forms: what sensitive data may be collected, how, and for how long it is kept."""
    digest: str

    @cached_property
    def locales(self) -> frozenset[str]:
        found = {loc for entry in self.texts.values() for loc in entry.templates}
        found.update(loc for answer in self.answers.values() for loc in answer.texts)
        found.update(self.notice.texts)
        return frozenset(found | {self.default_locale})

    def entry_digests(self) -> dict[str, str]:
        """Every entry's hash, keyed `notice:VERSION` / `text:KEY` / `answer:ID` / `template:ID` — what the
        audit log records at load."""
        digests = {f"notice:{self.notice.version}": self.notice.digest}
        digests.update({f"text:{k}": e.digest for k, e in self.texts.items()})
        digests.update({f"answer:{k}": a.digest for k, a in self.answers.items()})
        digests.update({f"template:{k}": t.digest for k, t in self.templates.items()})
        digests.update({f"offer:{o.key}": o.digest for o in self.offers.values()})
        digests.update({f"form:{k}": f.digest for k, f in self.forms.items()})
        return digests


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def placeholders(template: str, where: str) -> set[str]:
    """The `{name}` placeholders of a template; anything fancier is refused.

    Attribute access, indexing, conversions and format specs (`{user.__class__}`, `{0!r}`, `{x:>99}`) are
    how a format string leaks data or breaks layout, so templates may only name a field.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise CatalogError(f"{where}: malformed braces ({exc}); write {{{{ for a literal brace") from None
    names = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise CatalogError(f"{where}: placeholder {{{name}}} must be a plain {{field}} name")
        names.add(name)
    return names


def _localized(value: Any, default_locale: str, where: str, kind: type) -> dict[str, Any]:
    """Accept a single value (the default locale's) or a table of locale → value."""
    table = value if isinstance(value, dict) else {default_locale: value}
    if default_locale not in table:
        raise CatalogError(f"{where}: no text for the default locale '{default_locale}'")
    for locale, item in table.items():
        if not _LOCALE.match(locale):
            raise CatalogError(f"{where}: '{locale}' is not a locale code such as en or pt-BR")
        if not isinstance(item, kind):
            raise CatalogError(f"{where}.{locale}: expected {kind.__name__}")
    return dict(table)


def _check_text(text: str, where: str, limit: int = MAX_TEXT) -> None:
    if not text.strip():
        raise CatalogError(f"{where}: empty text")
    if len(text) > limit:
        raise CatalogError(f"{where}: longer than Telegram's limit of {limit} characters")


def _unknown(found: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = sorted(set(found) - allowed)
    if extra:
        raise CatalogError(f"{where}: unknown key '{extra[0]}' (allowed: {', '.join(sorted(allowed))})")


def _entry(section: str, entry_id: str, raw: Any, allowed: frozenset[str], needs: str) -> str:
    """Check an `[section.ID]` table's id, shape and keys; returns its name for error messages."""
    where = f"{section}.{entry_id}"
    if not _ANSWER_ID.match(entry_id):
        raise CatalogError(f"{where}: ids are 1-32 characters of a-z, 0-9 and _")
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a table with {needs}")
    _unknown(raw, allowed, where)
    return where


def _load_text(key: str, raw: Any, default_locale: str) -> TextEntry:
    where = f"texts.{key}"
    if key not in SYSTEM_TEXTS:
        raise CatalogError(f"{where}: unknown key; the bot never renders it (typo?)")
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a table with text = ...")
    _unknown(raw, _TEXT_KEYS, where)
    declared = raw.get("fields", [])
    if not isinstance(declared, list) or not all(isinstance(f, str) for f in declared):
        raise CatalogError(f"{where}.fields: expected a list of field names")
    supplied = SYSTEM_TEXTS[key]
    for field in declared:
        if field not in supplied:
            raise CatalogError(f"{where}.fields: '{field}' is not a field the bot supplies here")
    templates = _localized(raw.get("text"), default_locale, f"{where}.text", str)
    limit = SHORT_TEXTS.get(key, MAX_BUTTON_LABEL if key.startswith(("button.", "command.")) else MAX_TEXT)
    for locale, template in templates.items():
        _check_text(template, f"{where}.text.{locale}", limit)
        for name in placeholders(template, f"{where}.text.{locale}"):
            if name not in declared:
                raise CatalogError(f"{where}.text.{locale}: placeholder {{{name}}} is not declared")
    return TextEntry(key, frozenset(declared), templates, _digest(raw))


def _load_answer(answer_id: str, raw: Any, default_locale: str) -> Answer:
    where = _entry("answers", answer_id, raw, _ANSWER_KEYS, "title, keywords and text")
    titles = _localized(raw.get("title"), default_locale, f"{where}.title", str)
    texts = _localized(raw.get("text"), default_locale, f"{where}.text", str)
    keywords = _localized(raw.get("keywords"), default_locale, f"{where}.keywords", list)
    for locale, title in titles.items():
        _check_text(title, f"{where}.title.{locale}", MAX_BUTTON_LABEL)
    for locale, text in texts.items():
        _check_text(text, f"{where}.text.{locale}")
    for part, table in (("title", titles), ("text", texts)):
        for locale, value in table.items():
            if placeholders(value, f"{where}.{part}.{locale}"):
                raise CatalogError(f"{where}.{part}.{locale}: answers take no placeholders")
            table[locale] = value.replace("{{", "{").replace("}}", "}")  # as in system texts
    for locale, words in keywords.items():
        if not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise CatalogError(f"{where}.keywords.{locale}: expected a non-empty list of words")
    return Answer(
        id=answer_id,
        titles=titles,
        keywords={loc: tuple(w.strip() for w in words) for loc, words in keywords.items()},
        texts=texts,
        digest=_digest(raw),
        buttons=_load_buttons(raw.get("buttons", []), default_locale, f"{where}.buttons"),
    )


def _load_buttons(raw: Any, default_locale: str, where: str) -> tuple[AnswerButton, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_ANSWER_BUTTONS:
        raise CatalogError(f"{where}: a list of at most {MAX_ANSWER_BUTTONS} buttons")
    buttons = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise CatalogError(f"{at}: expected a table with text and answer or url")
        _unknown(item, _BUTTON_KEYS, at)
        labels = _localized(item.get("text"), default_locale, f"{at}.text", str)
        for locale, label in labels.items():
            _check_text(label, f"{at}.text.{locale}", MAX_BUTTON_LABEL)
        answer, url = item.get("answer"), item.get("url")
        if (answer is None) == (url is None):
            raise CatalogError(f"{at}: give exactly one of answer (an answer id) or url (an https address)")
        if answer is not None and (not isinstance(answer, str) or not _ANSWER_ID.match(answer)):
            raise CatalogError(f"{at}.answer: an answer id")
        if url is not None and (not isinstance(url, str) or not _HTTPS_URL.fullmatch(url) or len(url) > 512):
            raise CatalogError(f"{at}.url: an https address without spaces, query or fragment")
        buttons.append(AnswerButton(labels, answer, url))
    return tuple(buttons)


def _plain_texts(raw: Any, default_locale: str, where: str) -> dict[str, str]:
    """Localized texts that take no placeholders (`{{`/`}}` written for literal braces)."""
    texts = _localized(raw, default_locale, where, str)
    for locale, text in texts.items():
        _check_text(text, f"{where}.{locale}")
        if placeholders(text, f"{where}.{locale}"):
            raise CatalogError(f"{where}.{locale}: this text takes no placeholders")
        texts[locale] = text.replace("{{", "{").replace("}}", "}")
    return texts


def _load_notice(raw: Any, default_locale: str) -> Notice:
    if not isinstance(raw, dict):
        raise CatalogError("[notice]: missing; the privacy notice customers accept (version and text)")
    _unknown(raw, _NOTICE_KEYS, "[notice]")
    version = raw.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise CatalogError("[notice].version: required, 1-32 characters of A-Z a-z 0-9 . _ -")
    return Notice(version, _plain_texts(raw.get("text"), default_locale, "notice.text"), _digest(raw))


def _load_template(template_id: str, raw: Any, default_locale: str) -> Template:
    where = _entry("templates", template_id, raw, _TEMPLATE_KEYS, "text = ...")
    return Template(template_id, _plain_texts(raw.get("text"), default_locale, f"{where}.text"), _digest(raw))


def _moment(value: Any, where: str) -> float:
    """A TOML date-time with an offset (or a date, meaning its start, UTC) as seconds since the epoch."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise CatalogError(f"{where}: give a time zone, e.g. 2026-12-31T23:59:59Z")
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    raise CatalogError(f"{where}: expected a TOML date or date-time, e.g. 2026-12-31T23:59:59Z")


def _load_offer(offer_id: str, raw: Any, default_locale: str) -> Offer:
    where = _entry("offers", offer_id, raw, _OFFER_KEYS, "text, discount, code, valid_from, valid_until")
    texts = _plain_texts(raw.get("text"), default_locale, f"{where}.text")
    if any(len(text) > MAX_OFFER_TEXT for text in texts.values()):
        raise CatalogError(f"{where}.text: at most {MAX_OFFER_TEXT} characters")
    discount = raw.get("discount")
    if not isinstance(discount, int) or isinstance(discount, bool) or not 1 <= discount <= MAX_DISCOUNT:
        raise CatalogError(f"{where}.discount: a whole percentage from 1 to {MAX_DISCOUNT}")
    code = raw.get("code")
    if not isinstance(code, str) or parse_code(code) != code:
        raise CatalogError(f"{where}.code: 4-20 upper-case letters and digits")
    valid_from = _moment(raw.get("valid_from"), f"{where}.valid_from")
    valid_until = _moment(raw.get("valid_until"), f"{where}.valid_until")
    if valid_until <= valid_from:
        raise CatalogError(f"{where}.valid_until: must be after valid_from")
    audience = raw.get("audience", Audience.EVERYONE.value)
    if audience not in {a.value for a in Audience}:
        raise CatalogError(f"{where}.audience: one of {', '.join(a.value for a in Audience)}")
    locales = raw.get("locales", [])
    if not isinstance(locales, list) or not all(isinstance(x, str) and _LOCALE.match(x) for x in locales):
        raise CatalogError(f"{where}.locales: a list of locale codes such as en, de")
    terms = OfferTerms(texts, discount, code, valid_from, valid_until, Audience(audience), tuple(locales))
    return Offer(f"catalog:{offer_id}", terms)


def _load_form(form_id: str, raw: Any, default_locale: str) -> FormDef:
    where = _entry("forms", form_id, raw, _FORM_KEYS, "purpose, fields and retention_days")
    purposes = _plain_texts(raw.get("purpose"), default_locale, f"{where}.purpose")
    retention = raw.get("retention_days")
    if not isinstance(retention, int) or isinstance(retention, bool) or not 1 <= retention <= 3650:
        raise CatalogError(f"{where}.retention_days: how long submissions are kept, 1 to 3650 days")
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list) or not 1 <= len(raw_fields) <= 12:
        raise CatalogError(f"{where}.fields: a list of 1 to 12 fields")
    fields: list[FieldDef] = []
    for index, item in enumerate(raw_fields):
        at = f"{where}.fields[{index}]"
        if not isinstance(item, dict):
            raise CatalogError(f"{at}: expected a table with name, kind and label")
        _unknown(item, _FIELD_KEYS, at)
        name, kind, required = item.get("name"), item.get("kind"), item.get("required", True)
        if not isinstance(name, str) or not _FIELD_NAME.match(name) or any(f.name == name for f in fields):
            raise CatalogError(f"{at}.name: a unique name of a-z, 0-9 and _")
        if kind not in {k.value for k in FieldKind}:
            raise CatalogError(f"{at}.kind: one of {', '.join(k.value for k in FieldKind)}")
        if not isinstance(required, bool):
            raise CatalogError(f"{at}.required: true or false")
        labels = _localized(item.get("label"), default_locale, f"{at}.label", str)
        for locale, label in labels.items():
            _check_text(label, f"{at}.label.{locale}", MAX_BUTTON_LABEL)
        fields.append(FieldDef(name, FieldKind(kind), labels, required))
    return FormDef(form_id, purposes, tuple(fields), retention, _digest(raw))


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Validate an already-parsed TOML document."""
    _unknown(data, _SECTIONS, "catalog file")
    head = data.get("catalog")
    if not isinstance(head, dict):
        raise CatalogError("[catalog]: missing; it needs version and default_locale")
    _unknown(head, _CATALOG_KEYS, "[catalog]")
    version = head.get("version")
    default_locale = head.get("default_locale")
    threshold = head.get("faq_threshold", 0.5)
    if not isinstance(version, str) or not version.strip():
        raise CatalogError("[catalog].version: required, a non-empty string")
    if not isinstance(default_locale, str) or not _LOCALE.match(default_locale):
        raise CatalogError("[catalog].default_locale: required, a locale code such as en")
    if not isinstance(threshold, int | float) or not 0 < threshold <= 10:
        raise CatalogError("[catalog].faq_threshold: a number above 0 and at most 10")
    notice = _load_notice(data.get("notice"), default_locale)
    raw_texts = data.get("texts", {})
    raw_answers = data.get("answers", {})
    raw_templates = data.get("templates", {})
    raw_offers = data.get("offers", {})
    raw_forms = data.get("forms", {})
    tables = (raw_texts, raw_answers, raw_templates, raw_offers, raw_forms)
    if not all(isinstance(table, dict) for table in tables):
        raise CatalogError("[texts], [answers], [templates], [offers] and [forms] must be tables")
    texts = {key: _load_text(key, raw, default_locale) for key, raw in raw_texts.items()}
    missing = sorted(set(SYSTEM_TEXTS) - texts.keys())
    if missing:
        raise CatalogError(f"texts.{missing[0]}: missing; the bot needs it")
    answers = {aid: _load_answer(aid, raw, default_locale) for aid, raw in raw_answers.items()}
    if not answers:
        raise CatalogError("[answers]: at least one approved answer is needed for the help menu")
    for answer in answers.values():
        for index, button in enumerate(answer.buttons):
            if button.answer is not None and button.answer not in answers:
                raise CatalogError(
                    f"answers.{answer.id}.buttons[{index}].answer: no answer '{button.answer}'"
                )
    templates = {tid: _load_template(tid, raw, default_locale) for tid, raw in raw_templates.items()}
    return Catalog(
        version=version,
        default_locale=default_locale,
        faq_threshold=float(threshold),
        notice=notice,
        texts=texts,
        answers=answers,
        templates=templates,
        offers={oid: _load_offer(oid, raw, default_locale) for oid, raw in raw_offers.items()},
        forms={fid: _load_form(fid, raw, default_locale) for fid, raw in raw_forms.items()},
        digest=_digest(data),
    )


def load_catalog(path: Path) -> Catalog:
    """Read and validate the catalog file; every problem is a `CatalogError` naming the entry."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: not valid UTF-8 TOML ({exc})") from None
    return parse_catalog(data)
