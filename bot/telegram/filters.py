"""Router-level filters: staff routers are guarded as a whole, not handler by handler."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject

from flows.roles import Role


class HasRole(Filter):
    """Passes when the sender may act in `role` (roles are injected by the identity middleware)."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(self, event: TelegramObject, roles: frozenset[Role] = frozenset()) -> bool:
        return self.role in roles


class IsStaff(Filter):
    """Passes when the sender holds any staff role."""

    async def __call__(self, event: TelegramObject, roles: frozenset[Role] = frozenset()) -> bool:
        return bool(roles)


class IsCommand(Filter):
    """A message that starts with "/". Checked once for a router of command handlers, so that plain text
    (nearly every message) skips all their `Command` filters, which parse the text each time."""

    async def __call__(self, message: Message) -> bool:
        return (message.text or "").startswith("/")
