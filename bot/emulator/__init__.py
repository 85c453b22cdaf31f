"""A Telegram Bot API emulator: an aiohttp server on localhost that answers an unmodified aiogram
bot the way Telegram does, plus a Python API for tests (and the local shell) to play users,
inject faults and observe every call the bot made.

Module map: `server` (HTTP), `bodies` (request/reply bodies), `api` (call pipeline),
`methods`/`bot_methods`/`polling` (the Bot API methods), `state`/`updates`/`faults`/`models`
(what the emulated Telegram knows), `serialize` (Telegram JSON objects), `markup` and
`formatting` with its parsers `html_mode`/`markdown_mode`/`textbuild` (Telegram's content
rules), `notify` (change signal), `webhook` (delivery), `users` (EmulatedUser), `emulator`
(BotApiEmulator, the facade).

Typical use in a test::

    async with BotApiEmulator() as emu:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
        ...  # start the bot's dispatcher against `bot`
        alice = emu.user(1001, "Alice", language_code="en")
        alice.send("/start")
        welcome = await alice.wait_for_bot_message()
        alice.press(welcome.message_id, "Menu")
"""

from bot.emulator.emulator import BotApiEmulator
from bot.emulator.faults import Fault
from bot.emulator.models import ChatMessage, RecordedCall, StoredDocument, WebhookDelivery
from bot.emulator.users import EmulatedUser

__all__ = [
    "BotApiEmulator",
    "ChatMessage",
    "EmulatedUser",
    "Fault",
    "RecordedCall",
    "StoredDocument",
    "WebhookDelivery",
]
