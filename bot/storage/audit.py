"""The audit log's own database (`DATA_DIR/audit.db`): entries, encrypted content, signed checkpoints.

Kept in a file of its own so that the log can be exported, backed up and handed to an auditor without the
operational tables, and without any key (those live in `keyring.db`). The writer is the only process that
appends (`AuditStore`); verification and export read the file with plain `sqlite3` in read-only mode.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from bot.storage.database import connection_pragmas, open_database
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


class SubjectContent(NamedTuple):
    """An entry about a subject that still has content: the entry's body and the encrypted blob filed with it
    (what a person's data export decrypts)."""

    seq: int
    body: bytes
    hash: str
    blob: bytes


@dataclass(frozen=True, slots=True)
class PurgePlan:
    """What a retention purge would delete: every content row up to `through_seq` (the highest seq that
    still has content among the entries written before the cutoff), `count` rows in all."""

    through_seq: int
    count: int


class AuditStore:
    """Appending to the log, from the one writer task (and erasure and reads, rarely, from others).

    A plain sqlite3 connection on a dedicated thread, not aiosqlite: every operation — a whole batch with its
    transaction and checkpoint included — is one hop to that thread, where aiosqlite would make one per
    statement (5–6 per batch; with small batches under real traffic that hopping cost more than the writing).
    The single thread also serialises operations, so a statement can never land inside another's transaction.
    """

    def __init__(self, conn: sqlite3.Connection, executor: ThreadPoolExecutor, origin: str) -> None:
        self._conn = conn
        self._executor = executor
        self.origin = origin

    @classmethod
    async def open(cls, path: Path, now: float) -> AuditStore:
        """Open the log, creating it (with a new random origin) on first use."""
        migrated = await open_database(path, now, AUDIT_MIGRATIONS, secure_delete=True)
        await migrated.close()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-store")
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(executor, _connect, path)
        origin = await loop.run_in_executor(
            executor, _ensure_origin, conn, ORIGIN_PREFIX + secrets.token_hex(16)
        )
        return cls(conn, executor, origin)

    async def _run(self, function: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, self._conn, *args)

    async def leaves(self) -> list[bytes]:
        """Every leaf hash in order (to rebuild the Merkle frontier at start)."""
        return await self._run(_leaves)

    async def entries_from(self, seq: int) -> list[StoredEntry]:
        """Entries from `seq` on (the unsigned tail the writer re-checks at start)."""
        return await self._run(_entries_from, seq)

    async def append(
        self,
        entries: Sequence[StoredEntry],
        contents: Sequence[StoredContent],
        checkpoint: tuple[int, str, float] | None = None,
    ) -> None:
        """Write a batch in one transaction; with a checkpoint, commit with fsync (synchronous=FULL)."""
        await self._run(_append, entries, contents, checkpoint)

    async def latest_checkpoint(self) -> tuple[int, str] | None:
        return await self._run(_latest_checkpoint)

    async def content(self, seq: int) -> StoredContent | None:
        """The content blob of entry `seq`, if it has one and it was not erased."""
        return await self._run(_content, seq)

    async def forget_contents(self, subject: str) -> int:
        """Delete a subject's content rows and make SQLite forget them (secure_delete, WAL truncated)."""
        return await self._run(_forget_contents, subject)

    async def subject_contents(self, subject: str) -> list[SubjectContent]:
        """Every entry about `subject` that still has content, in seq order, with its blob: one indexed
        query (contents_by_subject, then each entry by its primary key), not a scan of the log."""
        return await self._run(_subject_contents, subject)

    async def purge_plan(self, before_ms: int) -> PurgePlan | None:
        """The content rows of entries written before `before_ms` (ms since the epoch); None if none is left.

        The log is appended in time order, so the entries before the cutoff are a prefix, found by a binary
        search over seq that parses about 20 bodies for a million entries rather than every one.
        """
        return await self._run(_purge_plan, before_ms)

    async def purge_contents(self, through_seq: int) -> int:
        """Delete the content rows of entries 0..through_seq and make SQLite forget them (secure_delete,
        WAL truncated); returns how many rows were deleted."""
        return await self._run(_purge_contents, through_seq)

    async def close(self) -> None:
        await self._run(_close)
        self._executor.shutdown(wait=True)


_T = TypeVar("_T")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in connection_pragmas(secure_delete=True):
        conn.execute(pragma)
    return conn


def _ensure_origin(conn: sqlite3.Connection, candidate: str) -> str:
    conn.execute(
        "INSERT INTO log_meta (key, value) VALUES ('origin', ?) ON CONFLICT (key) DO NOTHING", (candidate,)
    )
    return read_origin(conn)


def _leaves(conn: sqlite3.Connection) -> list[bytes]:
    return [bytes(row[0]) for row in conn.execute("SELECT leaf FROM entries ORDER BY seq")]


def _entries_from(conn: sqlite3.Connection, seq: int) -> list[StoredEntry]:
    rows = conn.execute("SELECT seq, body, leaf FROM entries WHERE seq >= ? ORDER BY seq", (seq,))
    return [StoredEntry(int(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]


def _append(
    conn: sqlite3.Connection,
    entries: Sequence[StoredEntry],
    contents: Sequence[StoredContent],
    checkpoint: tuple[int, str, float] | None,
) -> None:
    if checkpoint is not None:
        conn.execute("PRAGMA synchronous=FULL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT INTO contents (hash, subject, blob, seq) VALUES (?, ?, ?, ?)", contents)
            conn.executemany("INSERT INTO entries (seq, body, leaf) VALUES (?, ?, ?)", entries)
            if checkpoint is not None:
                conn.execute("INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)", checkpoint)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        if checkpoint is not None:
            conn.execute("PRAGMA synchronous=NORMAL")


def _latest_checkpoint(conn: sqlite3.Connection) -> tuple[int, str] | None:
    row = conn.execute("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _content(conn: sqlite3.Connection, seq: int) -> StoredContent | None:
    row = conn.execute("SELECT hash, subject, blob, seq FROM contents WHERE seq = ?", (seq,)).fetchone()
    return StoredContent(row[0], row[1], bytes(row[2]), row[3]) if row else None


def _forget_contents(conn: sqlite3.Connection, subject: str) -> int:
    deleted = conn.execute("DELETE FROM contents WHERE subject = ?", (subject,)).rowcount
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(deleted)


def _subject_contents(conn: sqlite3.Connection, subject: str) -> list[SubjectContent]:
    rows = conn.execute(
        "SELECT c.seq, e.body, c.hash, c.blob FROM contents AS c JOIN entries AS e ON e.seq = c.seq "
        "WHERE c.subject = ? ORDER BY c.seq",
        (subject,),
    )
    return [SubjectContent(int(r[0]), bytes(r[1]), str(r[2]), bytes(r[3])) for r in rows]


def _entry_ts(conn: sqlite3.Connection, seq: int) -> int:
    """The `ts` of entry `seq`, from its body (the only place the time is kept)."""
    row = conn.execute("SELECT body FROM entries WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        raise LookupError(f"entry {seq} is missing from the log; run `guardbot audit verify`")
    try:
        ts = json.loads(bytes(row[0])).get("ts")
    except (ValueError, AttributeError, RecursionError):
        ts = None
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise ValueError(f"entry {seq} has no readable time; run `guardbot audit verify`")
    return ts


def _last_before(conn: sqlite3.Connection, before_ms: int) -> int | None:
    """The last seq whose ts is before `before_ms`, by binary search: the writer stamps entries in the order
    it numbers them, so ts never decreases along seq (equal stamps are common and fine). Should the system
    clock ever step back, the boundary found is still one where an entry before the cutoff is followed by
    one at or after it: content near it is purged a run early or late, by at most the step."""
    first, last = conn.execute("SELECT min(seq), max(seq) FROM entries").fetchone()
    if first is None or _entry_ts(conn, first) >= before_ms:
        return None
    low, high = int(first), int(last)  # invariant: ts(low) < before_ms, and the answer is in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if _entry_ts(conn, middle) < before_ms:
            low = middle
        else:
            high = middle - 1
    return low


def _purge_plan(conn: sqlite3.Connection, before_ms: int) -> PurgePlan | None:
    boundary = _last_before(conn, before_ms)
    if boundary is None:
        return None
    through, count = conn.execute(
        "SELECT max(seq), count(*) FROM contents WHERE seq <= ?", (boundary,)
    ).fetchone()
    return PurgePlan(int(through), int(count)) if count else None


def _purge_contents(conn: sqlite3.Connection, through_seq: int) -> int:
    deleted = conn.execute("DELETE FROM contents WHERE seq <= ?", (through_seq,)).rowcount
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(deleted)


def _close(conn: sqlite3.Connection) -> None:
    conn.close()


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
