"""The bot's routers, created fresh for each dispatcher (a router can belong to only one)."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.routers import admin, compliance, customer, errors, fallback, refusals


def create_routers() -> list[Router]:
    """In the order updates try them: staff routers first (each guarded by its role), then polite
    refusals of staff commands used without the role, then the customer conversation, then the
    catch-all for unknown buttons. The error handler sees failures from all of them."""
    return [
        errors.create_router(),
        admin.create_router(),
        compliance.create_router(),
        refusals.create_router(),
        customer.create_router(),
        fallback.create_router(),
    ]
