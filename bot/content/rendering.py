"""Rendering an approved catalog entry for one recipient — the only way to produce text the gate passes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.content.catalog import MAX_TEXT, Catalog
from bot.content.contract import SYSTEM_TEXTS, Field
from bot.content.ledger import Audience, Origin, RenderLedger
from bot.errors import RenderError
from flows.offers import Offer

MAX_NAME = 64
_WORD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CHECKPOINT = re.compile(
    r"[!-~]{1,200}\n[0-9]{1,16}\n[A-Za-z0-9+/]{43}=\n\n(\u2014 [!-~]{1,200} [A-Za-z0-9+/=]{1,200}\n){1,4}"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_VERSION = re.compile(r"[A-Za-z0-9._-]{1,32}")
_CODE = re.compile(r"[A-Z0-9]{4,20}|V-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")
_FILENAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Recipient:
    """Who a rendering is for: the chat it may be sent to and the locale it is written in."""

    chat_id: Audience
    locale: str


class Rendered(str):
    """Text rendered from the catalog and issued to the gate's ledger. Handlers pass it to aiogram like
    any string; the `origin` is informative, the gate checks the ledger, not this object."""

    origin: Origin

    def __new__(cls, text: str, origin: Origin) -> Rendered:
        obj = super().__new__(cls, text)
        obj.origin = origin
        return obj


class Fragment(Rendered):
    """A catalog text rendered to become part of another (a `Field.LINES` value); never sent alone, so
    it is not issued to the ledger."""


def _is_word(value: object) -> bool:
    return isinstance(value, str) and _WORD.match(value) is not None


def _field_value(key: str, name: str, kind: Field, value: object) -> str:
    """Check one placeholder value against its declared kind and turn it into text."""
    if kind is Field.NAME and isinstance(value, str):
        return _CONTROL.sub(" ", value).strip()[:MAX_NAME]
    if kind is Field.NUMBER and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind is Field.WORD and _is_word(value):
        return str(value)
    items = value if isinstance(value, Sequence) and not isinstance(value, str) else None
    if kind is Field.WORDS and items is not None and all(_is_word(word) for word in items):
        return ", ".join(items)
    if kind is Field.LINES and items is not None and all(isinstance(line, Fragment) for line in items):
        return "\n".join(items)
    if kind is Field.CHECKPOINT and isinstance(value, str) and _CHECKPOINT.fullmatch(value):
        return value
    if kind is Field.DATE and isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if kind is Field.VERSION and isinstance(value, str) and _VERSION.fullmatch(value):
        return value
    if kind is Field.CODE and isinstance(value, str) and _CODE.fullmatch(value):
        return value
    if kind is Field.MASKED and isinstance(value, str) and "•" in value and len(value) <= 100:
        return _CONTROL.sub(" ", value)
    raise RenderError(f"{key}: field {name} must be a {kind.value}, got {type(value).__name__}")


def attachment_token(filename: str, data: bytes) -> str:
    """How an uploaded file stands in the ledger: its name and content hash (never its content)."""
    return f"\x00file\x00{filename}\x00{hashlib.sha256(data).hexdigest()}"


class Renderer:
    """Renders catalog entries and issues each rendering to the gate's ledger for its recipient."""

    def __init__(self, catalog: Catalog, ledger: RenderLedger) -> None:
        self.catalog = catalog
        self._ledger = ledger
        self._locales = {locale.lower(): locale for locale in catalog.locales}

    def locale_for(self, language_code: str | None) -> str:
        """The catalog locale closest to a Telegram `language_code` (`de-AT` → `de`, `pt-br` → `pt-BR`)."""
        if language_code:
            code = language_code.strip().lower()
            found = self._locales.get(code) or self._locales.get(code.split("-", 1)[0])
            if found:
                return found
        return self.catalog.default_locale

    def recipient(self, chat_id: Audience, language_code: str | None) -> Recipient:
        return Recipient(chat_id, self.locale_for(language_code))

    def _pick(self, variants: Mapping[str, str], locale: str) -> tuple[str, str]:
        if locale in variants:
            return locale, variants[locale]
        return self.catalog.default_locale, variants[self.catalog.default_locale]

    def _issue(self, to: Recipient, text: str, origin: Origin) -> Rendered:
        if len(text) > MAX_TEXT:
            raise RenderError(f"{origin.key}: rendered text exceeds {MAX_TEXT} characters")
        self._ledger.issue(to.chat_id, text, origin)
        return Rendered(text, origin)

    def _system_text(self, key: str, to: Recipient, fields: Mapping[str, object]) -> tuple[str, Origin]:
        entry = self.catalog.texts.get(key)
        contract = SYSTEM_TEXTS.get(key)
        if entry is None or contract is None:
            raise RenderError(f"{key}: no such text in the catalog")
        if set(fields) != set(contract):
            raise RenderError(f"{key}: expected fields {sorted(contract)}, got {sorted(fields)}")
        values = {name: _field_value(key, name, contract[name], value) for name, value in fields.items()}
        locale, template = self._pick(entry.templates, to.locale)
        origin = Origin(f"text:{key}", entry.digest, locale, self.catalog.version)
        return template.format_map(values), origin

    def text(self, key: str, to: Recipient, **fields: object) -> Rendered:
        """Render system text `key`; the code must supply exactly the fields of its contract."""
        text, origin = self._system_text(key, to, fields)
        return self._issue(to, text, origin)

    def fragment(self, key: str, to: Recipient, **fields: object) -> Fragment:
        """Render system text `key` as part of another text (a `Field.LINES` value)."""
        text, origin = self._system_text(key, to, fields)
        return Fragment(text, origin)

    def answer(self, answer_id: str, to: Recipient) -> Rendered:
        answer = self.catalog.answers.get(answer_id)
        if answer is None:
            raise RenderError(f"{answer_id}: no such answer in the catalog")
        locale, text = self._pick(answer.texts, to.locale)
        return self._issue(
            to, text, Origin(f"answer:{answer_id}", answer.digest, locale, self.catalog.version)
        )

    def notice(self, to: Recipient) -> Rendered:
        """The privacy notice, in the recipient's language."""
        notice = self.catalog.notice
        locale, text = self._pick(notice.texts, to.locale)
        return self._issue(
            to, text, Origin(f"notice:{notice.version}", notice.digest, locale, self.catalog.version)
        )

    def template(self, template_id: str, to: Recipient) -> Rendered:
        """A marketing template; the gate sends it only with valid consent and an unsubscribe button."""
        template = self.catalog.templates.get(template_id)
        if template is None:
            raise RenderError(f"{template_id}: no such template in the catalog")
        locale, text = self._pick(template.texts, to.locale)
        origin = Origin(
            f"template:{template_id}", template.digest, locale, self.catalog.version, marketing=True
        )
        return self._issue(to, text, origin)

    def template_preview(self, template_id: str, to: Recipient) -> Rendered:
        """A marketing template shown to the staff member proposing a broadcast of it: the same words, but
        not marketing (they may have no marketing consent, and it asks nothing of them), under its own key
        `preview:template:ID` so that the audit log never counts it as a marketing message sent."""
        template = self.catalog.templates.get(template_id)
        if template is None:
            raise RenderError(f"{template_id}: no such template in the catalog")
        locale, text = self._pick(template.texts, to.locale)
        origin = Origin(f"preview:template:{template_id}", template.digest, locale, self.catalog.version)
        return self._issue(to, text, origin)

    def attachment(self, key: str, to: Recipient, filename: str, data: bytes) -> str:
        """Issue a file the bot built for this recipient from their own records (their data export).

        Not catalog text, but the same rule holds: the gate sends only what was issued for this chat, so
        a file made for one customer cannot reach another. Returns the `filename` to upload it under.
        """
        if not _FILENAME.fullmatch(filename):
            raise RenderError(f"{key}: file name must be 1-64 characters of a-z 0-9 . _ -")
        digest = hashlib.sha256(data).hexdigest()
        self._ledger.issue(
            to.chat_id, attachment_token(filename, data), Origin(key, digest, to.locale, self.catalog.version)
        )
        return filename

    def offer_text(self, offer: Offer, to: Recipient) -> Fragment:
        """An approved offer's own words, to be placed in a card (`offers.card`) for this recipient."""
        locale, text = self._pick(offer.terms.texts, to.locale)
        return Fragment(text, Origin(f"offer:{offer.key}", offer.digest, locale, self.catalog.version))

    def offer_card(
        self, offer: Offer, to: Recipient, check: str, *, marketing: bool = False, code: str | None = None
    ) -> Rendered:
        """An offer as a customer receives it: its words, code, validity and verification code. Issued under
        the offer's own key and digest, so the audit log names the offer version sent; `marketing` when it
        is pushed (a broadcast) rather than asked for (`/offers`). `code` replaces the offer's own code
        with a coupon minted from it for this recipient (`OfferBook.coupon_for`), which the gate passes to
        them only."""
        fields = {
            "offer": [self.offer_text(offer, to)],
            "code": offer.terms.code if code is None else code,
            "until": offer.terms.valid_until,
            "check": check,
        }
        text, card = self._system_text("offers.card", to, fields)
        origin = Origin(
            f"offer:{offer.key}", offer.digest, card.locale, self.catalog.version, marketing=marketing
        )
        return self._issue(to, text, origin)

    def review(self, key: str, to: Recipient, proposal: int, digest: str, **fields: object) -> Rendered:
        """System text `key` showing a proposal under review (its unapproved words in a `LINES` field) to
        staff. Issued as `proposal:N`: the gate checks it as free text, not as approved content."""
        text, card = self._system_text(key, to, fields)
        return self._issue(
            to, text, Origin(f"proposal:{proposal}", digest, card.locale, self.catalog.version)
        )

    def free_text(self, text: str, to: Recipient, author: int) -> Rendered:
        """Text a staff member wrote themselves (an agent's reply): not approved content, so the gate gives
        it every check — claims, sensitive data, other customers' personal data — before it may go."""
        if not text.strip():
            raise RenderError("free text: empty")
        digest = hashlib.sha256(text.encode()).hexdigest()
        return self._issue(to, text, Origin(f"free:{author}", digest, to.locale, self.catalog.version))

    def secure_link(self, url: str, to: Recipient, form_id: str) -> Rendered:
        """A one-time form URL, as a button's target, for this recipient only. The audit log keeps its kind,
        never the URL (it carries the token): see `bot.gate.recording.SECRET_ORIGINS`."""
        form = self.catalog.forms.get(form_id)
        if form is None:
            raise RenderError(f"{form_id}: no such form in the catalog")
        return self._issue(
            to, url, Origin(f"secure_link:{form_id}", form.digest, to.locale, self.catalog.version)
        )

    def form_purpose(self, form_id: str, to: Recipient) -> Fragment:
        form = self.catalog.forms[form_id]
        locale, text = self._pick(form.purposes, to.locale)
        return Fragment(text, Origin(f"form:{form_id}", form.digest, locale, self.catalog.version))

    def relay(self, key: str, to: Recipient, ticket: int, **fields: object) -> Rendered:
        """System text `key` carrying a customer's own words (`relayed_words` fragments) to the agent on
        their ticket. Issued as `relay:N`: the gate checks it for sensitive data, not as approved content,
        and not for the customer's own data (the agent is meant to read it)."""
        text, card = self._system_text(key, to, fields)
        digest = hashlib.sha256(text.encode()).hexdigest()
        return self._issue(to, text, Origin(f"relay:{ticket}", digest, card.locale, self.catalog.version))

    def relayed_words(self, ticket: int, words: str) -> Fragment:
        return Fragment(
            words, Origin(f"relay:{ticket}", "", self.catalog.default_locale, self.catalog.version)
        )

    def proposal_text(self, text: str) -> Fragment:
        """A proposal's words as a fragment for `review` (never sent on their own)."""
        return Fragment(text, Origin("proposal", "", self.catalog.default_locale, self.catalog.version))

    def answer_button(self, answer_id: str, index: int, to: Recipient) -> tuple[Rendered, Rendered | None]:
        """The label (and URL, for a link) of an answer's button `index`, issued for the recipient."""
        answer = self.catalog.answers[answer_id]
        button = answer.buttons[index]
        locale, label = self._pick(button.labels, to.locale)
        origin = Origin(f"answer:{answer_id}:button:{index}", answer.digest, locale, self.catalog.version)
        url = self._issue(to, button.url, origin) if button.url is not None else None
        return self._issue(to, label, origin), url

    def answer_title(self, answer_id: str, to: Recipient) -> Rendered:
        answer = self.catalog.answers.get(answer_id)
        if answer is None:
            raise RenderError(f"{answer_id}: no such answer in the catalog")
        locale, title = self._pick(answer.titles, to.locale)
        origin = Origin(f"answer:{answer_id}:title", answer.digest, locale, self.catalog.version)
        return self._issue(to, title, origin)
