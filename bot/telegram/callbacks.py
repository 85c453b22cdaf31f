"""Typed callback data for every inline button the bot sends (never parse raw `callback_data`)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class FaqAnswer(CallbackData, prefix="faq"):
    """Show approved answer `answer` (a catalog answer id, at most 32 characters)."""

    answer: str


class ShowMenu(CallbackData, prefix="menu"):
    """Show the help menu again."""
