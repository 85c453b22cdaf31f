"""The guardrails every update passes, in one place and one order."""

from __future__ import annotations

from aiogram import Dispatcher

from bot.audit.trail import AuditTrail
from bot.content import Renderer, RenderLedger
from bot.services import ConsentBook, CustomerDirectory, RoleBook
from bot.services.sensitive import SensitiveGuard
from bot.telegram.middlewares.identity import Identify
from bot.telegram.middlewares.sensitive import RemoveSensitive
from bot.telegram.secure import SecureLinkMessages


def register_middlewares(
    dp: Dispatcher,
    *,
    customers: CustomerDirectory,
    role_book: RoleBook,
    renderer: Renderer,
    ledger: RenderLedger,
    consent_book: ConsentBook,
    guard: SensitiveGuard,
    audit: AuditTrail,
    secure_messages: SecureLinkMessages,
) -> None:
    """Register the update guardrails; the order is the design.

    0. (Before the dispatcher) `UpdateFeeder.accept` claims each update once, so a redelivery never gets
       here, and hands one sender's updates over in order.
    1. Identify — drops what is not a person in a private chat; records the customer; injects `roles`,
       their `consent` state and the `recipient` every rendering is bound to. What a customer without
       consent may do is decided by the routers (the privacy router, then onboarding's catch-all).
    2. RemoveSensitive — a message holding data that must not stay in chat is deleted, the person warned
       (and offered a secure form link); it goes no further. (Its words were masked before they were
       logged: the audit trail's redact hook is the same guard.)
    aiogram's own ErrorsMiddleware wraps all of these, so their failures reach the error handler.
    """
    dp.update.outer_middleware(Identify(customers, role_book, renderer, ledger, consent_book))
    dp.update.outer_middleware(RemoveSensitive(guard, audit, renderer, consent_book, secure_messages))
