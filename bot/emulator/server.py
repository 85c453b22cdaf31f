"""The HTTP face of the emulator: Telegram's URL layout and JSON envelopes over aiohttp.

Routing is done by hand from one catch-all route so that any path answers the way Telegram's
server would (a JSON error), never with aiohttp's HTML error pages.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.emulator.api import ApiCore
from bot.emulator.bodies import read_request
from bot.emulator.errors import ApiError

_API_PATH = re.compile(r"/bot([^/]+)/([^/]*)")
# Telegram accepts uploads up to 50 MB; leave room for the multipart framing.
_MAX_BODY = 51 * 1024 * 1024
# Long polls are released on stop, so in-flight requests finish almost at once.
_SHUTDOWN_TIMEOUT = 1.0


def _not_found() -> web.Response:
    return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)


class EmulatorServer:
    def __init__(self, core: ApiCore) -> None:
        self._core = core
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

    async def start(self, host: str, port: int) -> str:
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.base_url = f"http://{_url_host(host)}:{_bound_port(runner, port)}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        match = _API_PATH.fullmatch(request.path)
        if match is None:
            # Includes /file/bot<token>/<path>: the emulator serves no file downloads.
            return _not_found()
        token, method = match.groups()
        body_error: ApiError | None = None
        params: dict[str, Any] = {}
        try:
            params = await read_request(request)
        except ApiError as error:
            body_error = error
        status, body = await self._core.call(token, method, params, body_error=body_error)
        return web.json_response(body, status=status)


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    """The port actually bound (the OS picks one when 0 was requested)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # noqa: S104 - only naming the wildcard, not binding it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
