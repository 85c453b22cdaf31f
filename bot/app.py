"""The composition root: the whole Guardbot assembled on one screen.

Everything is built here and passed explicitly — services reach handlers through aiogram's workflow data
(by parameter name), never through imports of settings or module globals.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.methods.base import Response
from aiogram.types import BotCommand, Message, User

from bot import __version__
from bot.audit.anchors import ChatAnchor, FileAnchor
from bot.audit.auditor import Auditor, AuditPaths
from bot.audit.trail import AuditTrail, SubjectKeys
from bot.audit.writer import AuditLog
from bot.clock import Clock, SystemClock
from bot.content import Catalog, Recipient, Renderer, RenderLedger, load_catalog
from bot.delivery import UpdateFeeder
from bot.errors import CatalogError
from bot.gate import FloodControl, OutboundGate
from bot.gate.pacing import Pacer
from bot.gate.policy import ContentPolicy
from bot.gate.recording import AuditedCalls
from bot.gate.retry import FloodPause
from bot.keys import Keys, load_keys
from bot.services import ConsentBook, ContactRules, CustomerDirectory, PrivacyDesk, RoleBook
from bot.services.broadcasts import BroadcastDesk, Limits
from bot.services.offers import OfferBook, derive_code_key
from bot.services.retention import Retention
from bot.services.reviews import ReplyReviews
from bot.services.secure_links import SecureLinks
from bot.services.sensitive import SensitiveGuard
from bot.services.tickets import TicketDesk
from bot.storage import Repository, SqliteRepository, open_database
from bot.storage.audit import AuditStore
from bot.storage.keyring import KeyringStore
from bot.telegram.broadcasting import BroadcastEngine, Sent
from bot.telegram.callbacks import Unsubscribe
from bot.telegram.handoff_watch import HandoffWatch
from bot.telegram.middlewares import register_middlewares
from bot.telegram.notify import ComplianceAlerts
from bot.telegram.routers import create_routers
from bot.telegram.secure import SecureLinkMessages
from bot.telegram.transport import JsonSession, WorkerSession
from config import ConfigError, Settings
from flows.broadcasts import FREE_BROADCAST_RATE, QuietHours
from flows.faq import FaqIndex
from flows.sensitive import Detector, Kind

log = logging.getLogger("guardbot.app")

SHELL_TOKEN = "123456:GUARDBOT-LOCAL-SHELL-TOKEN-0000"  # noqa: S105 - not a secret
"""A syntactically valid token for runs against the emulator, which never sees a real one."""


@dataclass
class Guardbot:
    settings: Settings
    clock: Clock
    keys: Keys
    catalog: Catalog
    repository: Repository
    audit: AuditTrail
    ledger: RenderLedger
    renderer: Renderer
    gate: OutboundGate
    role_book: RoleBook
    customers: CustomerDirectory
    consent: ConsentBook
    privacy: PrivacyDesk
    offers: OfferBook
    secure_links: SecureLinks
    secure_messages: SecureLinkMessages
    tickets: TicketDesk
    broadcasts: BroadcastDesk
    broadcast_engine: BroadcastEngine
    handoff_watch: HandoffWatch
    guard: SensitiveGuard
    alerts: ComplianceAlerts
    retention: Retention
    faq: FaqIndex
    bot: Bot
    broadcast_bot: Bot
    """The same bot through a session of its own with the broadcast pacer (see `create_bot`)."""
    dispatcher: Dispatcher
    closers: contextlib.AsyncExitStack
    feeder: UpdateFeeder = field(init=False)
    web_address: tuple[str, int] | None = field(default=None, init=False)
    """Where the built-in web server listens once serving (WEB_PORT=0 picks a free port)."""
    response_models: tuple[type[Any], ...] = field(init=False)

    def __post_init__(self) -> None:
        self.feeder = UpdateFeeder(
            self.dispatcher,
            self.bot,
            self.repository,
            self.audit,
            self.clock,
            keeps_content=self.keeps_content,
        )
        self.response_models = pin_response_models()

    async def keeps_content(self, user_id: int) -> bool:
        """What a person writes is kept only once they accepted the notice (staff: always)."""
        return bool(self.role_book.roles_of(user_id)) or await self.consent.may_chat(user_id)

    async def publish_commands(self) -> None:
        """Show the customer commands in Telegram's menu, in every catalog locale."""
        default = self.catalog.default_locale
        for locale in [default, *sorted(self.catalog.locales - {default})]:  # the default menu first
            everyone = Recipient(None, locale)
            commands = [
                BotCommand(command=name, description=self.renderer.text(f"command.{name}", everyone))
                for name in (
                    "start",
                    "help",
                    "agent",
                    "offers",
                    "verify",
                    "privacy",
                    "stop",
                    "mydata",
                    "forget",
                )
            ]
            language = None if locale == self.catalog.default_locale else locale
            await self.bot.set_my_commands(commands, language_code=language)

    async def close(self) -> None:
        """Log the stop, sign a final checkpoint, close the session and every database."""
        try:
            await self.alerts.drain()
            await self.audit.record("log.stopped")
        finally:
            try:
                await self.bot.session.close()
            finally:
                await self.closers.aclose()  # the audit log first (final checkpoint), then the stores


def pin_response_models() -> tuple[type[Any], ...]:
    """Keep aiogram's `Response[X]` models alive for the life of the process.

    aiogram parametrises `Response[...]` on every call; pydantic caches the generated class only weakly, so
    a garbage collection drops it and the next call rebuilds its schema (~6 ms). Measured in-process: 30
    rebuilds per 500 replies, the largest single cost on the reply path, gone with these references.
    """
    return (
        Response[Message],
        Response[Sent],
        Response[bool],
        Response[User],
        Response[list[dict[str, Any]]],
    )


def create_bot(
    settings: Settings, gate: OutboundGate, clock: Clock, pause: FloodPause, pacer: Pacer | None = None
) -> Bot:
    """The aiogram Bot, with every call passing the gate first, then flood control (one pause for the
    whole bot). The broadcast engine's bot also has the pacer, innermost, and retries nothing itself: a
    429 or a server error goes back to the engine, which re-queues the recipient, so that after the pause
    their consent (and the broadcast's cancellation) is judged again before anything is sent."""
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN", "required to run the bot (or use `guardbot shell`)")
    api = (
        TelegramAPIServer.from_base(settings.telegram_api_base) if settings.telegram_api_base else PRODUCTION
    )
    session: JsonSession
    if pacer is None:
        session = JsonSession(api=api)
        session.middleware(gate)
        session.middleware(FloodControl(clock, pause=pause))
    else:  # a broadcast send that fails goes back to the engine, which judges the recipient again
        session = WorkerSession(api=api)  # its HTTP off the bot's busy thread
        session.middleware(gate)
        session.middleware(FloodControl(clock, max_attempts=1, pause=pause, retry_server_errors=False))
        session.middleware(session.worker_started)
        session.middleware(pacer)
    # No parse mode: texts go out as plain text, so a placeholder value can never inject markup.
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=None),
    )


def settings_fingerprint(settings: Settings) -> str:
    """A hash of the running configuration, secrets left out, logged at every start."""
    values = settings.model_dump(mode="json", exclude={"bot_token", "webhook_secret"})
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def pin_own_key(path: Path, verifier_key: str) -> None:
    """Keep this deployment's audit verifier keys (current and retired) where `audit verify` finds them."""
    known = path.read_text().split() if path.exists() else []
    if verifier_key not in known:
        with path.open("a") as handle:
            handle.write(verifier_key + "\n")


async def open_audit(
    settings: Settings,
    keys: Keys,
    clock: Clock,
    stack: contextlib.AsyncExitStack,
    redact: Callable[[str], str] | None = None,
) -> AuditTrail:
    """The audit log (its own database), the keyring (another), the writer, and its anchors."""
    store = await AuditStore.open(settings.audit_path, clock.now())
    stack.push_async_callback(store.close)
    keyring = await KeyringStore.open(settings.keyring_path, clock.now())
    stack.push_async_callback(keyring.close)
    anchors = [FileAnchor(settings.audit_anchor_file, clock)] if settings.audit_anchor_file else []
    audit_log = AuditLog(store, keys.signing_key, clock, anchors=anchors)
    await audit_log.start()
    stack.push_async_callback(audit_log.close)
    pin_own_key(settings.trusted_keys_path, audit_log.verifier.encode())
    subjects = SubjectKeys(keyring, keys.data_key, audit_log, clock, staged_master=keys.staged_data_key)
    return AuditTrail(audit_log, subjects, redact=redact)


def sensitive_guard(settings: Settings) -> SensitiveGuard:
    """The detector with this deployment's published contacts, and the kinds that must not stay in chat."""
    try:
        detector = Detector(published=settings.published_contacts)
    except ValueError:
        raise ConfigError("PUBLISHED_CONTACTS", "each entry must be a phone number, email or IBAN") from None
    known = {kind.value: kind for kind in Kind}
    unknown = sorted(set(settings.sensitive_types) - known.keys())
    if unknown:
        raise ConfigError(
            "SENSITIVE_TYPES", f"unknown kind {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    return SensitiveGuard(detector, (known[name] for name in settings.sensitive_types))


def broadcast_limits(settings: Settings) -> Limits:
    return Limits(
        rate=settings.broadcast_rate,
        # Paying buys speed above the free limit; below it, it would only cost Stars.
        paid=settings.broadcast_paid and settings.broadcast_rate > FREE_BROADCAST_RATE,
        max_per_week=settings.marketing_max_per_week,
        quiet=QuietHours.parse(settings.quiet_hours),
        default_zone=settings.default_time_zone,
    )


def anchor_to_chat(app: Guardbot, chat_id: int) -> None:
    """Post checkpoints to the compliance chat (rendered from the catalog, through the gate, audited)."""

    async def post(note: str) -> None:
        to = Recipient(chat_id, app.catalog.default_locale)
        await app.bot.send_message(chat_id, app.renderer.text("audit.checkpoint", to, checkpoint=note))

    app.audit.log.add_anchor(ChatAnchor(post, app.clock))


async def create_guardbot(settings: Settings, clock: Clock | None = None) -> Guardbot:
    """Build and start-check everything: keys, catalog, databases (migrated), the audit log, roles."""
    clock = clock or SystemClock()
    if settings.bot_token is None:  # before creating any file: a typo should leave no trace
        raise ConfigError("BOT_TOKEN", "required to run the bot (or use `guardbot shell`)")
    keys = load_keys(settings)
    try:
        catalog = load_catalog(settings.content_path)
    except CatalogError as exc:
        raise ConfigError("CONTENT_PATH", str(exc)) from None
    async with contextlib.AsyncExitStack() as stack:
        repository: Repository = SqliteRepository(
            await open_database(settings.database_path, clock.now(), secure_delete=True)
        )
        stack.push_async_callback(repository.close)
        guard = sensitive_guard(settings)
        audit = await open_audit(settings, keys, clock, stack, redact=guard.redact)
        await audit.record(
            "log.started",
            data={
                "guardbot": __version__,
                "settings": settings_fingerprint(settings),
                "catalog": {"version": catalog.version, "digest": catalog.digest},
                "entries": catalog.entry_digests(),
            },
        )
        customers = CustomerDirectory(repository, clock, sealer=audit)
        await customers.load()
        role_book = RoleBook(repository, audit, clock)
        await role_book.load(settings.role_ids())
        consent = ConsentBook(repository, audit, clock, catalog.notice, settings.consent_max_age_days)
        offers = OfferBook(repository, audit, clock, catalog.offers, derive_code_key(keys.data_key))
        await offers.load()
        secure_links = SecureLinks(
            repository,
            audit,
            clock,
            catalog.forms,
            master_key=keys.data_key,
            staged_master_key=keys.staged_data_key,
            base_url=settings.public_base_url,
            ttl_minutes=settings.secure_link_minutes,
        )
        tickets = TicketDesk(repository, audit, clock)
        await tickets.load()
        privacy = PrivacyDesk(
            customers,
            consent,
            offers,
            audit,
            clock,
            settings.mydata_interval_minutes,
            forms=secure_links,
            broadcasts=repository,
        )
        ledger = RenderLedger(clock)
        renderer = Renderer(catalog, ledger)
        broadcasts = BroadcastDesk(
            repository,
            audit,
            clock,
            templates=dict(catalog.templates),
            offers=offers,
            consent=consent,
            customers=customers,
            roles=role_book,
            locale_of=renderer.locale_for,
            limits=broadcast_limits(settings),
        )
        alerts = ComplianceAlerts(role_book, clock)
        gate = OutboundGate(
            ledger,
            AuditedCalls(audit),
            contacts=ContactRules(customers, consent, Unsubscribe().pack()),
            content=ContentPolicy(offers, customers.identifiers, guard),
            alert=alerts,
        )
        faq = FaqIndex(
            {answer.id: answer.keywords for answer in catalog.answers.values()},
            catalog.default_locale,
            catalog.faq_threshold,
        )
        secure_messages = SecureLinkMessages(
            secure_links, renderer, mini_app=settings.public_base_url.startswith("https://")
        )
        pause = FloodPause()
        bot = create_bot(settings, gate, clock, pause)
        broadcast_bot = create_bot(settings, gate, clock, pause, Pacer(settings.broadcast_rate, pause))
        stack.push_async_callback(broadcast_bot.session.close)
        alerts.bind(bot, renderer)
        secure_messages.bind(bot, customers)
        closers = stack.pop_all()
    auditor = Auditor(
        audit.log, AuditPaths(settings.audit_path, settings.trusted_keys_path, settings.audit_anchor_file)
    )
    dispatcher = Dispatcher(
        clock=clock,
        renderer=renderer,
        role_book=role_book,
        customers=customers,
        consent_book=consent,
        privacy_desk=privacy,
        offer_book=offers,
        secure_messages=secure_messages,
        ticket_desk=tickets,
        broadcast_desk=broadcasts,
        guard=guard,
        free_text_mode=settings.agent_free_text,
        reply_reviews=ReplyReviews(repository, audit, clock),
        faq=faq,
        audit=audit,
        auditor=auditor,
    )
    register_middlewares(
        dispatcher,
        customers=customers,
        role_book=role_book,
        renderer=renderer,
        ledger=ledger,
        consent_book=consent,
        guard=guard,
        audit=audit,
        secure_messages=secure_messages,
    )
    dispatcher.include_routers(*create_routers())
    log.info("app.created", extra={"catalog_version": catalog.version, "audit_entries": audit.log.size})
    app = Guardbot(
        settings=settings,
        clock=clock,
        keys=keys,
        catalog=catalog,
        repository=repository,
        audit=audit,
        ledger=ledger,
        renderer=renderer,
        gate=gate,
        role_book=role_book,
        customers=customers,
        consent=consent,
        privacy=privacy,
        offers=offers,
        secure_links=secure_links,
        secure_messages=secure_messages,
        tickets=tickets,
        broadcasts=broadcasts,
        broadcast_engine=BroadcastEngine(
            broadcasts,
            repository,
            sender=broadcast_bot,
            notifier=bot,
            renderer=renderer,
            offers=offers,
            roles=role_book,
            clock=clock,
            pause=pause,
        ),
        guard=guard,
        alerts=alerts,
        handoff_watch=HandoffWatch(
            tickets,
            role_book,
            renderer,
            clock,
            escalate_minutes=settings.handoff_escalate_minutes,
            idle_minutes=settings.handoff_idle_minutes,
        ),
        retention=Retention(audit, clock, settings.retention_days, secure_links),
        faq=faq,
        bot=bot,
        broadcast_bot=broadcast_bot,
        dispatcher=dispatcher,
        closers=closers,
    )
    if settings.audit_anchor_chat_id is not None:
        anchor_to_chat(app, settings.audit_anchor_chat_id)
    return app
