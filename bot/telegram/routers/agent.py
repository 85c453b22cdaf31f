"""Agent commands. `/secure FORM USER_ID` sends a customer a one-time secure link (the handoff of #7 will
let an agent leave out USER_ID for the customer of their current ticket). The whole router needs `agent`."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.content import Recipient, Renderer
from bot.services import ConsentBook, CustomerDirectory
from bot.telegram.filters import HasRole
from bot.telegram.secure import SecureLinkMessages
from flows.roles import Role


async def send_secure_link(
    message: Message,
    command: CommandObject,
    bot: Bot,
    secure_messages: SecureLinkMessages,
    consent_book: ConsentBook,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    forms = sorted(renderer.catalog.forms)
    parts = (command.args or "").split()
    if (
        len(parts) != 2
        or parts[0] not in renderer.catalog.forms
        or not (parts[1].isascii() and parts[1].isdigit())
    ):
        await message.answer(renderer.text("secure.usage", recipient, forms=forms))
        return
    form_id, user_id = parts[0], int(parts[1])
    if not await consent_book.may_chat(user_id) or customers.unreachable(user_id):
        await message.answer(renderer.text("secure.not_customer", recipient, user_id=user_id))
        return
    profile = await customers.profile(user_id)
    to = renderer.recipient(user_id, profile.language_code if profile else None)
    await secure_messages.send(bot, to, user_id, form_id, issued_by=message.from_user.id)
    await message.answer(renderer.text("secure.sent", recipient, user_id=user_id, form=form_id))


def create_router() -> Router:
    router = Router(name="agent")
    router.message.filter(HasRole(Role.AGENT))
    router.message.register(send_secure_link, Command("secure"))
    return router
