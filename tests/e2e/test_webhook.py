"""Webhook mode: Telegram (the emulator) delivers with the secret; anything else is refused with 401."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import Guardbot
from bot.emulator import BotApiEmulator
from tests.helpers import free_port, make_settings, onboard, running_bot

SECRET = "webhook-secret-for-tests-0123456789"


@pytest.fixture
async def webhook_bot(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[tuple[Guardbot, str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = make_settings(
        tmp_path / "data", emulator.base_url, web_port=port, webhook_url=url, webhook_secret=SECRET
    )
    async with running_bot(settings) as app:
        await emulator.wait_for(lambda: bool(emulator.calls_to("setWebhook")))
        yield app, url


def update(update_id: int, user_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "W"},
            "from": {"id": user_id, "is_bot": False, "first_name": "W"},
            "text": text,
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


async def test_updates_arrive_by_webhook(emulator: BotApiEmulator, webhook_bot: tuple[Guardbot, str]) -> None:
    params = emulator.calls_to("setWebhook")[-1].params
    assert params["secret_token"] == SECRET
    assert not emulator.calls_to("getUpdates")
    olga = emulator.user(5001, first_name="Olga")
    await onboard(olga)  # a message and a button press, both delivered by webhook
    reply = olga.last_bot_message
    assert reply is not None and reply.text is not None and reply.text.startswith("Hello, Olga!")
    assert not emulator.calls_to("getUpdates")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-0000000"},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]},
        {"X-Telegram-Bot-Api-Secret-Token": "sécret-non-ascii-000000"},
    ],
)
async def test_wrong_or_missing_secret_gets_401_and_no_update(
    emulator: BotApiEmulator,
    webhook_bot: tuple[Guardbot, str],
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, url = webhook_bot
    emulator.user(5002, first_name="Pat")  # the chat exists, so a reply could be sent
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=update(9001, 5002, "/start"), headers=headers) as response:
            assert response.status == 401
    assert "webhook.unauthorized" in caplog.text
    assert await app.repository.claim_update(app.bot.id, 9001, 0)  # unclaimed: it never reached the bot
    assert not [c for c in emulator.calls_to("sendMessage") if c.params.get("chat_id") == 5002]


async def test_duplicate_and_malformed_deliveries(
    emulator: BotApiEmulator, webhook_bot: tuple[Guardbot, str]
) -> None:
    _app, url = webhook_bot
    quinn = emulator.user(5003, first_name="Quinn")
    await onboard(quinn)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http:
        for _ in range(2):  # Telegram retrying a delivery
            async with http.post(url, json=update(9100, 5003, "/start"), headers=headers) as response:
                assert response.status == 200
        # Authenticated garbage is logged and skipped (200), or Telegram would retry it forever.
        async with http.post(url, data=b"{not json", headers=headers) as response:
            assert response.status == 200
            assert (await response.json())["ok"] is False
        async with http.post(url, json={"update_id": "x", "message": 5}, headers=headers) as response:
            assert response.status == 200
            assert (await response.json())["ok"] is False
        async with http.post(url, json=update(9101, 5003, "/help"), headers=headers) as response:
            assert response.status == 200
    await quinn.wait_for_bot_message(lambda m: m.text is not None and m.text.startswith("Here is"))
    greetings = [m for m in quinn.bot_messages if m.text and m.text.startswith("Hello")]
    assert len(greetings) == 2  # onboarding's, and 9100 once


async def test_health_endpoint(webhook_bot: tuple[Guardbot, str]) -> None:
    _app, url = webhook_bot
    async with aiohttp.ClientSession() as http:
        async with http.get(url.replace("/telegram/webhook", "/healthz")) as response:
            assert response.status == 200
            body = await response.json()
    assert body["status"] == "ok"
    assert body["mode"] == "webhook"
