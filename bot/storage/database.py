"""Opening the SQLite database the way every Guardbot process must: WAL, foreign keys, migrated."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import aiosqlite

from bot.errors import SchemaError
from bot.storage.migrations import MIGRATIONS, Migration, apply_migrations


def connection_pragmas(*, secure_delete: bool) -> tuple[str, ...]:
    """How every Guardbot connection is set up, whichever driver opens it."""
    return (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
        f"PRAGMA secure_delete={'ON' if secure_delete else 'OFF'}",
    )


def _create_private(path: Path) -> None:
    """Create the database file readable by the bot's user only (SQLite gives -wal and -shm its mode)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


async def open_database(
    path: Path,
    now: float,
    migrations: tuple[Migration, ...] = MIGRATIONS,
    *,
    secure_delete: bool = False,
) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the database at `path`.

    WAL lets the web server read while the bot writes; `synchronous=NORMAL` is durable against process
    crashes in WAL mode, which is the failure we design for (SIGKILL), at a fraction of FULL's fsync cost.
    `secure_delete` overwrites deleted content, for databases that hold erasable personal data.
    """
    _create_private(path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        for pragma in connection_pragmas(secure_delete=secure_delete):
            await conn.execute(pragma)
        await apply_migrations(conn, now, migrations)
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise SchemaError(f"{path.name} is not a usable SQLite database ({exc})") from None
    except BaseException:
        await conn.close()
        raise
    return conn
