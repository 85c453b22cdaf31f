"""Admin commands: `/roles` lists, grants and revokes staff roles. The whole router needs `admin`."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.content import Recipient, Renderer
from bot.services import RoleBook
from bot.services.tickets import TicketDesk
from bot.telegram.filters import HasRole
from flows.roles import Role, parse_role_change, refuses_self_lockout

MAX_LISTED = 100


async def manage_roles(
    message: Message,
    command: CommandObject,
    role_book: RoleBook,
    ticket_desk: TicketDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    if not command.args:
        grants = await role_book.grants()
        if not grants:
            await message.answer(renderer.text("roles.list_empty", recipient))
            return
        rows = [
            renderer.fragment("roles.list_row", recipient, user_id=g.user_id, role=g.role, source=g.source)
            for g in grants[:MAX_LISTED]
        ]
        if len(grants) > MAX_LISTED:
            rows.append(renderer.fragment("roles.list_more", recipient, count=len(grants) - MAX_LISTED))
        await message.answer(renderer.text("roles.list", recipient, grants=rows))
        return
    change = parse_role_change(command.args)
    if change is None:
        await message.answer(renderer.text("roles.usage", recipient, roles=[role.value for role in Role]))
        return
    if refuses_self_lockout(message.from_user.id, change):
        await message.answer(renderer.text("roles.self_revoke", recipient))
        return
    apply = role_book.grant if change.action == "grant" else role_book.revoke
    changed = await apply(change.user_id, change.role, actor=message.from_user.id)
    if changed and Role.AGENT not in role_book.roles_of(change.user_id):
        await ticket_desk.agent_left(change.user_id)  # whatever they held goes back to the queue
    key = (
        ("roles.granted" if change.action == "grant" else "roles.revoked") if changed else ("roles.unchanged")
    )
    await message.answer(renderer.text(key, recipient, user_id=change.user_id, role=change.role.value))


def create_router() -> Router:
    router = Router(name="admin")
    router.message.filter(HasRole(Role.ADMIN))
    router.message.register(manage_roles, Command("roles"))
    return router
