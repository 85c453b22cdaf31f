"""The built-in web server: health, the Telegram webhook in webhook mode, and the secure form pages."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiohttp import web

from bot.delivery import UpdateFeeder, parse_update
from bot.forms import FormSite

log = logging.getLogger("guardbot.web")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 1 << 20


class WebhookEndpoint:
    """Receives Telegram's webhook deliveries.

    Not aiogram's `SimpleRequestHandler`, on purpose: it answers 200 before the update is recorded (a crash
    then loses it, as Telegram will not redeliver), and its `compare_digest` on `str` raises on a non-ASCII
    header (a 500 instead of a 401). Here the secret is compared as bytes in constant time, and the answer
    waits until the update is accepted (claimed): 200 then, 500 if it could not be recorded so that Telegram
    delivers it again. A body that is not an update is logged and answered 200: Telegram would otherwise
    retry it forever and hold up the queue behind it.
    """

    def __init__(self, bot: Bot, feeder: UpdateFeeder, secret: str) -> None:
        self._bot = bot
        self._feeder = feeder
        self._secret = secret.encode()

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook.unauthorized", extra={"remote": request.remote})
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        update = parse_update(self._bot, payload)
        try:
            if update is None:
                await self._feeder.reject(payload)
                return web.json_response({"ok": False, "error": "not a Telegram update; skipped"})
            await self._feeder.accept(update)
        except Exception as exc:
            log.error("webhook.accept_failed", exc_info=exc)
            return web.json_response({"ok": False, "error": "not recorded; retry"}, status=500)
        return web.json_response({"ok": True})


def create_web_app(
    health: Callable[[], Awaitable[dict[str, Any]]],
    webhook: tuple[str, WebhookEndpoint] | None = None,
    forms: FormSite | None = None,
) -> web.Application:
    """`health` reports readiness (raising = failing); `webhook` is (path, endpoint) in webhook mode;
    `forms` serves the secure form pages under /forms (its middleware touches nothing else)."""
    app = web.Application(
        client_max_size=MAX_UPDATE_BYTES, middlewares=[forms.middleware] if forms is not None else []
    )

    async def healthz(_request: web.Request) -> web.Response:
        try:
            report = await health()
        except Exception as exc:
            log.error("health.failed", exc_info=exc)
            return web.json_response({"status": "failing"}, status=503)
        return web.json_response({"status": "ok", **report})

    app.router.add_get("/healthz", healthz)
    if webhook is not None:
        path, endpoint = webhook
        app.router.add_post(path, endpoint.handle)
    if forms is not None:
        app.add_routes(forms.routes())
    return app
