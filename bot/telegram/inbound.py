"""What an inbound update puts in the audit log: its kind and ids in the clear, its words encrypted.

Recorded before the update is claimed or acted on (invariant 2). The sender's text and button data go into
the encrypted content, with detected sensitive values replaced by their type (`AuditTrail.redact`); the
entry itself holds only the kind of update and Telegram's ids, never a Telegram user id (the subject is the
sender's pseudonym).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.types import CallbackQuery, Message, Update

from bot.audit.trail import AuditTrail


def _kind(update: Update) -> str:
    try:
        return update.event_type
    except Exception:  # noqa: BLE001 - an update type newer than this aiogram
        return "unknown"


def _message_content(message: Message, trail: AuditTrail) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if message.text:
        content["text"] = trail.redact(message.text)
    if message.caption:
        content["caption"] = trail.redact(message.caption)
    if message.content_type != "text":
        content["content_type"] = str(message.content_type)
    return content


KeepsContent = Callable[[int], Awaitable[bool]]
"""Whether what a user writes may be kept: not before they accepted the privacy notice (invariant 4)."""


async def record_inbound(trail: AuditTrail, update: Update, keeps_content: KeepsContent | None = None) -> int:
    """Append the `in.update` entry for `update`; returns its seq. The words of someone who has not
    accepted the privacy notice are not kept: the entry then says only that content was withheld."""
    kind = _kind(update)
    data: dict[str, Any] = {"kind": kind, "update_id": update.update_id}
    content: dict[str, Any] | None = None
    event = update.event if kind != "unknown" else None
    if isinstance(event, Message):
        data["message_id"] = event.message_id
        data["chat_type"] = event.chat.type
        content = _message_content(event, trail)
    elif isinstance(event, CallbackQuery):
        if isinstance(event.message, Message):
            data["message_id"] = event.message.message_id
        content = {"callback_data": trail.redact(event.data or "")}
    user = UserContextMiddleware.resolve_event_context(update).user
    if user is None or user.is_bot:
        return await trail.record("in.update", actor="system", data=data)
    if content is not None and keeps_content is not None and not await keeps_content(user.id):
        content = None
        data["content"] = "withheld: no consent"
    return await trail.record("in.update", actor=user.id, about=user.id, data=data, content=content)


async def record_malformed(trail: AuditTrail, update_id: object) -> int:
    """A delivery that is not a valid update: recorded by id only (its content may be anything)."""
    data = {"kind": "malformed", "update_id": update_id if isinstance(update_id, int) else None}
    return await trail.record("in.update", actor="system", data=data)
