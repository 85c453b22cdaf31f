"""Running Guardbot: polling or webhook, the web server beside it, and a clean shutdown.

Shutdown order matters for "nothing lost": stop taking updates, let the ones in flight finish (they may
still need to send), then close the Bot API session and the database. Each step runs even if one before it
failed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

from aiogram.exceptions import TelegramUnauthorizedError
from aiohttp import web

from bot.app import Guardbot
from bot.delivery import Poller
from bot.errors import GuardbotError
from bot.forms import FormSite, derive_form_key
from bot.web import WebhookEndpoint, create_web_app
from config import ConfigError

log = logging.getLogger("guardbot.runner")

DRAIN_SECONDS = 25.0


class PollingStopped(GuardbotError):
    """The polling loop ended on its own; the process should exit so a supervisor restarts it."""


async def _check_token(app: Guardbot) -> None:
    try:
        await app.bot.get_me()
    except TelegramUnauthorizedError:
        raise ConfigError("BOT_TOKEN", "Telegram rejected the token (revoked or mistyped?)") from None
    except Exception as exc:  # noqa: BLE001 - network trouble at start: polling/webhook will keep trying
        log.warning("telegram.unreachable_at_start", extra={"error": type(exc).__name__})


async def _start_site(runner: web.AppRunner, host: str, port: int) -> web.TCPSite:
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        problem = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError("WEB_PORT", f"cannot listen on {host}:{port} ({problem})") from None
    return site


async def serve(app: Guardbot, stop: asyncio.Event, *, poll_timeout: int = 25) -> None:
    """Run until `stop` is set, then shut down cleanly (the caller closes the app)."""
    settings = app.settings
    webhook = None
    if settings.webhook_url and settings.webhook_secret:
        endpoint = WebhookEndpoint(app.bot, app.feeder, settings.webhook_secret.get_secret_value())
        webhook = (urlsplit(settings.webhook_url).path or "/", endpoint)
    poller_task: asyncio.Task[None] | None = None

    async def health() -> dict[str, Any]:
        await app.repository.ping()
        if poller_task is not None and poller_task.done():
            raise PollingStopped("polling stopped")
        return {"mode": "webhook" if webhook else "polling", "in_flight": app.feeder.in_flight}

    await _check_token(app)
    forms = FormSite(
        app.secure_links,
        app.catalog,
        bot_token=settings.bot_token.get_secret_value() if settings.bot_token else "",
        on_submitted=app.secure_messages.on_submitted,
        clock=app.clock,
        secret=derive_form_key(app.keys.data_key),
        https=settings.public_base_url.startswith("https://"),
        # Over https the link is a Mini App button: Telegram then vouches for who opened it, and the form
        # insists on that (a copied URL alone is not enough).
        require_mini_app=settings.public_base_url.startswith("https://"),
        must_not_echo=lambda value: bool(app.guard.must_not_stay(value)),
    )
    # No access log: a form URL carries its one-time token.
    runner = web.AppRunner(create_web_app(health, webhook, forms=forms), access_log=None)
    await runner.setup()
    retention_task = asyncio.create_task(app.retention.run(stop), name="retention")
    watch_task = asyncio.create_task(app.handoff_watch.run(app.bot, stop), name="handoff-watch")
    broadcast_task = asyncio.create_task(app.broadcast_engine.run(stop), name="broadcasts")
    try:
        site = await _start_site(runner, settings.web_host, settings.web_port)
        if runner.addresses:
            host, port = runner.addresses[0][:2]
            app.web_address = (str(host), int(port))
        log.info("web.started", extra={"address": str(runner.addresses[0]) if runner.addresses else "?"})
        try:
            await app.publish_commands()
        except Exception as exc:  # noqa: BLE001 - the menu is a convenience, never a reason not to start
            log.warning("commands.not_published", extra={"error": type(exc).__name__})
        allowed = app.dispatcher.resolve_used_update_types()
        if webhook is not None:
            await app.bot.set_webhook(
                settings.webhook_url or "",
                secret_token=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
                allowed_updates=allowed,
            )
        else:
            await app.bot.delete_webhook(drop_pending_updates=False)
            poller = Poller(app.bot, app.feeder, allowed, timeout=poll_timeout)
            poller_task = asyncio.create_task(poller.run(stop), name="poller")
        log.info("bot.started", extra={"mode": "webhook" if webhook else "polling"})
        poller_died = await _until_stopped(stop, poller_task)
        try:
            await site.stop()  # no new webhook deliveries; Telegram retries them after the restart
        finally:
            left = await app.feeder.drain(DRAIN_SECONDS)
            if left:
                log.warning("bot.drain_timeout", extra={"cancelled": left})
    finally:
        stop.set()
        await retention_task
        await watch_task
        await broadcast_task
        await runner.cleanup()
        log.info("bot.stopped")
    if poller_died:
        raise PollingStopped("polling stopped unexpectedly; exiting so a supervisor can restart the bot")


async def _until_stopped(stop: asyncio.Event, poller_task: asyncio.Task[None] | None) -> bool:
    """Wait for `stop`, or for the poller to end on its own (a failure); True if it was the latter."""
    stopping = asyncio.create_task(stop.wait())
    waiting: set[asyncio.Future[Any]] = {stopping}
    if poller_task is not None:
        waiting.add(poller_task)
    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    died = not stop.is_set()
    stop.set()
    stopping.cancel()
    log.info("bot.stopping")
    if poller_task is not None:
        try:
            await poller_task
        except Exception as exc:
            log.error("polling.died", exc_info=exc)
            died = True
    return died


async def run_until_signalled(app: Guardbot) -> None:
    """`serve` until SIGTERM or SIGINT, then close everything."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve(app, stop)
    finally:
        await app.close()
