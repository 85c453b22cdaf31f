"""The conversations and policies as plain Python: nothing here knows about Telegram.

Each module decides *what* should happen (which answer fits, who may do what); `bot.telegram` turns those
decisions into messages. That keeps the rules easy to test and usable from another messenger later.
"""
