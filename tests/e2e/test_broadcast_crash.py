"""SIGKILL in the middle of a broadcast, twice, and restarts: nobody gets two copies, everyone eligible is
reached or counted uncertain, and the audit log says so.

The bot runs as a real process (`python -m bot run`); the customers and the approved broadcast are set up
beforehand through the services, on the same data directory.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from bot.app import create_guardbot
from bot.emulator import BotApiEmulator
from bot.telegram.broadcasting import IN_FLIGHT_SECONDS
from tests.e2e.broadcast_world import approved_broadcast, broadcast_sends, populate, received, status
from tests.helpers import (
    COMPLIANCE_2_ID,
    COMPLIANCE_ID,
    MARKETER_ID,
    alive,
    children,
    logged_entries,
    make_settings,
    start_bot_process,
)

RATE = 100
ENV = {
    "BROADCAST_RATE": str(RATE),
    "BROADCAST_PAID": "true",
    "QUIET_HOURS": "off",
    "MARKETING_IDS": str(MARKETER_ID),
    "COMPLIANCE_IDS": f"{COMPLIANCE_ID},{COMPLIANCE_2_ID}",
}


def states(database: Path, broadcast_id: int) -> dict[int, str]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT user_id, state FROM broadcast_recipients WHERE broadcast = ?", (broadcast_id,)
        ).fetchall()
    return {int(user): str(state) for user, state in rows}


async def test_sigkill_mid_broadcast_twice_then_restart(tmp_path: Path, emulator: BotApiEmulator) -> None:
    data_dir = tmp_path / "data"
    settings = make_settings(data_dir, emulator.base_url, broadcast_rate=RATE, broadcast_paid=True)
    emulator.user(MARKETER_ID)
    emulator.user(COMPLIANCE_ID)
    app = await create_guardbot(settings)
    try:
        world = await populate(app, emulator, 600, with_zones=False)
        broadcast_id = await approved_broadcast(app)
    finally:
        await app.close()
    database = settings.database_path

    for kill_after in (100, 300):
        process = await start_bot_process(emulator.base_url, data_dir, capture=False, extra_env=ENV)
        try:
            sends = lambda n=kill_after: len(broadcast_sends(emulator, world.everyone)) >= n  # noqa: E731
            await emulator.wait_for(sends, timeout=60)
            workers = children(process.pid)
            assert workers, "the broadcast's HTTP worker is not running"
            process.send_signal(signal.SIGKILL)
            await process.wait()
            # Its HTTP worker sees its stdin close, finishes what it was given and exits: none is left over.
            await emulator.wait_for(lambda ws=workers: not any(alive(w) for w in ws), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert status(database, broadcast_id)[0] == "running", "the broadcast ended before the kill"

    process = await start_bot_process(emulator.base_url, data_dir, capture=False, extra_env=ENV)
    try:
        await emulator.wait_for(lambda: status(database, broadcast_id) == ("done", True), timeout=60)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    counts = received(emulator, world.everyone)
    assert max(counts.values()) == 1  # never two copies
    final = states(database, broadcast_id)
    uncertain = {user for user, state in final.items() if state == "uncertain"}
    sent = {user for user, state in final.items() if state == "sent"}
    got = {user for user, n in counts.items() if n}
    assert sent <= got <= sent | uncertain  # recorded sent ⇒ received; received ⇒ sent or uncertain
    # Everyone eligible reached or counted uncertain (a claim cut short may be anyone's, blocked or not).
    assert sent <= world.eligible <= sent | uncertain
    assert len(uncertain) <= 2 * RATE * IN_FLIGHT_SECONDS  # at most the sends claimed at once, per crash

    entries = logged_entries(settings.audit_path)
    logged_uncertain = sum(e["data"]["recipients"] for e in entries if e["type"] == "broadcast.uncertain")
    assert logged_uncertain == len(uncertain)
    finished = [e for e in entries if e["type"] == "broadcast.finished"]
    assert len(finished) == 1 and finished[0]["data"]["uncertain"] == len(uncertain)
