"""`guardbot shell`: chat with the real bot in a terminal, no Telegram account or network needed.

The real Guardbot (same composition root, same gate, a real SQLite database) runs against the built-in Bot
API emulator; the terminal plays the people on the other side. Lines starting with ":" are shell commands;
anything else is sent to the bot as the current persona.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot.app import SHELL_TOKEN, create_guardbot
from bot.emulator import BotApiEmulator, ChatMessage, EmulatedUser, RecordedCall
from bot.lock import hold_data_dir
from bot.logs import configure_logging
from bot.runner import serve
from config import Settings, load_settings


@dataclass(frozen=True)
class Persona:
    name: str
    user_id: int
    first_name: str
    role: str | None


PERSONAS = (
    Persona("alice", 10001, "Alice", None),
    Persona("bob", 10002, "Bob", None),
    Persona("agent", 20001, "Anna (agent)", "agent"),
    Persona("marketer", 30001, "Mark (marketing)", "marketing"),
    Persona("compliance", 40001, "Cleo (compliance)", "compliance"),
    Persona("admin", 50001, "Adam (admin)", "admin"),
)

HELP = """Shell commands:
  :as NAME     switch persona: {names}
  :N           press button N of the last message with buttons (e.g. :1)
  :who         who you are now
  :help        this help
  :quit        leave (or Ctrl-D)
Anything else is sent to the bot as the current persona (try /start, /help)."""

_SHOWN_METHODS = frozenset({"sendMessage", "editMessageText", "sendDocument", "answerCallbackQuery"})


class TerminalChat:
    """Prints what the bot shows each persona and turns typed lines into their actions."""

    def __init__(self, emulator: BotApiEmulator, out: TextIO) -> None:
        self._emulator = emulator
        self._out = out
        self._by_id = {p.user_id: p for p in PERSONAS}
        self._users = {
            p.name: emulator.user(p.user_id, first_name=p.first_name, language_code="en") for p in PERSONAS
        }
        self.current = PERSONAS[0]
        self._callback_owner: dict[str, Persona] = {}
        emulator.add_listener(self._show)

    @property
    def user(self) -> EmulatedUser:
        return self._users[self.current.name]

    def say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def _show(self, call: RecordedCall) -> None:
        if call.method not in _SHOWN_METHODS or not call.ok:
            return
        if call.method == "answerCallbackQuery":
            owner = self._callback_owner.get(str(call.params.get("callback_query_id")))
            if call.params.get("text") and owner:
                self.say(f"  ({owner.name} sees a notice) {call.params['text']}")
            return
        persona = self._by_id.get(int(call.params.get("chat_id", 0) or 0))
        if persona is None:
            return
        result = call.response.get("result")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        message = self._users[persona.name].message(message_id) if message_id else None
        if message is not None:
            self._print_message(persona, message, edited=call.method == "editMessageText")

    def _print_message(self, persona: Persona, message: ChatMessage, *, edited: bool) -> None:
        label = "bot (edited)" if edited else "bot"
        body = message.text or message.caption or ""
        if message.document is not None:
            body = f"[document {message.document.filename}, {message.document.size} bytes] {body}"
        lines = body.splitlines() or [""]
        self.say(f"[{label} → {persona.name}] {lines[0]}")
        for line in lines[1:]:
            self.say(f"    {line}")
        labels = [button.get("text", "") for button in message.inline_buttons]
        for number, text in enumerate(labels, start=1):
            self.say(f"    [{number}] {text}")

    def handle(self, line: str) -> bool:
        """Act on one typed line; False when the shell should end."""
        line = line.strip()
        if not line:
            return True
        if not line.startswith(":"):
            self.user.send(line)
            return True
        command, _, argument = line[1:].partition(" ")
        if command in ("quit", "q", "exit"):
            return False
        if command == "help":
            self.say(HELP.format(names=", ".join(p.name for p in PERSONAS)))
        elif command == "who":
            role = self.current.role or "customer"
            self.say(f"You are {self.current.name} ({role}, Telegram id {self.current.user_id}).")
        elif command == "as":
            self._switch(argument.strip())
        elif command.isdigit():
            self._press(int(command))
        else:
            self.say(f"Unknown shell command :{command}; type :help")
        return True

    def _switch(self, name: str) -> None:
        persona = next((p for p in PERSONAS if p.name == name), None)
        if persona is None:
            self.say(f"No persona {name!r}; choose one of {', '.join(p.name for p in PERSONAS)}")
            return
        self.current = persona
        self.say(f"You are now {persona.name} ({persona.role or 'customer'}).")

    def _press(self, number: int) -> None:
        with_buttons = [m for m in self.user.bot_messages if m.inline_buttons]
        if not with_buttons:
            self.say("There is no message with buttons to press.")
            return
        message = with_buttons[-1]
        if not 1 <= number <= len(message.inline_buttons):
            self.say(f"That message has buttons 1 to {len(message.inline_buttons)}.")
            return
        label = message.inline_buttons[number - 1].get("text", "")
        self.say(f"({self.current.name} presses “{label}”)")
        query_id = self.user.press(message.message_id, number - 1)
        self._callback_owner[query_id] = self.current


def _shell_settings(base: Settings, data_dir: Path, api_base: str) -> Settings:
    """The operator's settings where they make sense locally, with the emulator and persona roles."""
    roles = {
        f"{role}_ids": tuple(getattr(base, f"{role}_ids"))
        + tuple(p.user_id for p in PERSONAS if p.role == role)
        for role in ("admin", "agent", "marketing", "compliance")
    }
    return base.model_copy(
        update={
            "bot_token": SecretStr(SHELL_TOKEN),
            "telegram_api_base": api_base,
            "data_dir": data_dir,
            "database_url": None,
            "signing_key_path": None,
            "data_key_path": None,
            "webhook_url": None,
            "webhook_secret": None,
            "audit_anchor_file": None,
            "audit_anchor_chat_id": None,
            "web_port": 0,
            **roles,
        }
    )


def _read_lines_in_background(queue: asyncio.Queue[str | None]) -> None:
    """Feed stdin lines into `queue` from a daemon thread (None at end of input).

    A daemon thread, not the loop's executor: a blocked `readline` must not keep the process alive after
    `:quit`.
    """
    loop = asyncio.get_running_loop()

    def read() -> None:
        for line in iter(sys.stdin.readline, ""):
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="shell-stdin", daemon=True).start()


async def _shell(base: Settings, data_dir: Path, out: TextIO) -> None:
    async with BotApiEmulator(token=SHELL_TOKEN) as emulator:
        app = await create_guardbot(_shell_settings(base, data_dir, emulator.base_url))
        chat = TerminalChat(emulator, out)
        stop = asyncio.Event()
        server = asyncio.create_task(serve(app, stop, poll_timeout=10))
        chat.say(f"Guardbot shell — state and log in {data_dir}. Type :help for shell commands.")
        chat.say("You are alice, a customer. Say /start.")
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        _read_lines_in_background(lines)
        try:
            while (line := await lines.get()) is not None and chat.handle(line):
                # Let the bot answer before the next line, so piped input reads like a conversation.
                with contextlib.suppress(TimeoutError):
                    await emulator.wait_for(
                        lambda: emulator.pending_updates == 0 and app.feeder.in_flight == 0,
                        timeout=10,
                    )
        finally:
            stop.set()
            await server
            await app.close()


def run_shell(data_dir: Path | None) -> int:
    """State goes to `--data-dir`, else to a temporary directory — never to the configured DATA_DIR, whose
    real database must not collect the shell's personas and role grants."""
    base = load_settings()
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="guardbot-")))
        data_dir.mkdir(parents=True, exist_ok=True)
        stack.enter_context(hold_data_dir(data_dir))
        # The terminal is for the conversation; the bot's log goes beside its state.
        log_file = stack.enter_context((data_dir / "guardbot.log").open("a", encoding="utf-8"))
        configure_logging(logging.INFO, log_file)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_shell(base, data_dir, sys.stdout))
    return 0
