"""The audit log's own database (`DATA_DIR/audit.db`): entries, encrypted content, signed checkpoints.

Kept in a file of its own so that the log can be exported, backed up and handed to an auditor without the
operational tables, and without any key (those live in `keyring.db`). The writer is the only process that
appends (`AuditStore`); verification and export read the file with plain `sqlite3` in read-only mode.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import aiosqlite

from bot.storage.database import open_database
from bot.storage.migrations import Migration

AUDIT_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "audit log",
        (
            "CREATE TABLE log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE entries (
                seq INTEGER PRIMARY KEY,
                body BLOB NOT NULL,
                leaf BLOB NOT NULL
            )""",
            # Keyed by the entry's seq, not by the hash: appends then go to the end of the B-tree, where
            # random hash keys made every insert a random-position write (3x slower, measured).
            """CREATE TABLE contents (
                seq INTEGER PRIMARY KEY,
                hash TEXT NOT NULL,
                subject TEXT NOT NULL,
                blob BLOB NOT NULL
            )""",
            "CREATE INDEX contents_by_subject ON contents (subject)",
            """CREATE TABLE checkpoints (
                size INTEGER PRIMARY KEY,
                note TEXT NOT NULL,
                created_at REAL NOT NULL
            )""",
        ),
    ),
)

ORIGIN_PREFIX = "guardbot.local/log/"


class StoredEntry(NamedTuple):
    """A row of `entries`, in column order (a tuple: the writer makes one per entry, cheaply)."""

    seq: int
    body: bytes
    leaf: bytes


class StoredContent(NamedTuple):
    """A row of `contents`: hash, subject, blob, and the entry it belongs to (None: let SQLite number it —
    only tests rebuilding a log do that)."""

    hash: str
    subject: str
    blob: bytes
    seq: int | None = None


class AuditStore:
    """Appending to the log, used by the one writer task; erasure and reads may come from other tasks, so
    every method holds `_lock` (a statement must never land inside another method's transaction)."""

    def __init__(self, conn: aiosqlite.Connection, origin: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.origin = origin

    @classmethod
    async def open(cls, path: Path, now: float) -> AuditStore:
        """Open the log, creating it (with a new random origin) on first use."""
        conn = await open_database(path, now, AUDIT_MIGRATIONS, secure_delete=True)
        origin = ORIGIN_PREFIX + secrets.token_hex(16)
        await conn.execute(
            "INSERT INTO log_meta (key, value) VALUES ('origin', ?) ON CONFLICT (key) DO NOTHING", (origin,)
        )
        cursor = await conn.execute("SELECT value FROM log_meta WHERE key = 'origin'")
        row = await cursor.fetchone()
        await cursor.close()
        assert row is not None
        return cls(conn, str(row[0]))

    async def leaves(self) -> list[bytes]:
        """Every leaf hash in order (to rebuild the Merkle frontier at start)."""
        async with self._lock:
            cursor = await self._conn.execute("SELECT leaf FROM entries ORDER BY seq")
            rows = await cursor.fetchall()
            await cursor.close()
        return [bytes(row[0]) for row in rows]

    async def entries_from(self, seq: int) -> list[StoredEntry]:
        """Entries from `seq` on (the unsigned tail the writer re-checks at start)."""
        async with self._lock:
            cursor = await self._conn.execute(
                "SELECT seq, body, leaf FROM entries WHERE seq >= ? ORDER BY seq", (seq,)
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [StoredEntry(int(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]

    async def append(
        self,
        entries: Sequence[StoredEntry],
        contents: Sequence[StoredContent],
        checkpoint: tuple[int, str, float] | None = None,
    ) -> None:
        """Write a batch in one transaction; with a checkpoint, commit with fsync (synchronous=FULL)."""
        async with self._lock:
            await self._append(entries, contents, checkpoint)

    async def _append(
        self,
        entries: Sequence[StoredEntry],
        contents: Sequence[StoredContent],
        checkpoint: tuple[int, str, float] | None,
    ) -> None:
        if checkpoint is not None:
            await self._conn.execute("PRAGMA synchronous=FULL")
        try:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.executemany(
                    "INSERT INTO contents (hash, subject, blob, seq) VALUES (?, ?, ?, ?)", contents
                )
                await self._conn.executemany(
                    "INSERT INTO entries (seq, body, leaf) VALUES (?, ?, ?)", entries
                )
                if checkpoint is not None:
                    await self._conn.execute(
                        "INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)", checkpoint
                    )
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")
        finally:
            if checkpoint is not None:
                await self._conn.execute("PRAGMA synchronous=NORMAL")

    async def latest_checkpoint(self) -> tuple[int, str] | None:
        async with self._lock:
            cursor = await self._conn.execute("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
            row = await cursor.fetchone()
            await cursor.close()
        return (int(row[0]), str(row[1])) if row else None

    async def content(self, seq: int) -> StoredContent | None:
        """The content blob of entry `seq`, if it has one and it was not erased."""
        async with self._lock:
            cursor = await self._conn.execute(
                "SELECT hash, subject, blob, seq FROM contents WHERE seq = ?", (seq,)
            )
            row = await cursor.fetchone()
            await cursor.close()
        return StoredContent(row[0], row[1], bytes(row[2]), row[3]) if row else None

    async def forget_contents(self, subject: str) -> int:
        """Delete a subject's content rows and make SQLite forget them (secure_delete, WAL truncated)."""
        async with self._lock:
            cursor = await self._conn.execute("DELETE FROM contents WHERE subject = ?", (subject,))
            deleted = cursor.rowcount
            await cursor.close()
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()


# --- reading, for verification and export (no writer needed, read-only) ------------------------------------


def connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise FileNotFoundError(path)
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def read_origin(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM log_meta WHERE key = 'origin'").fetchone()
    return str(row[0]) if row else ""


def iter_entry_bodies(conn: sqlite3.Connection) -> Iterator[tuple[int, bytes]]:
    """(seq column, body) in seq order; verifiers must check the body's own seq, not trust the column."""
    for seq, body in conn.execute("SELECT seq, body FROM entries ORDER BY seq"):
        yield int(seq), bytes(body)


def iter_contents(conn: sqlite3.Connection) -> Iterator[StoredContent]:
    for content_hash, subject, blob in conn.execute("SELECT hash, subject, blob FROM contents ORDER BY hash"):
        yield StoredContent(str(content_hash), str(subject), bytes(blob))


def read_checkpoints(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return [
        (int(size), str(note))
        for size, note in conn.execute("SELECT size, note FROM checkpoints ORDER BY size")
    ]
