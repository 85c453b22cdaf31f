"""Rendering an approved catalog entry for one recipient — the only way to produce text the gate passes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.content.catalog import MAX_TEXT, Catalog
from bot.content.contract import SYSTEM_TEXTS
from bot.content.ledger import Audience, Origin, RenderLedger
from bot.errors import RenderError


@dataclass(frozen=True)
class Recipient:
    """Who a rendering is for: the chat it may be sent to and the locale it is written in."""

    chat_id: Audience
    locale: str


class Rendered(str):
    """Text rendered from the catalog. Handlers pass it to aiogram like any string.

    The `origin` is informative (what was rendered); the gate does not trust it, it checks the ledger.
    """

    origin: Origin

    def __new__(cls, text: str, origin: Origin) -> Rendered:
        obj = super().__new__(cls, text)
        obj.origin = origin
        return obj


class Renderer:
    """Renders catalog entries and issues each rendering to the gate's ledger for its recipient."""

    def __init__(self, catalog: Catalog, ledger: RenderLedger) -> None:
        self.catalog = catalog
        self._ledger = ledger

    def locale_for(self, language_code: str | None) -> str:
        """The catalog locale closest to a Telegram `language_code` (e.g. `de-AT` → `de`)."""
        locales = self.catalog.locales
        if language_code:
            code = language_code.strip()
            if code in locales:
                return code
            primary = code.split("-", 1)[0].lower()
            if primary in locales:
                return primary
        return self.catalog.default_locale

    def recipient(self, chat_id: Audience, language_code: str | None) -> Recipient:
        return Recipient(chat_id, self.locale_for(language_code))

    def _pick(self, variants: dict[str, str] | object, locale: str) -> tuple[str, str]:
        assert isinstance(variants, dict)
        if locale in variants:
            return locale, variants[locale]
        default = self.catalog.default_locale
        return default, variants[default]

    def _issue(self, to: Recipient, text: str, key: str, digest: str, locale: str) -> Rendered:
        if len(text) > MAX_TEXT:
            raise RenderError(f"{key}: rendered text exceeds {MAX_TEXT} characters")
        origin = Origin(key, digest, locale, self.catalog.version)
        self._ledger.issue(to.chat_id, text, origin)
        return Rendered(text, origin)

    def text(self, key: str, to: Recipient, **fields: object) -> Rendered:
        """Render system text `key`; the code must supply exactly the fields of its contract."""
        entry = self.catalog.texts.get(key)
        if entry is None:
            raise RenderError(f"{key}: no such text in the catalog")
        expected = SYSTEM_TEXTS[key]
        if set(fields) != expected:
            raise RenderError(f"{key}: expected fields {sorted(expected)}, got {sorted(fields)}")
        locale, template = self._pick(dict(entry.templates), to.locale)
        text = template.format_map({name: str(value) for name, value in fields.items()})
        return self._issue(to, text, f"text:{key}", entry.digest, locale)

    def answer(self, answer_id: str, to: Recipient) -> Rendered:
        answer = self.catalog.answers.get(answer_id)
        if answer is None:
            raise RenderError(f"{answer_id}: no such answer in the catalog")
        locale, text = self._pick(dict(answer.texts), to.locale)
        return self._issue(to, text, f"answer:{answer_id}", answer.digest, locale)

    def answer_title(self, answer_id: str, to: Recipient) -> Rendered:
        answer = self.catalog.answers.get(answer_id)
        if answer is None:
            raise RenderError(f"{answer_id}: no such answer in the catalog")
        locale, title = self._pick(dict(answer.titles), to.locale)
        return self._issue(to, title, f"answer:{answer_id}:title", answer.digest, locale)
