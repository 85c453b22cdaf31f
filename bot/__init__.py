"""Guardbot's runtime: the composition root, the Telegram adapter, services, storage and the web server.

What lives where: `bot.app` assembles everything; `bot.telegram` translates updates into flow calls;
`bot.gate` is the one way out to Telegram; `bot.content` renders approved texts; `bot.storage` is the only
place that speaks SQL; `bot.emulator` is a Bot API server for tests and the local shell.
"""

__version__ = "0.1.0"
