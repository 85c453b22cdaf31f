"""Running Guardbot: polling or webhook, the web server beside it, and a clean shutdown.

Shutdown order matters for "nothing lost": stop taking updates, let the ones in flight finish (they may
still need to send), then close the Bot API session and the database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.app import Guardbot
from bot.delivery import Poller
from bot.web import GuardedWebhookHandler, create_web_app

log = logging.getLogger("guardbot.runner")

DRAIN_SECONDS = 25.0


async def serve(app: Guardbot, stop: asyncio.Event, *, poll_timeout: int = 25) -> None:
    """Run until `stop` is set, then shut down cleanly (the caller closes nothing)."""
    settings = app.settings
    webhook = None
    if settings.webhook_url and settings.webhook_secret:
        secret = settings.webhook_secret.get_secret_value()
        path = urlsplit(settings.webhook_url).path or "/"
        webhook = (path, GuardedWebhookHandler(app.dispatcher, app.bot, secret, app.feeder))

    async def health() -> dict[str, Any]:
        await app.repository.ping()
        return {"mode": "webhook" if webhook else "polling", "in_flight": app.feeder.in_flight}

    runner = web.AppRunner(create_web_app(health, webhook), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.web_host, settings.web_port)
    poller_task: asyncio.Task[None] | None = None
    try:
        await site.start()
        log.info("web.started", extra={"address": _bound_address(runner)})
        try:
            await app.publish_commands()
        except Exception as exc:  # noqa: BLE001 - the menu is a convenience, never a reason not to start
            log.warning("commands.not_published", extra={"error": type(exc).__name__})
        allowed = app.dispatcher.resolve_used_update_types()
        if webhook is not None:
            await app.bot.set_webhook(
                settings.webhook_url or "",
                secret_token=webhook[1].secret_token,
                allowed_updates=allowed,
            )
            log.info("bot.started", extra={"mode": "webhook"})
        else:
            await app.bot.delete_webhook(drop_pending_updates=False)
            poller = Poller(app.bot, app.feeder, allowed, timeout=poll_timeout)
            poller_task = asyncio.create_task(poller.run(stop), name="poller")
            log.info("bot.started", extra={"mode": "polling"})
        await stop.wait()
    finally:
        log.info("bot.stopping", extra={"in_flight": app.feeder.in_flight})
        if poller_task is not None:
            await poller_task
        await site.stop()  # no new webhook deliveries; Telegram will retry them after restart
        left = await app.feeder.drain(DRAIN_SECONDS)
        if left:
            log.warning("bot.drain_timeout", extra={"abandoned": left})
        await runner.cleanup()
        log.info("bot.stopped")


def _bound_address(runner: web.AppRunner) -> str:
    addresses = runner.addresses
    return str(addresses[0]) if addresses else "?"


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
