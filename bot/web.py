"""The built-in web server: health now, the Telegram webhook in webhook mode, secure forms later."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.delivery import UpdateFeeder, parse_update

log = logging.getLogger("guardbot.web")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 1 << 20


class GuardedWebhookHandler(SimpleRequestHandler):
    """aiogram's webhook handler (its constant-time secret check), made safe for Guardbot's delivery.

    Changes from the stock handler: a refused request is logged; a body that is not a valid update gets a
    400 instead of an exception; and accepted updates go to the tracked `UpdateFeeder`, so shutdown waits
    for them and duplicates are claimed once like polled ones.
    """

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret: str, feeder: UpdateFeeder) -> None:
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret)
        self._feeder = feeder

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            log.warning("webhook.unauthorized", extra={"remote": request.remote})
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        update = parse_update(self.bot, payload) if isinstance(payload, dict) else None
        if update is None:
            log.warning("webhook.malformed", extra={"remote": request.remote})
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        await self._feeder.feed(update)
        return web.json_response({"ok": True})

    __call__ = handle


def create_web_app(
    health: Callable[[], Awaitable[dict[str, Any]]],
    webhook: tuple[str, GuardedWebhookHandler] | None = None,
) -> web.Application:
    """`health` reports readiness; `webhook` is (path, handler) in webhook mode."""
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)

    async def healthz(_request: web.Request) -> web.Response:
        try:
            report = await health()
        except Exception as exc:
            log.error("health.failed", exc_info=exc)
            return web.json_response({"status": "failing"}, status=503)
        return web.json_response({"status": "ok", **report})

    app.router.add_get("/healthz", healthz)
    if webhook is not None:
        path, handler = webhook
        app.router.add_post(path, handler.handle)
    return app
