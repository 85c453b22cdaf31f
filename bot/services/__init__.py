"""Services: the business capabilities behind the Telegram adapter. None of them imports aiogram."""

from bot.services.customers import CustomerDirectory
from bot.services.roles import RoleBook

__all__ = ["CustomerDirectory", "RoleBook"]
