"""The guardrails every update passes, in one place and one order."""

from __future__ import annotations

from aiogram import Dispatcher

from bot.content import Renderer, RenderLedger
from bot.services import ConsentBook, CustomerDirectory, RoleBook
from bot.telegram.middlewares.identity import Identify


def register_middlewares(
    dp: Dispatcher,
    *,
    customers: CustomerDirectory,
    role_book: RoleBook,
    renderer: Renderer,
    ledger: RenderLedger,
    consent_book: ConsentBook,
) -> None:
    """Register the update guardrails; the order is the design.

    0. (Before the dispatcher) `UpdateFeeder.accept` claims each update once, so a redelivery never gets
       here, and hands one sender's updates over in order.
    1. Identify — drops what is not a person in a private chat; records the customer; injects `roles`,
       their `consent` state and the `recipient` every rendering is bound to. What a customer without
       consent may do is decided by the routers (the privacy router, then onboarding's catch-all).
    The sensitive-data guard slots in after Identify (it needs the recipient).
    aiogram's own ErrorsMiddleware wraps all of these, so their failures reach the error handler.
    """
    dp.update.outer_middleware(Identify(customers, role_book, renderer, ledger, consent_book))
