"""Retention end to end: the bot's own job purges message content older than RETENTION_DAYS, logs the purge,
keeps newer content, and the log still verifies."""

from __future__ import annotations

import json
import sqlite3

from bot.app import create_guardbot
from bot.emulator import BotApiEmulator
from config import Settings
from tests.helpers import (
    DAY,
    MovableClock,
    guardbot_cli,
    logged_entries,
    make_settings,
    onboard,
    running_bot,
    subjects_by_user,
)

OLD_PHRASE = "an ancient question about teapots"
NEW_PHRASE = "a fresh question about kettles"


def content_count(settings: Settings, subject: str) -> int:
    with sqlite3.connect(settings.audit_path) as conn:
        return int(conn.execute("SELECT count(*) FROM contents WHERE subject = ?", (subject,)).fetchone()[0])


async def test_old_content_is_purged_by_the_job_and_the_log_verifies(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    settings = make_settings(
        settings.data_dir, emulator.base_url, retention_days=30, mydata_interval_minutes=0
    )
    clock = MovableClock()
    gil = emulator.user(4501, first_name="Gil")
    async with running_bot(settings, app=await create_guardbot(settings, clock)) as app:
        await onboard(gil)
        gil.send(OLD_PHRASE)
        await gil.wait_for_bot_message()
        assert await app.retention.purge() is None  # nothing is old yet
        subject = subjects_by_user(settings.keyring_path)[gil.id]
        before = content_count(settings, subject)

        clock.offset = 31 * DAY
        gil.send(NEW_PHRASE)
        await gil.wait_for_bot_message()
        result = await app.retention.purge()
        assert result is not None
        assert result.count == before  # everything from the first "month", nothing of today
        assert content_count(settings, subject) == 2  # today's question and its answer

        gil.send("/mydata")
        export = json.loads((await gil.wait_for_bot_message(lambda m: m.document is not None)).document.data)  # type: ignore[union-attr]
        texts = [m["content"].get("text") for m in export["messages"] if m["direction"] == "from_you"]
        assert NEW_PHRASE in texts
        assert OLD_PHRASE not in texts
        assert await app.retention.purge() is None  # idempotent until more content ages

    purges = [e for e in logged_entries(settings.audit_path) if e["type"] == "retention.purged"]
    assert [(e["data"]["count"], e["data"]["through_seq"]) for e in purges] == [
        (result.count, result.through_seq)
    ]
    verified = guardbot_cli("audit", "verify", data_dir=settings.data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_the_job_runs_when_the_bot_starts(emulator: BotApiEmulator, settings: Settings) -> None:
    settings = make_settings(settings.data_dir, emulator.base_url, retention_days=1)
    hal = emulator.user(4502, first_name="Hal")
    async with running_bot(settings):
        await onboard(hal)
    clock = MovableClock()
    clock.offset = 2 * DAY
    async with running_bot(settings, app=await create_guardbot(settings, clock)) as app:
        await emulator.wait_for(
            lambda: any(e["type"] == "retention.purged" for e in logged_entries(settings.audit_path))
        )
        subject = subjects_by_user(settings.keyring_path)[hal.id]
        assert content_count(settings, subject) == 0
        assert app.audit.log.size > 0
