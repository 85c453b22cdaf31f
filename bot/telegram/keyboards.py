"""Inline keyboards; every label is rendered from the catalog for its recipient (the gate checks labels)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.content import Recipient, Renderer
from bot.telegram.callbacks import FaqAnswer, ShowMenu


def faq_menu(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    """One button per approved answer, in catalog order, one per row."""
    builder = InlineKeyboardBuilder()
    for answer_id in renderer.catalog.answers:
        builder.button(text=renderer.answer_title(answer_id, to), callback_data=FaqAnswer(answer=answer_id))
    builder.adjust(1)
    return builder.as_markup()


def back_to_menu(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=renderer.text("button.back_to_menu", to), callback_data=ShowMenu())
    return builder.as_markup()
