"""Anchors: copies of checkpoints kept where the signing-key holder cannot quietly rewrite them.

A log signed by one key can be cut short or rewritten by whoever holds that key; checkpoints that also live
elsewhere pin its history. `FileAnchor` appends every checkpoint to a file outside DATA_DIR (on another
volume or a WORM mount, ideally); `ChatAnchor` posts a checkpoint to a compliance Telegram chat at least
hourly and after every critical event. `audit verify --checkpoints FILE` checks the log against them.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.clock import Clock

HOURLY = 3600.0


class FileAnchor:
    """Appends `{"anchored_at": ms, "checkpoint": note}` lines, fsynced (the anchors-file format)."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._lock = asyncio.Lock()

    def _append(self, line: bytes) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    async def __call__(self, note: str, critical: bool) -> None:
        line = json.dumps({"anchored_at": int(self._clock.now() * 1000), "checkpoint": note}, sort_keys=True)
        async with self._lock:  # keep lines whole and in order
            await asyncio.to_thread(self._append, (line + "\n").encode())


class ChatAnchor:
    """Posts checkpoints to a chat: after critical events, else at most once an hour."""

    def __init__(self, post: Callable[[str], Awaitable[None]], clock: Clock, every: float = HOURLY) -> None:
        self._post = post
        self._clock = clock
        self._every = every
        self._last = float("-inf")

    async def __call__(self, note: str, critical: bool) -> None:
        now = self._clock.now()
        if not critical and now - self._last < self._every:
            return
        self._last = now
        await self._post(note)
