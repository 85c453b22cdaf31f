"""Staff commands used without the role: a polite refusal, logged (invariant 6).

This router sits after the staff routers; a staff command reaches it only when the staff router's role
filter did not let it through.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.audit.trail import AuditTrail
from bot.content import Recipient, Renderer
from bot.telegram.filters import IsCommand
from flows.roles import COMMAND_ROLES

log = logging.getLogger("guardbot.roles")


async def refuse_staff_command(
    message: Message, command: CommandObject, renderer: Renderer, recipient: Recipient, audit: AuditTrail
) -> None:
    # Who it was goes to the audit log (pseudonymised), not to the operational log.
    log.warning(
        "staff.refused", extra={"command": command.command, "needs": COMMAND_ROLES[command.command].value}
    )
    if message.from_user is not None:
        await audit.record(
            "staff.refused",
            actor=message.from_user.id,
            about=message.from_user.id,
            data={"command": command.command, "needs": COMMAND_ROLES[command.command].value},
        )
    await message.answer(renderer.text("staff.refused", recipient))


def create_router() -> Router:
    router = Router(name="refusals")
    router.message.filter(IsCommand())
    router.message.register(refuse_staff_command, Command(*COMMAND_ROLES))
    return router
