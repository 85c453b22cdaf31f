"""Inline keyboards; every label is rendered from the catalog for its recipient (the gate checks labels).

Built as plain markup objects rather than with aiogram's `InlineKeyboardBuilder`: the builder deep-copies
its rows on export, which cost a third of a millisecond per reply on the hot path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.content import Recipient, Renderer
from bot.content.catalog import Template
from bot.telegram.callbacks import (
    AudienceChoice,
    BroadcastCoupons,
    BroadcastLanguage,
    BroadcastPick,
    BroadcastSubmit,
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
from flows.broadcasts import ContentKind
from flows.offers import Audience, Offer


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


def _button(renderer: Renderer, to: Recipient, key: str, data: str, **fields: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=renderer.text(key, to, **fields), callback_data=data)


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
    """The button every marketing message carries (the gate refuses marketing without it).

    The label is rendered for each recipient (the gate checks it was rendered for their chat); the markup
    around it is the same for everyone with the same label, and aiogram's objects are immutable, so it is
    built once per label (a broadcast sends it a thousand times a second)."""
    return _unsubscribe_markup(str(renderer.text("button.unsubscribe", to)))


@functools.lru_cache(maxsize=64)
def _unsubscribe_markup(label: str) -> InlineKeyboardMarkup:
    return _keyboard([InlineKeyboardButton(text=label, callback_data=Unsubscribe().pack())])


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


def _offer_label(renderer: Renderer, to: Recipient, offer: Offer) -> str:
    """`runtime:12` → "Offer #12" (its proposal number); `catalog:winter` → "Offer: winter"."""
    source, _, name = offer.key.partition(":")
    if source == "runtime" and name.isascii() and name.isdigit():
        return renderer.text("button.broadcast_runtime_offer", to, id=int(name))
    return renderer.text("button.broadcast_catalog_offer", to, name=name)


def broadcast_content_choices(
    renderer: Renderer, to: Recipient, templates: Iterable[Template], offers: Iterable[Offer]
) -> InlineKeyboardMarkup:
    """One button per catalog template, then one per approved offer valid now, one per row."""
    rows = [
        [
            _button(
                renderer,
                to,
                "button.broadcast_template",
                BroadcastPick.of(ContentKind.TEMPLATE, template.id).pack(),
                name=template.id,
            )
        ]
        for template in templates
    ]
    rows += [
        [
            InlineKeyboardButton(
                text=_offer_label(renderer, to, offer),
                callback_data=BroadcastPick.of(ContentKind.OFFER, offer.key).pack(),
            )
        ]
        for offer in offers
    ]
    return _keyboard(*rows)


def broadcast_language_choices(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    """A button for all languages, then one per catalog locale (the default first), four to a row."""
    default = renderer.catalog.default_locale
    locales = [default, *sorted(renderer.catalog.locales - {default})]
    buttons = [
        _button(renderer, to, "button.language", BroadcastLanguage(locale=locale).pack(), locale=locale)
        for locale in locales
    ]
    return _keyboard(
        [_button(renderer, to, "button.all_languages", BroadcastLanguage(locale="").pack())],
        *(buttons[start : start + 4] for start in range(0, len(buttons), 4)),
    )


def broadcast_coupon_choices(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    return _keyboard(
        [_button(renderer, to, "button.coupons_yes", BroadcastCoupons(coupons=True).pack())],
        [_button(renderer, to, "button.coupons_no", BroadcastCoupons(coupons=False).pack())],
    )


def broadcast_submit_choices(renderer: Renderer, to: Recipient) -> InlineKeyboardMarkup:
    return _keyboard(
        [_button(renderer, to, "button.submit", BroadcastSubmit(submit=True).pack())],
        [_button(renderer, to, "button.cancel", BroadcastSubmit(submit=False).pack())],
    )
