"""Compliance commands: `/audit` verifies the audit log and reports. The whole router needs `compliance`."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.audit.auditor import Auditor
from bot.audit.trail import AuditTrail
from bot.content import Recipient, Renderer
from bot.telegram.filters import HasRole
from flows.roles import Role

log = logging.getLogger("guardbot.audit")


async def report_audit(
    message: Message, auditor: Auditor, audit: AuditTrail, renderer: Renderer, recipient: Recipient
) -> None:
    assert message.from_user is not None
    await audit.record("audit.requested", actor=message.from_user.id)
    try:
        report = await auditor.verify()
    except Exception as exc:  # an unreadable key file, a locked database: say so, never crash
        log.error("audit.verify_failed", exc_info=exc)
        await message.answer(renderer.text("audit.unverifiable", recipient, entries=audit.log.size))
        return
    if report.ok and report.anchored_size is None:
        text = renderer.text(
            "audit.intact_unanchored",
            recipient,
            entries=report.entries,
            checkpoint=report.latest_checkpoint or 0,
        )
    elif report.ok:
        text = renderer.text(
            "audit.intact",
            recipient,
            entries=report.entries,
            checkpoint=report.latest_checkpoint or 0,
            unanchored=report.unanchored,
        )
    else:
        log.error("audit.not_intact", extra={"first_bad": report.first_bad, "reason": report.reason})
        first_bad = report.first_bad if report.first_bad is not None else report.entries
        text = renderer.text("audit.broken", recipient, entries=report.entries, first_bad=first_bad)
    await message.answer(text)


def create_router() -> Router:
    router = Router(name="compliance")
    router.message.filter(HasRole(Role.COMPLIANCE))
    router.message.register(report_audit, Command("audit"))
    return router
