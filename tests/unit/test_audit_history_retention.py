"""A person's history (for /mydata) and the retention purge, on real audit.db and keyring.db files.

The log is written by the real writer (`AuditLog`) through the real trail, with a clock the test sets, so
entries carry the times a retention cutoff is compared with. After a purge the files themselves are read:
the purged ciphertext must be gone from the database and its WAL, and the log must still verify — with the
reference verifier (fast and thorough, database and export) and with the independent verifier printed in
docs/audit-format.md — while content deleted by hand, without a purge or an erasure, must still fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.audit.export import export_log
from bot.audit.trail import AuditTrail, HistoryItem, PurgeResult, SubjectKeys
from bot.audit.verify import verify_database, verify_export
from bot.audit.writer import AuditLog
from bot.storage.audit import AuditStore
from bot.storage.keyring import KeyringStore

DAY = 86_400.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SECRET_PHRASE = "tangerine submarine refund 5500"
FORMAT_DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-format.md"
MISSING = "content of entry {seq} is missing and its subject was not erased (no erasure entry)"


class SetClock:
    """Time stands where the test puts it; sleeps really sleep (briefly), so the writer's tasks take turns."""

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.002))


class WatchedLog(AuditLog):
    """The real writer, noting what the database held at the moment the purge began deleting."""

    def __init__(self, *args: Any, db: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._db = db
        self.at_deletion: list[tuple[list[dict[str, Any]], int, int]] = []  # entries, checkpoint, contents

    async def purge_contents(self, through_seq: int) -> int:
        conn = sqlite3.connect(f"file:{self._db}?mode=ro", uri=True)
        try:
            entries = [json.loads(body) for (body,) in conn.execute("SELECT body FROM entries ORDER BY seq")]
            size = conn.execute("SELECT max(size) FROM checkpoints").fetchone()[0] or 0
            contents = conn.execute("SELECT count(*) FROM contents WHERE seq <= ?", (through_seq,)).fetchone()
        finally:
            conn.close()
        self.at_deletion.append((entries, int(size), int(contents[0])))
        return await super().purge_contents(through_seq)


@dataclass
class Audit:
    trail: AuditTrail
    log: WatchedLog
    keyring: KeyringStore
    clock: SetClock
    db: Path

    async def record(self, user: int, at: float, content: dict[str, Any], type: str = "in.update") -> int:
        self.clock.t = at
        return await self.trail.record(
            type, actor=user, about=user, data={"kind": "message"}, content=content
        )


@pytest.fixture
async def audit(tmp_path: Path) -> AsyncIterator[Audit]:
    clock = SetClock(T0)
    db = tmp_path / "audit.db"
    store = await AuditStore.open(db, clock.now())
    keyring = await KeyringStore.open(tmp_path / "keyring.db", clock.now())
    log = WatchedLog(store, Ed25519PrivateKey.generate(), clock, db=db)
    await log.start()
    trail = AuditTrail(log, SubjectKeys(keyring, os.urandom(32), log, clock))
    try:
        yield Audit(trail, log, keyring, clock, db)
    finally:
        await log.close()
        await keyring.close()
        await store.close()


def entries(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [json.loads(body) for (body,) in conn.execute("SELECT body FROM entries ORDER BY seq")]
    finally:
        conn.close()


def content_seqs(db: Path) -> list[int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [int(seq) for (seq,) in conn.execute("SELECT seq FROM contents ORDER BY seq")]
    finally:
        conn.close()


def stored_blobs(db: Path) -> dict[int, bytes]:
    """The encrypted blobs by seq, as stored (the bytes a purge must remove from disk)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {int(seq): bytes(blob) for seq, blob in conn.execute("SELECT seq, blob FROM contents")}
    finally:
        conn.close()


def file_bytes(db: Path) -> bytes:
    """Everything SQLite keeps on disk for the log: the database and its write-ahead log."""
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def copy_db(source: Path, target: Path) -> Path:
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


def delete_content(db: Path, seq: int) -> None:
    """What an insider with file access could do: drop one content row, logging nothing."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("DELETE FROM contents WHERE seq = ?", (seq,)).rowcount == 1
    conn.close()


@pytest.fixture(scope="module")
def minimal_verifier() -> Callable[..., None]:
    """The independent verifier printed in docs/audit-format.md, as an auditor would copy it."""
    block = FORMAT_DOC.read_text(encoding="utf-8").split("<!-- minimal-verifier -->\n", 1)[1]
    source = block.split("\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {"__name__": "verify_min"}
    exec(compile(source, "verify_min.py", "exec"), namespace)
    function = namespace["verify"]
    assert callable(function)
    return function


# --- history ------------------------------------------------------------------------------------------------


async def test_history_is_the_persons_decrypted_content_in_order_and_nobody_elses(audit: Audit) -> None:
    first = await audit.record(1, T0 + 1, {"text": SECRET_PHRASE})
    other = await audit.record(2, T0 + 2, {"text": "someone else"})
    call = await audit.record(1, T0 + 3.5, {"texts": ["Our opening hours"]}, type="out.call")
    await audit.trail.record("out.result", actor="bot", about=1, data={"call": call, "ok": True})
    last = await audit.record(1, T0 + 4, {"text": "thanks"})

    history = await audit.trail.history(1)
    assert history == [
        HistoryItem(first, T0 + 1, "in.update", {"kind": "message"}, {"text": SECRET_PHRASE}),
        HistoryItem(call, T0 + 3.5, "out.call", {"kind": "message"}, {"texts": ["Our opening hours"]}),
        HistoryItem(last, T0 + 4, "in.update", {"kind": "message"}, {"text": "thanks"}),
    ]
    assert [item.seq for item in await audit.trail.history(2)] == [other]


async def test_history_never_creates_a_subject(audit: Audit) -> None:
    await audit.record(1, T0, {"text": "hello"})
    size = audit.log.size
    assert await audit.trail.history(3) == []
    assert await audit.keyring.find(3) is None
    assert audit.log.size == size  # no subject.key_created was logged for the stranger


async def test_history_is_empty_after_erasure(audit: Audit) -> None:
    await audit.record(1, T0, {"text": SECRET_PHRASE})
    kept = await audit.record(2, T0, {"text": "still here"})
    assert len(await audit.trail.history(1)) == 1
    await audit.trail.erase(1)
    assert await audit.trail.history(1) == []
    assert [item.seq for item in await audit.trail.history(2)] == [kept]


async def test_history_leaves_out_a_row_that_does_not_open_and_keeps_the_rest(audit: Audit) -> None:
    damaged = await audit.record(1, T0, {"text": "one"})
    fine = await audit.record(1, T0 + 1, {"text": "two"})
    with sqlite3.connect(audit.db) as conn:
        (blob,) = conn.execute("SELECT blob FROM contents WHERE seq = ?", (damaged,)).fetchone()
        conn.execute("UPDATE contents SET blob = ? WHERE seq = ?", (bytes(blob)[:-1] + b"\x00", damaged))
    conn.close()
    assert [item.seq for item in await audit.trail.history(1)] == [fine]


# --- retention ----------------------------------------------------------------------------------------------


async def old_and_new(audit: Audit) -> tuple[list[int], list[int], float]:
    """Content written on days 0 and 1 (older than the cutoff), and on days 10 (the cutoff itself) and 20."""
    old = [await audit.record(1, T0, {"text": SECRET_PHRASE}), await audit.record(2, T0 + DAY, {"t": "b"})]
    audit.clock.t = T0 + 2 * DAY
    await audit.trail.record("audit.requested", actor="system")  # no content: before the cutoff too
    new = [await audit.record(1, T0 + 10 * DAY, {"t": "c"}), await audit.record(2, T0 + 20 * DAY, {"t": "d"})]
    audit.clock.t = T0 + 30 * DAY
    return old, new, T0 + 10 * DAY


async def test_a_purge_logs_first_then_deletes_old_content_and_keeps_the_rest(
    audit: Audit, tmp_path: Path, minimal_verifier: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, cutoff = await old_and_new(audit)
    blobs = stored_blobs(audit.db)
    before = file_bytes(audit.db)
    assert all(blob in before for blob in blobs.values())  # the control: the ciphertext is on disk now

    result = await audit.trail.purge_contents_before(cutoff)

    assert result is not None
    assert (result.through_seq, result.count) == (old[-1], 2)
    logged = entries(audit.db)
    purge = logged[result.seq]
    assert purge == purge | {"type": "retention.purged", "actor": "system", "subject": None, "content": None}
    assert purge["data"] == {"before_ms": int(cutoff * 1000), "through_seq": old[-1], "count": 2}
    assert result.seq > max(old)
    # Audit first: when deletion began, the purge entry was stored and signed, and the content still there.
    [(stored, checkpointed, still_there)] = audit.log.at_deletion
    assert stored[result.seq] == purge and checkpointed > result.seq and still_there == 2

    assert content_seqs(audit.db) == new
    assert [await audit.trail.read(1, old[0]), await audit.trail.read(2, old[1])] == [None, None]
    assert await audit.trail.read(1, new[0]) == {"t": "c"}
    assert [item.seq for item in await audit.trail.history(1)] == [new[0]]
    after = file_bytes(audit.db)
    assert not any(blobs[seq] in after for seq in old), "purged ciphertext is still in audit.db or its WAL"
    assert all(blobs[seq] in after for seq in new)
    assert SECRET_PHRASE.encode() not in after

    for thorough in (False, True):
        report = verify_database(audit.db, [audit.log.verifier], thorough=thorough)
        assert report.ok, report.summary()
        assert (report.purged_through, report.purged_contents) == (old[-1], 2)
    assert f"the content of entries 0..{old[-1]} was purged" in report.summary()
    export = tmp_path / "export.jsonl"
    export_log(audit.db, export, [audit.log.verifier.encode()])
    for parallel in (False, True):
        report = verify_export(export, [audit.log.verifier], parallel=parallel)
        assert report.ok, report.summary()
        assert (report.purged_through, report.purged_contents) == (old[-1], 2)
    minimal_verifier(str(export), audit.log.verifier.encode())
    assert capsys.readouterr().out.startswith(f"intact: {len(logged)} entries")


async def test_a_second_purge_with_the_same_cutoff_does_nothing(audit: Audit) -> None:
    _, new, cutoff = await old_and_new(audit)
    assert isinstance(await audit.trail.purge_contents_before(cutoff), PurgeResult)
    size = audit.log.size
    assert await audit.trail.purge_contents_before(cutoff) is None
    assert audit.log.size == size
    assert content_seqs(audit.db) == new


async def test_nothing_to_purge_logs_nothing(audit: Audit) -> None:
    await audit.record(1, T0, {"text": "hello"})
    size = audit.log.size
    assert await audit.trail.purge_contents_before(T0) is None  # written at the cutoff: kept
    assert await audit.trail.purge_contents_before(T0 - DAY) is None
    assert audit.log.size == size
    with pytest.raises(ValueError, match="cutoff"):
        await audit.trail.purge_contents_before(float("nan"))


async def test_content_deleted_by_hand_still_fails_verification_after_a_purge(
    audit: Audit, tmp_path: Path, minimal_verifier: Callable[..., None]
) -> None:
    _, new, cutoff = await old_and_new(audit)
    result = await audit.trail.purge_contents_before(cutoff)
    assert result is not None
    await audit.log.checkpoint()
    tampered = copy_db(audit.db, tmp_path / "tampered.db")
    delete_content(tampered, new[1])  # after the purge's through_seq; its subject was not erased

    for thorough in (False, True):
        report = verify_database(tampered, [audit.log.verifier], thorough=thorough)
        assert not report.ok
        assert (report.first_bad, report.reason) == (new[1], MISSING.format(seq=new[1]))
    export = tmp_path / "tampered.jsonl"
    export_log(tampered, export, [])
    assert verify_export(export, [audit.log.verifier]).reason == MISSING.format(seq=new[1])
    with pytest.raises(SystemExit, match=f"content of entry {new[1]} is missing"):
        minimal_verifier(str(export), audit.log.verifier.encode())


async def test_without_a_purge_entry_missing_old_content_fails_as_before(
    audit: Audit, tmp_path: Path
) -> None:
    old, _, _ = await old_and_new(audit)
    await audit.log.checkpoint()
    tampered = copy_db(audit.db, tmp_path / "tampered.db")
    delete_content(tampered, old[0])
    report = verify_database(tampered, [audit.log.verifier])
    assert (report.ok, report.first_bad, report.reason) == (False, old[0], MISSING.format(seq=old[0]))
    assert report.purged_through is None


async def test_a_purge_entry_cannot_reach_past_itself(
    audit: Audit, tmp_path: Path, minimal_verifier: Callable[..., None]
) -> None:
    """A purge naming later entries (signed, checkpointed) would excuse content deleted afterwards: it is
    malformed, in the fast path and the thorough one, and for the independent verifier too."""
    await audit.record(1, T0, {"text": "a"})
    bogus = await audit.log.append(
        "retention.purged", data={"before_ms": 0, "count": 0, "through_seq": 10**6}, critical=True
    )
    later = await audit.record(1, T0 + 1, {"text": "b"})
    await audit.log.checkpoint()
    tampered = copy_db(audit.db, tmp_path / "tampered.db")
    delete_content(tampered, later)
    why = (
        f"entry {bogus} is malformed: a retention purge (retention.purged) needs data.through_seq, "
        "a seq before its own"
    )
    for thorough in (False, True):
        report = verify_database(tampered, [audit.log.verifier], thorough=thorough)
        assert (report.first_bad, report.reason) == (bogus, why)
        assert MISSING.format(seq=later) in report.problems
    export = tmp_path / "tampered.jsonl"
    export_log(tampered, export, [])
    with pytest.raises(SystemExit, match=f"entry {bogus}: bad retention purge"):
        minimal_verifier(str(export), audit.log.verifier.encode())


async def test_a_purge_in_the_unsigned_tail_is_read_in_full_and_counts(audit: Audit, tmp_path: Path) -> None:
    """Entries no checkpoint covers are parsed, not read at fixed places: the purge rule holds there too."""
    old, _, _ = await old_and_new(audit)
    await audit.log.checkpoint()
    purge = await audit.log.append(
        "retention.purged", data={"before_ms": 1, "count": 1, "through_seq": old[0]}
    )  # not critical: it stays after the latest checkpoint
    copy = copy_db(audit.db, tmp_path / "copy.db")
    delete_content(copy, old[0])
    report = verify_database(copy, [audit.log.verifier])
    assert report.ok, report.summary()
    assert report.unanchored and (report.latest_checkpoint or 0) <= purge
    assert (report.purged_through, report.purged_contents) == (old[0], 1)
    delete_content(copy, old[1])  # beyond its through_seq
    assert verify_database(copy, [audit.log.verifier]).reason == MISSING.format(seq=old[1])


async def test_a_purge_that_did_not_finish_is_a_warning_not_a_failure(audit: Audit, tmp_path: Path) -> None:
    old, _, _ = await old_and_new(audit)
    await audit.log.append(
        "retention.purged", data={"before_ms": 1, "count": 2, "through_seq": old[-1]}, critical=True
    )  # logged, then (say) a crash before the deletion
    report = verify_database(audit.db, [audit.log.verifier])
    assert report.ok, report.summary()
    assert report.warnings == (
        "2 content blobs of entries a retention purge covers are still stored (the purge was logged but "
        "did not finish; the next purge deletes them)",
    )


async def test_the_boundary_is_the_last_entry_before_the_cutoff_with_equal_timestamps(audit: Audit) -> None:
    """Many entries share a millisecond (a burst): the binary search must not rely on strictly growing ts."""
    times = [T0 + step for step in (0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4)]
    for n, at in enumerate(times):
        await audit.record(1 + n % 2, at, {"n": n})
    logged = entries(audit.db)
    with_content = [e for e in logged if e["content"] is not None]
    for cutoff in (T0 + 0.5, T0 + 1, T0 + 2, T0 + 3.001, T0 + 4):
        plan = await audit.log.purge_plan(int(cutoff * 1000))
        expected = [e["seq"] for e in with_content if e["ts"] < int(cutoff * 1000)]
        assert plan is not None
        assert (plan.through_seq, plan.count) == (max(expected), len(expected))
    assert await audit.log.purge_plan(int(T0 * 1000)) is None
