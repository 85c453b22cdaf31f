"""Inline keyboards; every label is rendered from the catalog for its recipient (the gate checks labels).

Built as plain markup objects rather than with aiogram's `InlineKeyboardBuilder`: the builder deep-copies
its rows on export, which cost a third of a millisecond per reply on the hot path.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.content import Recipient, Renderer
from bot.telegram.callbacks import FaqAnswer, ShowMenu


def faq_menu(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    """One button per approved answer, in catalog order, one per row."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=renderer.answer_title(answer_id, to),
                    callback_data=FaqAnswer(answer=answer_id).pack(),
                )
            ]
            for answer_id in renderer.catalog.answers
        ]
    )


def back_to_menu(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=renderer.text("button.back_to_menu", to), callback_data=ShowMenu().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])
