"""The program as an operator runs it: `python -m bot run` and `python -m bot shell` in real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp

from bot.emulator import BotApiEmulator, Fault
from tests.helpers import ACCEPT, TEST_TOKEN, free_port, is_notice, onboard, start_bot_process


def claimed(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM processed_updates").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


async def test_run_serves_and_sigterm_finishes_in_flight_work(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    process = await start_bot_process(emulator.base_url, data_dir, port)
    try:
        alice = emulator.user(7001, first_name="Alice")
        await emulator.wait_for(lambda: emulator.polling, timeout=30)
        await onboard(alice)  # two updates: /start and the accept button
        reply = alice.last_bot_message
        assert reply is not None and reply.text is not None and reply.text.startswith("Hello, Alice!")

        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
                assert (await response.json())["mode"] == "polling"

        # Telegram is slow to accept the next reply; SIGTERM arrives while it is in flight.
        emulator.inject_fault(Fault(method="sendMessage", delay=1.5, times=1))
        alice.send("/help")
        await emulator.wait_for(lambda: claimed(data_dir / "guardbot.db") == 3, timeout=10)
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()[-2000:]
    menu = [m for m in alice.bot_messages if m.text and m.text.startswith("Here is what I can help")]
    assert len(menu) == 1
    events = [json.loads(line)["event"] for line in stderr.decode().splitlines() if line.startswith("{")]
    assert events.index("bot.stopping") < events.index("bot.stopped")
    assert TEST_TOKEN not in stderr.decode()
    assert "Hello, Alice" not in stderr.decode()  # message contents never reach the log


async def test_restart_does_not_redo_handled_updates(tmp_path: Path, emulator: BotApiEmulator) -> None:
    data_dir = tmp_path / "data"
    bob = emulator.user(7002, first_name="Bob")
    for _ in range(2):
        process = await start_bot_process(emulator.base_url, data_dir, free_port())
        try:
            bob.send("/start")
            await bob.wait_for_bot_message(is_notice, timeout=30)  # no consent yet: the notice, each time
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0
    assert len([m for m in bob.bot_messages if is_notice(m)]) == 2
    assert claimed(data_dir / "guardbot.db") == 2


async def test_shell_conversation(tmp_path: Path) -> None:
    script = "/start\n:1\n/help\n:2\n:as admin\n/roles\n:quit\n"  # :1 accepts the notice
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "shell",
        "--data-dir",
        str(tmp_path / "shell"),
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(script.encode()), timeout=60)
    out = stdout.decode()
    assert process.returncode == 0, stderr.decode()
    assert "[bot → alice] Privacy notice (version 2026-11) of Example Shop" in out
    assert f"    [1] {ACCEPT}" in out
    assert f"(alice presses “{ACCEPT}”)" in out
    assert "[bot → alice] Thank you: you accepted the privacy notice (version 2026-11)." in out
    assert "[bot → alice] Hello, Alice! I am the assistant of Example Shop." in out
    assert "    [2] Returns and refunds" in out
    assert "(alice presses “Returns and refunds”)" in out
    assert "[bot → alice] You can return any item within 30 days of delivery." in out
    assert "[bot → admin] Staff roles:" in out
    assert (
        out.index("Privacy notice")
        < out.index(f"presses “{ACCEPT}”")
        < out.index("Thank you: you accepted")
        < out.index("Hello, Alice")
        < out.index("You can return")
        < out.index("Staff roles")
    )
    assert (tmp_path / "shell" / "guardbot.db").exists()
