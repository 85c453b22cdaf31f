"""Startup failures an operator can cause: each is one clear ConfigError, and leaves nothing behind."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from bot.app import create_guardbot
from bot.emulator import BotApiEmulator
from bot.runner import serve
from config import ConfigError
from tests.helpers import make_settings


async def test_missing_token_creates_no_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        await create_guardbot(make_settings(tmp_path / "data", bot_token=None))
    assert caught.value.variable == "BOT_TOKEN"
    assert not (tmp_path / "data").exists()


async def test_token_telegram_rejects(tmp_path: Path) -> None:
    async with BotApiEmulator(token="654321:ANOTHER-token-abcdefghijklmnopqrstuv") as emulator:
        app = await create_guardbot(make_settings(tmp_path / "data", emulator.base_url))
        try:
            with pytest.raises(ConfigError) as caught:
                await asyncio.wait_for(serve(app, asyncio.Event()), timeout=10)
        finally:
            await app.close()
    assert str(caught.value) == "BOT_TOKEN: Telegram rejected the token (revoked or mistyped?)"


async def test_web_port_in_use(tmp_path: Path, emulator: BotApiEmulator) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = await create_guardbot(make_settings(tmp_path / "data", emulator.base_url, web_port=port))
        try:
            with pytest.raises(ConfigError) as caught:
                await asyncio.wait_for(serve(app, asyncio.Event()), timeout=10)
        finally:
            await app.close()
    assert str(caught.value) == f"WEB_PORT: cannot listen on 127.0.0.1:{port} (address already in use)"
