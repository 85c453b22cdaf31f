"""Fixtures for the emulator's own tests: a started emulator, real aiogram Bots pointed at it,
and a raw aiohttp client for checking body formats and error envelopes.

Helpers are fixtures (not importable functions) so that no test module imports `conftest`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.emulator import BotApiEmulator

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(webhook_retry_initial=0.02, webhook_retry_max=0.1) as emulator:
        yield emulator


async def _close(bot: Bot) -> None:
    """Close the bot's HTTP session without aiogram's fixed 250 ms SSL grace sleep, which
    would otherwise dominate this suite's run time."""
    inner = getattr(bot.session, "_session", None)
    if inner is not None and not inner.closed:
        await inner.close()


@pytest.fixture
async def bot_factory(emu: BotApiEmulator) -> AsyncIterator[Callable[..., Bot]]:
    bots: list[Bot] = []

    def make(token: str = TOKEN, emulator: BotApiEmulator | None = None) -> Bot:
        base = (emulator or emu).base_url
        session = AiohttpSession(api=TelegramAPIServer.from_base(base))
        bots.append(Bot(token, session=session))
        return bots[-1]

    yield make
    for bot in bots:
        await _close(bot)


@pytest.fixture
def bot(bot_factory: Callable[..., Bot]) -> Bot:
    return bot_factory()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def url(emu: BotApiEmulator) -> Callable[..., str]:
    def build(method: str, token: str = TOKEN) -> str:
        return f"{emu.base_url}/bot{token}/{method}"

    return build
