"""Webhook delivery: while a webhook is set, pending updates are POSTed to it one at a time, in
order, and each stays pending until the receiver answers 2xx; failures are retried with a
doubling backoff, as Telegram does (with shorter delays, so tests stay fast).
"""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp

from bot.emulator.api import ApiCore
from bot.emulator.bodies import parse_webhook_reply
from bot.emulator.models import WebhookDelivery
from bot.emulator.state import EmulatorState, WebhookConfig
from bot.emulator.updates import PendingUpdate

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


class WebhookDeliverer:
    def __init__(
        self,
        core: ApiCore,
        *,
        retry_initial: float,
        retry_max: float,
        timeout: float,
    ) -> None:
        self._core = core
        self._state: EmulatorState = core.state
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._timeout = timeout
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bot-api-emulator-webhook")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise

    async def _run(self) -> None:
        state = self._state

        def work_ready() -> bool:
            return state.closing or (state.webhook is not None and len(state.updates) > 0)

        backoff = self._retry_initial
        async with aiohttp.ClientSession() as session:
            while True:
                await state.changed.wait_until(work_ready, None)
                hook, update = state.webhook, state.updates.first()
                if state.closing:
                    return
                if hook is None or update is None:
                    continue
                if await self._deliver(session, hook, update):
                    backoff = self._retry_initial
                    continue
                await self._pause(hook, backoff)
                backoff = min(backoff * 2, self._retry_max)
                if state.webhook is not hook:
                    backoff = self._retry_initial

    async def _pause(self, hook: WebhookConfig, delay: float) -> None:
        """Sleep before a retry, waking early if the webhook changes or the emulator stops."""
        state = self._state
        await state.changed.wait_until(lambda: state.closing or state.webhook is not hook, delay)

    async def _deliver(
        self, session: aiohttp.ClientSession, hook: WebhookConfig, update: PendingUpdate
    ) -> bool:
        """POST one update; True when the receiver accepted it (2xx)."""
        state = self._state
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        try:
            async with session.post(
                hook.url,
                data=json.dumps(update.payload),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as response:
                status = response.status
                reason = response.reason or ""
                body = await response.read()
                content_type = response.headers.get("Content-Type", "")
        except (aiohttp.ClientError, TimeoutError) as error:
            message = f"Connection failed: {type(error).__name__}: {error}"
            self._note(hook, update, None, message)
            return False
        if not 200 <= status < 300:
            self._note(hook, update, status, f"Wrong response from the webhook: {status} {reason}")
            return False
        self._note(hook, update, status, None)
        state.updates.remove(update.update_id)
        state.touch()
        await self._run_reply(body, content_type)
        return True

    def _note(
        self, hook: WebhookConfig, update: PendingUpdate, status: int | None, error: str | None
    ) -> None:
        state = self._state
        if error is not None:
            hook.last_error_date = state.now()
            hook.last_error_message = error
        state.webhook_deliveries.append(
            WebhookDelivery(update.update_id, hook.url, status, error, state.clock())
        )
        state.touch()

    async def _run_reply(self, body: bytes, content_type: str) -> None:
        """Execute a method the bot returned in its webhook response, as Telegram does."""
        params = parse_webhook_reply(body, content_type)
        if params is None:
            return
        method = str(params.pop("method"))
        await self._core.call(None, method, params)
