"""Who may be contacted, asked by the outbound gate at send time: reachability and marketing consent."""

from __future__ import annotations

from bot.services.consent import ConsentBook
from bot.services.customers import CustomerDirectory


class ContactRules:
    """The gate's `ContactPolicy`, from the customer directory and the consent ledger."""

    def __init__(self, customers: CustomerDirectory, consent: ConsentBook, unsubscribe_data: str) -> None:
        self._customers = customers
        self._consent = consent
        self.unsubscribe_data = unsubscribe_data

    def unreachable(self, chat_id: int) -> bool:
        return self._customers.unreachable(chat_id)

    async def may_market(self, chat_id: int) -> bool:
        return await self._consent.may_market(chat_id)

    async def forbidden(self, chat_id: int) -> None:
        await self._customers.blocked(chat_id)
