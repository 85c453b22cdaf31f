"""The outbound gate (invariant 1): every Bot API call passes here before it reaches Telegram.

It is an aiogram session request middleware, so it sees `message.answer(...)` and `bot.send_message(...)`
alike and handlers stay idiomatic. A call that would show a person anything not rendered from the approved
catalog for that very chat is refused with `GateRefused`, logged, and kept in `refusals` for inspection.

The gate is default-deny for methods, parameters and markup fields (see `bot.gate.inspection`). Every
check that can refuse a call runs before the ledger is touched, so a refused call consumes no rendering.

Audit first (invariant 2): a call that passes is recorded (durably) before it is made and its result after;
a refusal is recorded too. The recorder is given to the gate so that nothing can go out between the check
and the record.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.content.ledger import Audience, Origin, RenderLedger
from bot.errors import GateRefused
from bot.gate.inspection import INSPECTED, NO_CONTENT, NotAllowed, inspect_call
from bot.gate.policy import ContentPolicy

log = logging.getLogger("guardbot.gate")

# Refusal reasons callers act on: the broadcast engine counts them as exclusions.
NO_MARKETING_CONSENT = "no valid marketing consent"
RECIPIENT_BLOCKED = "the recipient blocked the bot"


@dataclass(frozen=True)
class Decision:
    """A call the gate let through: to whom, showing what, rendered from which approved entries."""

    method: str
    audience: Audience
    texts: tuple[str, ...]
    origins: tuple[Origin, ...]

    @property
    def marketing(self) -> bool:
        return any(origin.marketing for origin in self.origins)


class ContactPolicy(Protocol):
    """Who may be contacted at all, and who may receive marketing (invariant 4), asked at send time so
    that an opt-out or a block applies to everything not yet sent, however it was queued."""

    unsubscribe_data: str
    """The callback data of the unsubscribe button every marketing message must carry."""

    def unreachable(self, chat_id: int) -> bool:
        """The person blocked the bot (or deleted their account) and has not written since."""
        ...

    async def may_market(self, chat_id: int) -> bool:
        """The person holds valid marketing consent right now."""
        ...

    async def forbidden(self, chat_id: int) -> None:
        """Telegram answered 403 for this chat: mark the person unreachable."""
        ...


class CallRecorder(Protocol):
    async def before(self, decision: Decision, method: TelegramMethod[Any]) -> int | None:
        """Record a call about to be made (durably); returns a reference for `after`."""
        ...

    async def after(self, call: int, decision: Decision, result: object, error: BaseException | None) -> None:
        """Record the outcome of a call recorded by `before`."""
        ...

    async def refused(self, method: TelegramMethod[Any], audience: Audience, reason: str) -> None: ...


def attempted_texts(method: TelegramMethod[Any]) -> tuple[str, ...]:
    """Best-effort displayed text of a refused call, kept (encrypted) as evidence of what was attempted."""
    return tuple(
        value for name in ("text", "caption") if isinstance(value := getattr(method, name, None), str)
    )


def _has_button(markup: object, callback_data: str) -> bool:
    """Whether inline markup carries a button with exactly this callback data."""
    rows = getattr(markup, "inline_keyboard", None)
    return isinstance(rows, list) and any(
        getattr(button, "callback_data", None) == callback_data for row in rows for button in row
    )


class OutboundGate(BaseRequestMiddleware):
    def __init__(
        self,
        ledger: RenderLedger,
        recorder: CallRecorder | None = None,
        keep_refusals: int = 100,
        contacts: ContactPolicy | None = None,
        content: ContentPolicy | None = None,
        alert: Callable[[str], None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._recorder = recorder
        self._contacts = contacts
        self._content = content
        self._alert = alert
        self.refusals: deque[GateRefused] = deque(maxlen=keep_refusals)

    def _refuse(self, method: str, chat_id: Audience, reason: str) -> GateRefused:
        refusal = GateRefused(method, chat_id, reason)
        self.refusals.append(refusal)
        log.warning("gate.refused", extra={"method": method, "reason": reason})  # who: in the audit log
        return refusal

    def check(self, bot: Bot, method: TelegramMethod[Any]) -> Decision:
        """Raise `GateRefused` unless `method` may go out; consumes the renderings it uses.

        Order matters: method, then parameters and markup, then audience and formatting, and only then
        the ledger, so that a call refused for any reason leaves its renderings unredeemed.
        """
        name = method.__api_method__
        chat_id = getattr(method, "chat_id", None)
        if name in NO_CONTENT:
            return Decision(name, chat_id, (), ())
        if name not in INSPECTED:
            raise self._refuse(name, chat_id, "method carries unchecked content")
        try:
            outgoing = inspect_call(bot, method)
        except NotAllowed as exc:
            raise self._refuse(name, chat_id, exc.reason) from None
        audience: Audience = outgoing.chat_id
        if name == "answerCallbackQuery":
            audience = self._ledger.callback_owner(str(getattr(method, "callback_query_id", "")))
            if not outgoing.texts:
                return Decision(name, audience, (), ())
            if audience is None:
                raise self._refuse(name, None, "callback query of unknown origin")
        elif audience is None and name.startswith(("send", "edit")):
            raise self._refuse(name, None, "no chat to bind the content to")
        if outgoing.formatting:
            raise self._refuse(name, audience, "formatting or entities not from the catalog")
        contacts = self._contacts
        person = audience if isinstance(audience, int) and audience > 0 else None
        if (
            contacts is not None
            and person is not None
            and name.startswith("send")
            and contacts.unreachable(person)
        ):
            raise self._refuse(name, audience, RECIPIENT_BLOCKED)
        origins = self._ledger.peek(audience, outgoing.texts)
        if origins is None:
            raise self._refuse(name, audience, "text not rendered from the catalog for this chat")
        if any(origin.marketing for origin in origins):
            if person is None:
                raise self._refuse(name, audience, "marketing goes to one consenting person at a time")
            if contacts is None or not _has_button(
                getattr(method, "reply_markup", None), contacts.unsubscribe_data
            ):
                raise self._refuse(name, audience, "marketing without an unsubscribe button")
        problem = self._content.problem(outgoing.texts, person, origins) if self._content else None
        if problem is not None:
            if self._alert is not None:
                self._alert(problem)
            raise self._refuse(name, audience, problem)
        self._ledger.redeem(audience, outgoing.texts)
        return Decision(name, audience, outgoing.texts, tuple(origins))

    async def _check_consent(self, decision: Decision) -> None:
        """Marketing needs consent that is valid now, not when it was rendered or queued. (The rendering
        is spent by then: a marketing text refused for consent must not be retried anyway.)"""
        if decision.marketing and not await self._may_market(decision.audience):
            raise self._refuse(decision.method, decision.audience, NO_MARKETING_CONSENT)

    async def _may_market(self, audience: Audience) -> bool:
        """(`check` lets marketing through only with a policy and a single person as recipient.)"""
        contacts = self._contacts
        return contacts is not None and isinstance(audience, int) and await contacts.may_market(audience)

    async def _mark_unreachable(self, audience: Audience) -> None:
        if self._contacts is not None and isinstance(audience, int) and audience > 0:
            await self._contacts.forbidden(audience)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            decision = self.check(bot, method)
            await self._check_consent(decision)
        except GateRefused as refusal:
            if self._recorder is not None:
                await self._recorder.refused(method, refusal.chat_id, refusal.reason)
            raise
        if self._recorder is None:
            return await make_request(bot, method)
        call = await self._recorder.before(decision, method)
        if decision.marketing and not await self._may_market(decision.audience):
            # Withdrawn while the call was being recorded: it was logged as about to go, so its result is
            # logged as refused, and it does not go.
            withdrawn = self._refuse(decision.method, decision.audience, NO_MARKETING_CONSENT)
            if call is not None:
                await self._recorder.after(call, decision, None, withdrawn)
            raise withdrawn
        try:
            response = await make_request(bot, method)
        except BaseException as exc:
            if call is not None:
                await self._recorder.after(call, decision, None, exc)
            if isinstance(exc, TelegramForbiddenError):
                await self._mark_unreachable(decision.audience)
            raise
        if call is not None:
            # aiogram's chain passes the method's result through, whatever the annotation says.
            await self._recorder.after(call, decision, response, None)
        return response
