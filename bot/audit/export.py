"""Exporting the audit log to one self-contained file an auditor can verify offline (docs/audit-format.md).

The export is JSON Lines, UTF-8, one section after the other, so that it streams both ways:

1. a header, canonical JSON: {"checkpoints": K, "contents": M, "entries": N, "exported_at": ms,
   "format": "guardbot-audit-export", "origin": ..., "public_keys": [...], "version": 1};
2. N lines: the entry bodies, byte for byte as stored, in seq order;
3. M lines: canonical {"blob": base64, "hash": hex, "subject": "s-…"}, ordered by hash — the blobs still
   stored: those of erased subjects and of entries a retention purge covered are gone, and the log's own
   `subject.erased` / `retention.purged` entries are what lets a verifier accept that;
4. K lines: canonical {"checkpoint": signed note text}, ordered by size.

Entry bodies are copied verbatim, never re-encoded: the leaf hashes, the chain and the signed checkpoints are
over those exact bytes, and a verifier must see what the log holds, not what an exporter thinks it should.
The whole file is read in one SQLite read transaction (a consistent snapshot while the bot keeps writing),
written to a temporary file next to the target, fsynced and renamed, so an interrupted export never leaves a
plausible-looking partial file behind. Memory stays constant: rows are streamed, never collected.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bot.audit.canonical import encode
from bot.audit.note import NoteError, parse_verifier
from bot.storage.audit import connect_read_only, read_origin

EXPORT_FORMAT = "guardbot-audit-export"
EXPORT_VERSION = 1
HEADER_KEYS = (
    "checkpoints",
    "contents",
    "entries",
    "exported_at",
    "format",
    "origin",
    "public_keys",
    "version",
)
_BUFFER = 1 << 20


class ExportError(Exception):
    """The log cannot be exported faithfully; `str()` says why (never quoting content)."""


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    entries: int
    contents: int
    checkpoints: int


def header_line(
    *,
    origin: str,
    entries: int,
    contents: int,
    checkpoints: int,
    exported_at_ms: int,
    public_keys: Sequence[str],
) -> bytes:
    """The export's first line."""
    header = {
        "checkpoints": checkpoints,
        "contents": contents,
        "entries": entries,
        "exported_at": exported_at_ms,
        "format": EXPORT_FORMAT,
        "origin": origin,
        "public_keys": list(public_keys),
        "version": EXPORT_VERSION,
    }
    return encode(header) + b"\n"


def content_line(content_hash: str, subject: str, blob: bytes) -> bytes:
    """One line of the contents section (the blob stays encrypted; it is only base64-encoded)."""
    return encode({"blob": base64.b64encode(blob).decode(), "hash": content_hash, "subject": subject}) + b"\n"


def checkpoint_line(note: str) -> bytes:
    """One line of the checkpoints section: the whole signed note, newlines escaped by JSON."""
    return encode({"checkpoint": note}) + b"\n"


def export_log(audit_db: Path, out: Path, public_keys: Sequence[str]) -> ExportSummary:
    """Write the log in `audit_db` to `out` (replaced atomically); `public_keys` go in the header as is.

    The keys are parsed first so that a typo fails here rather than confusing the auditor later; verifiers
    never trust them (they pin their own).
    """
    for key in public_keys:
        try:
            parse_verifier(key)
        except NoteError as exc:
            raise ExportError(f"public key {key[:40]!r}: {exc}") from None
    conn = connect_read_only(audit_db)
    try:
        conn.execute("BEGIN")  # one snapshot: counts and rows agree even while the writer appends
        return _export(conn, out, public_keys)
    except sqlite3.DatabaseError as exc:
        raise ExportError(f"{audit_db.name} is not a readable audit database ({exc})") from None
    finally:
        conn.close()


def _count(conn: sqlite3.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed table names
    return int(row[0])


def _export(conn: sqlite3.Connection, out: Path, public_keys: Sequence[str]) -> ExportSummary:
    origin = read_origin(conn)
    if not origin:
        raise ExportError("the database has no origin: not an audit log")
    counts = {table: _count(conn, table) for table in ("entries", "contents", "checkpoints")}
    fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as file:
            file.write(
                header_line(
                    origin=origin,
                    entries=counts["entries"],
                    contents=counts["contents"],
                    checkpoints=counts["checkpoints"],
                    exported_at_ms=int(time.time() * 1000),
                    public_keys=public_keys,
                )
            )
            written = (
                _write_entries(conn, file),
                _write_contents(conn, file),
                _write_checkpoints(conn, file),
            )
            file.flush()
            os.fsync(file.fileno())
        if written != (counts["entries"], counts["contents"], counts["checkpoints"]):
            raise ExportError("the database changed during the export (rows differ from the counts)")
        os.replace(temporary, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(out.parent)
    return ExportSummary(out, *written)


def _write_entries(conn: sqlite3.Connection, file: BinaryIO) -> int:
    written = 0
    for seq, body in conn.execute("SELECT seq, CAST(body AS BLOB) FROM entries ORDER BY seq"):
        raw = bytes(body or b"")
        if b"\n" in raw:
            # A canonical entry never holds a raw newline (JSON escapes it); one that does cannot be a line.
            raise ExportError(
                f"entry row {seq} contains a newline byte: the log is damaged and cannot be exported"
            )
        file.write(raw)
        file.write(b"\n")
        written += 1
    return written


def _write_contents(conn: sqlite3.Connection, file: BinaryIO) -> int:
    written = 0
    for content_hash, subject, blob in conn.execute(
        "SELECT hash, subject, CAST(blob AS BLOB) FROM contents ORDER BY hash"
    ):
        file.write(content_line(str(content_hash), str(subject), bytes(blob or b"")))
        written += 1
    return written


def _write_checkpoints(conn: sqlite3.Connection, file: BinaryIO) -> int:
    written = 0
    for (note,) in conn.execute("SELECT note FROM checkpoints ORDER BY size"):
        file.write(checkpoint_line(str(note)))
        written += 1
    return written


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
