"""Inline keyboards; every label is rendered from the catalog for its recipient (the gate checks labels).

Built as plain markup objects rather than with aiogram's `InlineKeyboardBuilder`: the builder deep-copies
its rows on export, which cost a third of a millisecond per reply on the hot path.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.content import Recipient, Renderer
from bot.telegram.callbacks import (
    AudienceChoice,
    Choice,
    ConsentChoice,
    DraftChoice,
    FaqAnswer,
    ForgetChoice,
    Rating,
    ShowMenu,
    TalkToPerson,
    Unsubscribe,
)
from flows.offers import Audience


def faq_menu(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    """One button per approved answer, in catalog order, one per row; then "talk to a person"."""
    rows = [
        [
            InlineKeyboardButton(
                text=renderer.answer_title(answer_id, to),
                callback_data=FaqAnswer(answer=answer_id).pack(),
            )
        ]
        for answer_id in renderer.catalog.answers
    ]
    rows.append([_button(renderer, to, "button.talk_to_person", TalkToPerson().pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def back_to_menu(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=renderer.text("button.back_to_menu", to), callback_data=ShowMenu().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def answer_keyboard(renderer: Renderer, to: Recipient, answer_id: str) -> InlineKeyboardMarkup:
    """The answer's own approved buttons (other answers, approved pages), then back to the menu."""
    if not renderer.catalog.answers[answer_id].buttons:
        return back_to_menu(renderer, to)
    rows = []
    for index, button in enumerate(renderer.catalog.answers[answer_id].buttons):
        label, url = renderer.answer_button(answer_id, index, to)
        if url is not None:
            rows.append([InlineKeyboardButton(text=label, url=url)])
        elif button.answer is not None:
            rows.append(
                [InlineKeyboardButton(text=label, callback_data=FaqAnswer(answer=button.answer).pack())]
            )
    rows.append(back_to_menu(renderer, to).inline_keyboard[0])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def _button(renderer: Renderer, to: Recipient, key: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=renderer.text(key, to), callback_data=data)


def notice_choices(renderer: Renderer, to: Recipient, version: str) -> InlineKeyboardMarkup:
    """Two separate choices under the privacy notice, nothing pre-selected: accept the notice (needed
    to chat), and marketing yes or no."""
    return _keyboard(
        [
            _button(
                renderer,
                to,
                "button.accept_notice",
                ConsentChoice(choice=Choice.ACCEPT, version=version).pack(),
            )
        ],
        [
            _button(
                renderer,
                to,
                "button.marketing_yes",
                ConsentChoice(choice=Choice.MARKETING_YES, version=version).pack(),
            ),
            _button(
                renderer,
                to,
                "button.marketing_no",
                ConsentChoice(choice=Choice.MARKETING_NO, version=version).pack(),
            ),
        ],
    )


def privacy_choices(
    renderer: Renderer, to: Recipient, version: str, *, accepted: bool, marketing: bool
) -> InlineKeyboardMarkup:
    """The changes open to the person from where they stand."""

    def choice(key: str, value: Choice) -> InlineKeyboardButton:
        return _button(renderer, to, key, ConsentChoice(choice=value, version=version).pack())

    marketing_row = (
        choice("button.marketing_no", Choice.MARKETING_NO)
        if marketing
        else choice("button.marketing_yes", Choice.MARKETING_YES)
    )
    notice_row = (
        choice("button.withdraw_notice", Choice.WITHDRAW)
        if accepted
        else choice("button.accept_notice", Choice.ACCEPT)
    )
    return _keyboard([marketing_row], [notice_row])


def unsubscribe(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    """The button every marketing message carries (the gate refuses marketing without it)."""
    return _keyboard([_button(renderer, to, "button.unsubscribe", Unsubscribe().pack())])


def forget_confirmation(renderer: Renderer, to: Recipient, asked: int) -> InlineKeyboardMarkup:
    return _keyboard(
        [_button(renderer, to, "button.forget_yes", ForgetChoice(erase=True, asked=asked).pack())],
        [_button(renderer, to, "button.forget_no", ForgetChoice(erase=False, asked=asked).pack())],
    )


def audience_choices(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    return _keyboard(
        [
            _button(
                renderer, to, "button.audience_everyone", AudienceChoice(audience=Audience.EVERYONE).pack()
            )
        ],
        [
            _button(
                renderer, to, "button.audience_opted_in", AudienceChoice(audience=Audience.OPTED_IN).pack()
            )
        ],
    )


def draft_choices(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    return _keyboard(
        [_button(renderer, to, "button.submit", DraftChoice(submit=True).pack())],
        [_button(renderer, to, "button.cancel", DraftChoice(submit=False).pack())],
    )


def rating_buttons(renderer: Renderer, to: Recipient, ticket: int) -> InlineKeyboardMarkup:
    """One tap to rate a closed ticket."""
    return _keyboard(
        [
            _button(renderer, to, "button.rate_good", Rating(ticket=ticket, score=3).pack()),
            _button(renderer, to, "button.rate_ok", Rating(ticket=ticket, score=2).pack()),
            _button(renderer, to, "button.rate_poor", Rating(ticket=ticket, score=1).pack()),
        ]
    )
