from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Guardbot
from bot.emulator import BotApiEmulator
from config import Settings
from tests.helpers import TEST_TOKEN, make_settings, running_bot


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not see the developer's settings (a DATA_DIR or WEBHOOK_URL in the shell, say)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator(token=TEST_TOKEN)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
def settings(tmp_path: Path, emulator: BotApiEmulator) -> Settings:
    return make_settings(tmp_path / "data", emulator.base_url)


@pytest.fixture
async def guardbot(settings: Settings) -> AsyncIterator[Guardbot]:
    async with running_bot(settings) as app:
        yield app
