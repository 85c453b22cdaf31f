"""The bot's routers, created fresh for each dispatcher (a router can belong to only one)."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.filters import IsStaff
from bot.telegram.routers import (
    admin,
    agent,
    broadcasts,
    compliance,
    customer,
    edits,
    errors,
    fallback,
    handoff,
    marketing,
    membership,
    onboarding,
    privacy,
    refusals,
)


def create_staff_router() -> Router:
    """Every staff router, each guarded by its role, under one gate that customers (nearly every update)
    fail at once, instead of being tried against each staff router's filters in turn."""
    staff = Router(name="staff")
    staff.message.filter(IsStaff())
    staff.callback_query.filter(IsStaff())
    staff.include_routers(
        admin.create_router(),
        compliance.create_router(),
        marketing.create_router(),
        broadcasts.create_router(),
        agent.create_router(),
    )
    return staff


def create_routers() -> list[Router]:
    """In the order updates try them: staff routers first, then polite refusals of staff commands used
    without the role, then the privacy rights (open to everyone), then the notice for whoever has not
    accepted it, then the customer conversation, then the catch-all for unknown buttons. The error
    handler sees failures from all of them."""
    return [
        errors.create_router(),
        membership.create_router(),
        edits.create_router(),
        create_staff_router(),
        refusals.create_router(),
        privacy.create_router(),
        onboarding.create_router(),
        handoff.create_router(),
        handoff.create_rating_router(),
        customer.create_router(),
        fallback.create_router(),
    ]
