"""Opening the SQLite database the way every Guardbot process must: WAL, foreign keys, migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from bot.errors import SchemaError
from bot.storage.migrations import apply_migrations


async def open_database(path: Path, now: float) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the database at `path`.

    WAL lets the web server read while the bot writes; `synchronous=NORMAL` is durable against process
    crashes in WAL mode, which is the failure we design for (SIGKILL), at a fraction of FULL's fsync cost.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
        ):
            await conn.execute(pragma)
        await apply_migrations(conn, now)
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise SchemaError(f"{path.name} is not a usable SQLite database ({exc})") from None
    except BaseException:
        await conn.close()
        raise
    return conn
