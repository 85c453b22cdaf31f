"""A crash during a burst of replies: after SIGKILL and a restart the log verifies, and every message that
reached Telegram has its outbound entry (audit first: the entry is durable before the call is made)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bot.emulator import BotApiEmulator, Fault
from tests.helpers import logged_entries, onboard, start_bot_process, subjects_by_user


async def test_sigkill_mid_burst_then_restart(tmp_path: Path, emulator: BotApiEmulator) -> None:
    data_dir = tmp_path / "data"
    people = [emulator.user(9000 + i, first_name=f"P{i}") for i in range(40)]
    process = await start_bot_process(emulator.base_url, data_dir, capture=False)
    try:
        await emulator.wait_for(lambda: emulator.polling, timeout=30)
        await asyncio.gather(*(onboard(person) for person in people))  # customers the bot may answer
        onboarding = sum(c.ok for c in emulator.calls_to("sendMessage"))
        emulator.inject_fault(Fault(method="sendMessage", delay=0.02, times=None))  # a slow Telegram
        for person in people:
            person.send("/help")
        await emulator.wait_for(
            lambda: sum(c.ok for c in emulator.calls_to("sendMessage")) >= onboarding + 10, timeout=30
        )
        process.send_signal(signal.SIGKILL)
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    emulator.clear_faults()
    delivered_before = sum(c.ok for c in emulator.calls_to("sendMessage")) - onboarding
    assert delivered_before < len(people), "the burst finished before the kill; make it longer"

    process = await start_bot_process(emulator.base_url, data_dir, capture=False)  # restart on the same data
    try:
        people[0].send("/start")
        await people[0].wait_for_bot_message(lambda m: (m.text or "").startswith("Hello"), timeout=30)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    verified = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    subject_of = subjects_by_user(data_dir / "keyring.db")
    logged = logged_entries(data_dir / "audit.db")
    calls = Counter(
        e["subject"] for e in logged if e["type"] == "out.call" and e["data"]["method"] == "sendMessage"
    )
    received = Counter(subject_of[c.params["chat_id"]] for c in emulator.calls_to("sendMessage") if c.ok)
    for subject, count in received.items():
        assert calls[subject] >= count, "a message reached Telegram without its audit entry"
