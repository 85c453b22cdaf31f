"""Storage: migrations are idempotent, upgrade older databases in place, refuse newer ones."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

import aiosqlite
import pytest

from bot.errors import SchemaError
from bot.storage import MIGRATIONS, SqliteRepository, apply_migrations, open_database
from flows.broadcasts import Status


async def test_opening_twice_applies_migrations_once(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    conn = await open_database(path, now=1.0)
    await conn.close()
    conn = await open_database(path, now=2.0)
    async with conn.execute("SELECT version, applied_at FROM schema_migrations") as cursor:
        rows = await cursor.fetchall()
    async with conn.execute("PRAGMA journal_mode") as cursor:
        mode = await cursor.fetchone()
    await conn.close()
    assert [tuple(r) for r in rows] == [(m.version, 1.0) for m in MIGRATIONS]
    assert mode is not None and mode[0] == "wal"
    for file in tmp_path.glob("g.db*"):
        assert file.stat().st_mode & 0o077 == 0, file.name


async def test_database_from_an_older_version_is_upgraded_keeping_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = await aiosqlite.connect(path, isolation_level=None)
    await apply_migrations(conn, 1.0, MIGRATIONS[:1])  # what the first release left behind
    await conn.execute(
        "INSERT INTO users (user_id, language_code, first_seen, last_seen) VALUES (7, 'en', 1, 1)"
    )
    await conn.close()

    repo = SqliteRepository(await open_database(path, now=5.0))
    try:
        assert await repo.grant_role(7, "agent", source="command", actor=1, now=5.0)
        assert not await repo.is_blocked(7)
        await repo.mark_blocked(7, 6.0)
        assert await repo.is_blocked(7)
    finally:
        await repo.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = await open_database(path, now=1.0)
    await conn.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 1)")
    await conn.close()
    with pytest.raises(SchemaError, match="schema version 999, newer"):
        await open_database(path, now=2.0)


async def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SchemaError, match="not a usable SQLite database"):
        await open_database(path, now=1.0)


async def test_failed_migration_leaves_no_trace(tmp_path: Path) -> None:
    from bot.storage import Migration

    bad = (*MIGRATIONS, Migration(99, "broken", ("CREATE TABLE ok_table (x)", "NOT SQL")))
    conn = await aiosqlite.connect(tmp_path / "b.db", isolation_level=None)
    with pytest.raises(aiosqlite.OperationalError):
        await apply_migrations(conn, 1.0, bad)
    async with conn.execute("SELECT name FROM sqlite_master WHERE name = 'ok_table'") as cursor:
        assert await cursor.fetchone() is None
    async with conn.execute("SELECT max(version) FROM schema_migrations") as cursor:
        assert await cursor.fetchone() == (MIGRATIONS[-1].version,)
    await conn.close()


async def test_updates_are_claimed_once_and_pruned(tmp_path: Path) -> None:
    repo = SqliteRepository(await open_database(tmp_path / "u.db", now=1.0))
    try:
        assert await repo.claim_update(1, 10, 1.0)
        assert not await repo.claim_update(1, 10, 2.0)
        assert await repo.claim_update(2, 10, 2.0)  # another bot's update 10 is another update
        assert await repo.forget_updates_before(1.5) == 1
        assert await repo.claim_update(1, 10, 3.0)
    finally:
        await repo.close()


async def test_settings_roles_follow_settings_command_roles_stay(tmp_path: Path) -> None:
    repo = SqliteRepository(await open_database(tmp_path / "r.db", now=1.0))
    try:
        await repo.sync_configured_roles({"admin": [1, 2]}, 1.0)
        await repo.grant_role(3, "agent", source="command", actor=1, now=1.0)
        changes = await repo.sync_configured_roles({"admin": [2]}, 2.0)
        assert changes == [("revoke", 1, "admin")]
        grants = {(g.user_id, g.role, g.source) for g in await repo.role_grants()}
        assert grants == {(2, "admin", "settings"), (3, "agent", "command")}
    finally:
        await repo.close()


async def test_concurrent_transactions_do_not_interfere(tmp_path: Path) -> None:
    """Handlers run concurrently on one connection: a transaction must not swallow another task's write."""
    repo = SqliteRepository(await open_database(tmp_path / "c.db", now=1.0))
    try:
        results = await asyncio.gather(
            *(repo.grant_role(100 + i, "agent", source="command", actor=1, now=1.0) for i in range(20)),
            *(repo.claim_update(1, i, 1.0) for i in range(20)),
            repo.sync_configured_roles({"admin": [1]}, 1.0),
        )
        assert results[:40] == [True] * 40
        assert len(await repo.role_grants()) == 21
        assert not any(await asyncio.gather(*(repo.claim_update(1, i, 2.0) for i in range(20))))
    finally:
        await repo.close()


async def test_a_broadcast_round_looks_recipients_up_by_key(tmp_path: Path) -> None:
    """Claiming recipients and the weekly cap cost what the round touches, not what the broadcasts hold.

    Counted in SQLite's virtual-machine steps (the same on any machine): without statistics SQLite would
    rather walk the index by state, every queued (or ever sent) row for each round.
    """
    conn = await open_database(tmp_path / "guardbot.db", now=1.0)
    repo = SqliteRepository(conn)
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0

    async def cost(work: Awaitable[object]) -> int:
        steps[0] = 0
        await conn.set_progress_handler(step, 100)
        await work
        await conn.set_progress_handler(None, 100)
        return steps[0]

    async def start(size: int, first: int) -> int:
        broadcast = await repo.add_broadcast(1, "{}", f"d{first}", 1.0)
        await repo.decide_broadcast(
            broadcast, digest=f"d{first}", status=Status.APPROVED, decider=2, now=1.0, reason=None
        )
        assert await repo.start_broadcast(broadcast, range(first, first + size), 1.0)
        return broadcast

    async def sent(broadcast: int) -> None:
        await conn.execute(
            "UPDATE broadcast_recipients SET state = 'sent', sent_at = 2.0 WHERE broadcast = ?", (broadcast,)
        )
        await conn.commit()

    try:
        small = await start(200, 1000)
        alone = await cost(repo.settle_and_claim([], [], [(small, 1000 + i) for i in range(10)], 2.0))
        large = await start(5000, 10_000)  # the same round's work, now beside 5,000 more queued
        beside = await cost(repo.settle_and_claim([], [], [(small, 1010 + i) for i in range(10)], 2.0))
        assert beside < 2 * alone
        await sent(small)
        alone = await cost(repo.sent_since(range(1000, 1010), 0.0))
        await sent(large)  # and 5,000 more sent
        beside = await cost(repo.sent_since(range(1010, 1020), 0.0))
        assert beside < 2 * alone
    finally:
        await repo.close()
