"""How Bot API calls are written to the audit log: `out.call` before, `out.result` after, `gate.refused`.

The entry names the method, the approved entries the text was rendered from (key, hash, locale, catalog
version) and the recipient's pseudonym; the displayed text itself is encrypted under the recipient's key.
Read-only calls (getUpdates, getMe, …) show nothing to anyone and are not recorded.
"""

from __future__ import annotations

from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod

from bot.audit.trail import AuditTrail
from bot.content.ledger import Audience
from bot.gate.middleware import Decision, attempted_texts

READ_ONLY = frozenset(
    {"getUpdates", "getMe", "getWebhookInfo", "getChat", "getChatMember", "getFile", "getMyCommands"}
)


def _person(audience: Audience) -> int | None:
    """The recipient as a person (private chats have the user's positive id); groups and channels are not
    people with a content key of their own."""
    return audience if isinstance(audience, int) and audience > 0 else None


SECRET_ORIGINS = ("secure_link",)
"""Renderings that carry a secret (a secure link's token): logged as their kind, never their text."""


def shown_texts(decision: Decision) -> list[str]:
    """The call's displayed strings as the log keeps them: secrets replaced by a placeholder."""
    return [
        f"[{origin.key}]" if origin.key.startswith(SECRET_ORIGINS) else text
        for text, origin in zip(decision.texts, decision.origins, strict=False)
    ]


class AuditedCalls:
    def __init__(self, trail: AuditTrail) -> None:
        self._trail = trail

    async def before(self, decision: Decision, method: TelegramMethod[Any]) -> int | None:
        if decision.method in READ_ONLY:
            return None
        data: dict[str, Any] = {
            "method": decision.method,
            "renderings": [
                {"key": o.key, "digest": o.digest, "locale": o.locale, "version": o.catalog_version}
                for o in decision.origins
            ],
        }
        message_id = getattr(method, "message_id", None)
        if isinstance(message_id, int):
            data["message_id"] = message_id
        person = _person(decision.audience)
        if person is None and decision.audience is not None:
            data["chat"] = "group"
        content = {"texts": shown_texts(decision)} if decision.texts and person is not None else None
        return await self._trail.record("out.call", actor="bot", about=person, data=data, content=content)

    async def after(self, call: int, decision: Decision, result: object, error: BaseException | None) -> None:
        data: dict[str, Any] = {"call": call, "method": decision.method, "ok": error is None}
        message_id = getattr(result, "message_id", None)  # a Message, or a broadcast's slimmer answer
        if isinstance(message_id, int):
            data["message_id"] = message_id
        if error is not None:
            data["error"] = type(error).__name__
            if isinstance(error, TelegramAPIError):
                data["telegram"] = True
        await self._trail.record_after("out.result", actor="bot", about=_person(decision.audience), data=data)

    async def refused(self, method: TelegramMethod[Any], audience: Audience, reason: str) -> None:
        person = _person(audience)
        texts = attempted_texts(method)
        await self._trail.record(
            "gate.refused",
            actor="bot",
            about=person,
            data={"method": method.__api_method__, "reason": reason},
            content={"texts": list(texts)} if texts and person is not None else None,
        )
