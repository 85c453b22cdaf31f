"""The approved content catalog, rendering it for one recipient, and the ledger of issued renderings."""

from bot.content.catalog import Answer, Catalog, TextEntry, load_catalog, parse_catalog
from bot.content.contract import SYSTEM_TEXTS, Field
from bot.content.ledger import Audience, Origin, RenderLedger
from bot.content.rendering import Fragment, Recipient, Rendered, Renderer

__all__ = [
    "SYSTEM_TEXTS",
    "Answer",
    "Audience",
    "Catalog",
    "Field",
    "Fragment",
    "Origin",
    "Recipient",
    "RenderLedger",
    "Rendered",
    "Renderer",
    "TextEntry",
    "load_catalog",
    "parse_catalog",
]
