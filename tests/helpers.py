"""Shared test helpers: settings for a throwaway deployment, and the real bot running against the emulator."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import Guardbot, create_guardbot
from bot.emulator import ChatMessage, EmulatedUser
from bot.runner import serve
from config import Settings

TEST_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
ADMIN_ID = 900
AGENT_ID = 901
COMPLIANCE_ID = 902
MARKETER_ID = 903
COMPLIANCE_2_ID = 904


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(data_dir: Path, api_base: str | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TEST_TOKEN,
        "telegram_api_base": api_base,
        "data_dir": data_dir,
        "web_port": 0,
        "admin_ids": (ADMIN_ID,),
        "agent_ids": (AGENT_ID,),
        "compliance_ids": (COMPLIANCE_ID, COMPLIANCE_2_ID),
        "marketing_ids": (MARKETER_ID,),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def running_bot(
    settings: Settings, poll_timeout: int = 1, app: Guardbot | None = None
) -> AsyncIterator[Guardbot]:
    """The real Guardbot (or `app`, built by the caller), in this event loop, serving until the block ends
    (then a clean shutdown)."""
    app = app or await create_guardbot(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, poll_timeout=poll_timeout))
    try:
        yield app
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=10)
        finally:
            await app.close()


async def start_bot_process(
    api_base: str,
    data_dir: Path,
    port: int = 0,
    *,
    capture: bool = True,
    extra_env: dict[str, str] | None = None,
) -> asyncio.subprocess.Process:
    """`python -m bot run` as an operator would start it, with only these settings in its environment."""
    env = {
        **(extra_env or {}),
        "PATH": os.environ["PATH"],
        "HOME": str(data_dir.parent),
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_BASE": api_base,
        "DATA_DIR": str(data_dir),
        "WEB_PORT": str(port),
    }
    output = asyncio.subprocess.PIPE if capture else asyncio.subprocess.DEVNULL
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=data_dir.parent, env=env, stdout=output, stderr=output
    )


def alive(pid: int) -> bool:
    """Whether a process runs (an exited one its parent has not reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """The processes `pid` started that still run (Linux)."""
    listing = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in listing.read_text().split()] if listing.exists() else []


def logged_entries(audit_db: Path) -> list[dict[str, Any]]:
    """Every audit entry, parsed, in order (read straight from the file, as an auditor would)."""
    with sqlite3.connect(audit_db) as conn:
        return [json.loads(body) for (body,) in conn.execute("SELECT body FROM entries ORDER BY seq")]


def subjects_by_user(keyring_db: Path) -> dict[int, str]:
    with sqlite3.connect(keyring_db) as conn:
        return dict(conn.execute("SELECT user_id, subject FROM subjects"))


NOTICE_START = "Privacy notice (version "
ACCEPT = "✅ I accept the privacy notice"
MARKETING_YES = "📬 Yes, send me offers"
MARKETING_NO = "🚫 No offers, thanks"


def is_notice(message: ChatMessage) -> bool:
    return (message.text or "").startswith(NOTICE_START)


async def onboard(user: EmulatedUser, *, marketing: bool = False) -> ChatMessage:
    """Take a customer through the privacy notice as a person would: /start, accept (and, if asked, say
    yes to marketing); returns the notice message. Later waits see only messages after the greeting."""
    user.send("/start")
    notice = await user.wait_for_bot_message(is_notice)
    user.press(notice.message_id, ACCEPT)
    await user.wait_for_bot_message(lambda m: (m.text or "").startswith("Hello, "))
    if marketing:
        user.press(notice.message_id, MARKETING_YES)
        await user.wait_for_bot_message(lambda m: (m.text or "").startswith("You will receive offers"))
    return notice


DAY = 86_400.0


class MovableClock:
    """The wall clock, moved forward on demand: a year passes in a test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def guardbot_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as the operator runs it, in a fresh process, with only DATA_DIR set."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": os.environ["PATH"], "HOME": str(data_dir.parent), "DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
