"""Typed callback data for every inline button the bot sends (never parse raw `callback_data`)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from flows.broadcasts import ContentKind
from flows.offers import Audience


class FaqAnswer(CallbackData, prefix="faq"):
    """Show approved answer `answer` (a catalog answer id, at most 32 characters)."""

    answer: str


class ShowMenu(CallbackData, prefix="menu"):
    """Show the help menu again."""


class Choice(StrEnum):
    ACCEPT = "accept"
    WITHDRAW = "withdraw"
    MARKETING_YES = "yes"
    MARKETING_NO = "no"


class ConsentChoice(CallbackData, prefix="consent"):
    """A privacy choice, bound to the notice version the person was shown: a button on an outdated
    notice must not accept a text they never saw."""

    choice: Choice
    version: str


class Unsubscribe(CallbackData, prefix="unsub"):
    """Stop marketing: the button every marketing message carries."""


class ForgetChoice(CallbackData, prefix="forget"):
    """Answer to "erase your data?", bound to when it was asked (`asked`, whole seconds): an old or forged
    confirmation must not erase anything."""

    erase: bool
    asked: int


class AudienceChoice(CallbackData, prefix="aud"):
    """Who a proposed offer is for (the guided /offer_new flow)."""

    audience: Audience


class DraftChoice(CallbackData, prefix="draft"):
    """Submit or drop the proposal just previewed."""

    submit: bool


class BroadcastPick(CallbackData, prefix="bpick"):
    """The content a proposed broadcast sends (the guided /broadcast_new flow): a catalog template or an
    approved offer. Build it with `of` and read it with `content_key`: an offer key holds ":"
    (`runtime:12`), aiogram's separator, so it travels as `runtime.12` (no key holds a ".")."""

    kind: ContentKind
    key: str

    @classmethod
    def of(cls, kind: ContentKind, content_key: str) -> BroadcastPick:
        return cls(kind=kind, key=content_key.replace(":", "."))

    @property
    def content_key(self) -> str:
        return self.key.replace(".", ":")


class BroadcastLanguage(CallbackData, prefix="blang"):
    """The one language a proposed broadcast is narrowed to; "" for every language."""

    locale: str


class BroadcastCoupons(CallbackData, prefix="bcoup"):
    """Whether each recipient of an offer broadcast gets their own coupon minted from the offer's code."""

    coupons: bool


class BroadcastSubmit(CallbackData, prefix="bsub"):
    """Submit or drop the broadcast just previewed. Not `DraftChoice`: the offer flow answers that one as
    stale outside its own step, and its router is tried first."""

    submit: bool


class Rating(CallbackData, prefix="rate"):
    """One-tap satisfaction with a closed ticket: 1 (poor) to 3 (good)."""

    ticket: int
    score: int


class TalkToPerson(CallbackData, prefix="person"):
    """The menu's "talk to a person" button: the same as /agent."""
