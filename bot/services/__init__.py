"""Services: the business capabilities behind the Telegram adapter. None of them imports aiogram."""

from bot.services.consent import ConsentBook
from bot.services.contact import ContactRules
from bot.services.customers import CustomerDirectory
from bot.services.privacy import PrivacyDesk
from bot.services.roles import RoleBook

__all__ = ["ConsentBook", "ContactRules", "CustomerDirectory", "PrivacyDesk", "RoleBook"]
