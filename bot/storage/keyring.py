"""The keyring (`DATA_DIR/keyring.db`): who each pseudonymous subject is, and their wrapped content key.

This is the only place that links a subject id in the audit log to a Telegram user, so it is kept apart from
the log (a backup of the log carries no keys and no identities). Erasing a person deletes their row here;
`secure_delete` and a truncating WAL checkpoint make SQLite forget the bytes too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.storage.database import open_database
from bot.storage.migrations import Migration

KEYRING_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "subjects and their keys",
        (
            """CREATE TABLE subjects (
                user_id INTEGER PRIMARY KEY,
                subject TEXT NOT NULL UNIQUE,
                wrapped_key BLOB NOT NULL,
                master_key_id TEXT NOT NULL,
                created_at REAL NOT NULL
            )""",
        ),
    ),
)


@dataclass(frozen=True)
class SubjectRow:
    user_id: int
    subject: str
    wrapped_key: bytes
    master_key_id: str


class KeyringStore:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path, now: float) -> KeyringStore:
        return cls(await open_database(path, now, KEYRING_MIGRATIONS, secure_delete=True))

    async def find(self, user_id: int) -> SubjectRow | None:
        cursor = await self._conn.execute(
            "SELECT user_id, subject, wrapped_key, master_key_id FROM subjects WHERE user_id = ?", (user_id,)
        )
        row = await cursor.fetchone()
        await cursor.close()
        return SubjectRow(int(row[0]), str(row[1]), bytes(row[2]), str(row[3])) if row else None

    async def find_many(self, user_ids: Sequence[int]) -> list[SubjectRow]:
        """`find` for many users, 500 to a query (those without a subject are left out)."""
        rows: list[SubjectRow] = []
        for start in range(0, len(user_ids), 500):
            chunk = tuple(user_ids[start : start + 500])
            cursor = await self._conn.execute(
                "SELECT user_id, subject, wrapped_key, master_key_id FROM subjects "  # noqa: S608 - placeholders
                f"WHERE user_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found = await cursor.fetchall()
            rows += [SubjectRow(int(r[0]), str(r[1]), bytes(r[2]), str(r[3])) for r in found]
            await cursor.close()
        return rows

    async def add(self, row: SubjectRow, now: float) -> SubjectRow:
        """Insert a new subject; if one appeared meanwhile for this user, return that one instead."""
        await self._conn.execute(
            "INSERT INTO subjects (user_id, subject, wrapped_key, master_key_id, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
            (row.user_id, row.subject, row.wrapped_key, row.master_key_id, now),
        )
        found = await self.find(row.user_id)
        assert found is not None
        return found

    async def forget(self, user_id: int) -> SubjectRow | None:
        """Delete a user's subject and key; returns what was deleted."""
        found = await self.find(user_id)
        if found is None:
            return None
        await self._conn.execute("DELETE FROM subjects WHERE user_id = ?", (user_id,))
        await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return found

    async def all_rows(self) -> list[SubjectRow]:
        cursor = await self._conn.execute("SELECT user_id, subject, wrapped_key, master_key_id FROM subjects")
        rows = await cursor.fetchall()
        await cursor.close()
        return [SubjectRow(int(r[0]), str(r[1]), bytes(r[2]), str(r[3])) for r in rows]

    async def rewrap(self, rows: list[SubjectRow]) -> None:
        """Replace wrapped keys in one transaction (master key rotation)."""
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            await self._conn.executemany(
                "UPDATE subjects SET wrapped_key = ?, master_key_id = ? WHERE user_id = ?",
                [(r.wrapped_key, r.master_key_id, r.user_id) for r in rows],
            )
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        await self._conn.execute("COMMIT")

    async def close(self) -> None:
        await self._conn.close()
