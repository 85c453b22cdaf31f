"""Webhook mode: delivery to a real HTTP receiver, the secret header, retries until 2xx, the
getUpdates conflict, and method calls returned in the webhook response."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiohttp import web

from bot.emulator import BotApiEmulator


@dataclass
class Receiver:
    """A tiny webhook endpoint: answers with the queued statuses (then 200) and keeps requests."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    reply: dict[str, Any] | None = None
    received: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200 and self.reply is not None:
            return web.json_response(self.reply)
        return web.json_response({}, status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    target.url = f"http://127.0.0.1:{port}/hook"
    yield target
    await runner.cleanup()


async def test_updates_are_delivered_with_the_secret_and_retried_until_accepted(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    await bot.set_webhook(receiver.url, secret_token="s3cret-Token_1")
    emu.user(1001).send("hello")

    await emu.wait_for(lambda: emu.pending_updates == 0)

    assert [delivery.status for delivery in emu.webhook_deliveries] == [500, 200]
    first, retried = (payload["update_id"] for payload, _ in receiver.received)
    assert first == retried
    assert {secret for _, secret in receiver.received} == {"s3cret-Token_1"}
    assert receiver.received[0][0]["message"]["text"] == "hello"
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_get_updates_conflicts_while_a_webhook_is_set(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(receiver.url)
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook"):
        await bot.get_updates()

    await bot.delete_webhook()
    emu.user(1001).send("kept for polling")
    updates = await bot.get_updates()

    assert [u.message.text for u in updates if u.message] == ["kept for polling"]
    assert receiver.received == []


async def test_unreachable_webhook_keeps_updates_pending(emu: BotApiEmulator, bot: Bot) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
    emu.user(1001).send("nobody home")

    await emu.wait_for(lambda: len(emu.webhook_deliveries) >= 3)

    assert all(d.status is None and d.error for d in emu.webhook_deliveries)
    assert emu.pending_updates == 1
    await bot.delete_webhook(drop_pending_updates=True)
    assert emu.pending_updates == 0


async def test_a_method_in_the_webhook_response_is_executed(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    receiver.reply = {"method": "sendMessage", "chat_id": 1001, "text": "answered inline"}
    await bot.set_webhook(receiver.url)
    alice = emu.user(1001)
    alice.send("hi")

    message = await alice.wait_for_bot_message()

    assert message.text == "answered inline"
    assert emu.calls_to("sendMessage")[-1].ok


async def test_set_webhook_can_drop_pending_updates(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    emu.user(1001).send("old")
    await bot.set_webhook(receiver.url, drop_pending_updates=True)
    emu.user(1001).send("new")

    await emu.wait_for(lambda: emu.pending_updates == 0)

    assert [payload["message"]["text"] for payload, _ in receiver.received] == ["new"]
