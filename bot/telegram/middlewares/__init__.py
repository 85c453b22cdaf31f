"""The guardrails every update passes, in one place and one order."""

from __future__ import annotations

from aiogram import Dispatcher

from bot.content import Renderer, RenderLedger
from bot.services import CustomerDirectory, RoleBook
from bot.telegram.middlewares.identity import Identify


def register_middlewares(
    dp: Dispatcher,
    *,
    customers: CustomerDirectory,
    role_book: RoleBook,
    renderer: Renderer,
    ledger: RenderLedger,
) -> None:
    """Register the update guardrails; the order is the design.

    0. (Before the dispatcher) `UpdateFeeder.accept` claims each update once, so a redelivery never gets
       here, and hands one sender's updates over in order.
    1. Identify — drops what is not a person in a private chat; records the customer; injects `roles` and
       the `recipient` every rendering is bound to.
    Later guardrails slot in as DESIGN.md orders them: audit-in first (record before acting, even what
    Identify drops), consent and the sensitive-data guard after Identify (they need the recipient).
    aiogram's own ErrorsMiddleware wraps all of these, so their failures reach the error handler.
    """
    dp.update.outer_middleware(Identify(customers, role_book, renderer, ledger))
