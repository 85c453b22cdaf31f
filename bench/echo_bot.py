"""The baseline: a bare aiogram echo bot, polling the Bot API at TELEGRAM_API_BASE. No guardrails at all."""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_BASE"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    await bot.delete_webhook()
    await dp.start_polling(bot, polling_timeout=25)


if __name__ == "__main__":
    asyncio.run(main())
