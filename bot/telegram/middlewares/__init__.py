"""The guardrails every update passes, in one place and one order."""

from __future__ import annotations

from aiogram import Dispatcher

from bot.clock import Clock
from bot.content import Renderer, RenderLedger
from bot.services import CustomerDirectory, RoleBook
from bot.storage import Repository
from bot.telegram.middlewares.claim import ClaimUpdate
from bot.telegram.middlewares.identity import Identify


def register_middlewares(
    dp: Dispatcher,
    *,
    repository: Repository,
    customers: CustomerDirectory,
    role_book: RoleBook,
    renderer: Renderer,
    ledger: RenderLedger,
    clock: Clock,
) -> None:
    """Register the update guardrails; the order is the design.

    1. ClaimUpdate — a redelivered update stops here, before anything is recorded or answered twice.
    2. Identify — drops what is not a person in a private chat; records the user; injects `roles` and the
       `recipient` every rendering is bound to.
    Later guardrails slot in as DESIGN.md orders them: audit-in between 1 and 2 (record before acting,
    even what Identify drops), consent and the sensitive-data guard after 2 (they need the recipient).
    (aiogram's own ErrorsMiddleware wraps all of these, so their failures reach the error handler.)
    """
    dp.update.outer_middleware(ClaimUpdate(repository, clock))
    dp.update.outer_middleware(Identify(customers, role_book, renderer, ledger))
