"""Verification throughput on a 1,000,000-entry audit export (issue #3's target: >= 200,000 entries/s here).

Builds once, and caches under /tmp/guardbot-bench/, a valid export with realistic entries — 10,000 subjects,
inbound updates and outbound calls with encrypted-content blobs (random bytes of plausible size), their
results, key creations and a few erased subjects — and a checkpoint signed every 100 entries, as the writer
signs them. It is generated with the audit primitives directly (build_entry, the Merkle frontier, note.sign),
not through AuditStore, which would take minutes. Then `verify_export` runs in a fresh process (so its peak
memory is its own) and the figures are printed: wall time, entries per second, peak RSS of the verifier and
of its worker. The verifier uses both cores: run it while nothing else is busy, or the figure drops.

    .venv/bin/python -m bench.audit_verify [--entries 1000000] [--thorough] [--database] [--rebuild]

`--database` also loads the same log into an audit.db and times `verify_database` (one process, one read
transaction). Nothing here asserts a timing; the figures are for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import random
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.audit.entries import GENESIS, build_entry
from bot.audit.export import checkpoint_line, content_line, header_line
from bot.audit.merkle import Frontier, leaf_hash
from bot.audit.note import Checkpoint, sign, verifier_for

CACHE = Path("/tmp/guardbot-bench")
ORIGIN = "guardbot.local/log/" + "be" * 16
SEED = 20260101
CHECKPOINT_EVERY = 100
FORMAT_REVISION = 1  # bump when the generated log changes, to invalidate the cache


def _key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(random.Random(SEED).randbytes(32))


def export_path(entries: int) -> Path:
    return CACHE / f"audit-export-{entries}-r{FORMAT_REVISION}.jsonl"


# --- generating the log -------------------------------------------------------------------------------------


class _Log:
    """Appends entries as the writer does, up to `limit`; contents are written sorted by hash at the end."""

    def __init__(self, rng: random.Random, limit: int) -> None:
        self.rng = rng
        self.limit = limit
        self.key = _key()
        self.frontier = Frontier()
        self.prev = GENESIS
        self.bodies: list[bytes] = []
        self.contents: list[tuple[str, str, bytes]] = []
        self.checkpoints: list[str] = []

    @property
    def full(self) -> bool:
        return self.frontier.size >= self.limit

    def add(
        self, kind: str, actor: str, subject: str | None, data: Mapping[str, object], blob: bytes | None
    ) -> int:
        if self.full:
            return -1
        seq = self.frontier.size
        content = None
        if blob is not None and subject is not None:
            content = hashlib.sha256(blob).hexdigest()
            self.contents.append((content, subject, blob))
        body = build_entry(
            seq=seq,
            ts_ms=1_767_225_600_000 + seq * 40,
            type=kind,
            actor=actor,
            subject=subject,
            content=content,
            prev=self.prev,
            data=data,
        )
        leaf = leaf_hash(body)
        self.bodies.append(body)
        self.frontier.append(leaf)
        self.prev = leaf.hex()
        if self.frontier.size % CHECKPOINT_EVERY == 0:
            text = Checkpoint(ORIGIN, self.frontier.size, self.frontier.root()).text()
            self.checkpoints.append(sign(text, [(ORIGIN, self.key)]))
        return seq

    def blob(self) -> bytes:
        """nonce ‖ ciphertext ‖ tag, sized like short chat messages."""
        return self.rng.randbytes(12 + int(self.rng.expovariate(1 / 90)) + 8 + 16)


def generate(entries: int) -> _Log:
    """About 40% of entries carry a content blob; one subject in 2,000 conversations asks to be erased."""
    rng = random.Random(SEED)
    log = _Log(rng, entries)
    subjects = [f"s-{rng.randbytes(16).hex()}" for _ in range(10_000)]
    keyed: set[str] = set()
    erased: set[str] = set()
    start = {"catalog": rng.randbytes(32).hex(), "settings": rng.randbytes(32).hex()}
    log.add("log.started", "system", None, start, None)
    update_id = 10_000_000
    while not log.full:
        subject = rng.choice(subjects)
        if subject in erased:
            continue
        if subject not in keyed:
            keyed.add(subject)
            log.add("subject.key_created", "system", subject, {"commitment": rng.randbytes(32).hex()}, None)
        update_id += 1
        redacted = ["phone"] if rng.random() < 0.05 else []
        data = {"chat": "private", "kind": "message", "redacted": redacted, "update_id": update_id}
        log.add("in.update", subject, subject, data, log.blob())
        call = log.add(
            "out.call",
            "bot",
            subject,
            {
                "catalog_key": "answer:delivery",
                "catalog_version": rng.randbytes(8).hex(),
                "method": "sendMessage",
            },
            log.blob(),
        )
        log.add("out.result", "bot", subject, {"call": call, "message_id": update_id, "ok": True}, None)
        if rng.random() < 0.0005:
            erased.add(subject)
            log.add("subject.erased", "system", subject, {"reason": "request"}, None)
    log.contents = [row for row in log.contents if row[1] not in erased]  # crypto-shredded
    return log


def write_export(log: _Log, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    contents = sorted(log.contents)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as file:
        file.write(
            header_line(
                origin=ORIGIN,
                entries=len(log.bodies),
                contents=len(contents),
                checkpoints=len(log.checkpoints),
                exported_at_ms=int(time.time() * 1000),
                public_keys=[verifier_for(ORIGIN, log.key).encode()],
            )
        )
        file.writelines(body + b"\n" for body in log.bodies)
        file.writelines(content_line(*row) for row in contents)
        file.writelines(checkpoint_line(note) for note in log.checkpoints)
    temporary.replace(path)


# --- loading it into an audit.db ----------------------------------------------------------------------------


def load_database(export: Path, db: Path) -> None:
    """The same log as an audit.db: schema from AuditStore, rows bulk-inserted with plain sqlite3."""
    from bot.storage.audit import AuditStore

    if db.exists():
        db.unlink()

    async def create() -> None:
        store = await AuditStore.open(db, time.time())
        await store.close()

    asyncio.run(create())
    with export.open("rb") as file, sqlite3.connect(db) as conn:
        header = json.loads(file.readline())
        conn.execute("UPDATE log_meta SET value = ? WHERE key = 'origin'", (header["origin"],))
        conn.executemany(
            "INSERT INTO entries (seq, body, leaf) VALUES (?, ?, ?)",
            (
                (seq, body, leaf_hash(body))
                for seq, body in enumerate(next(file)[:-1] for _ in range(header["entries"]))
            ),
        )
        rows = (json.loads(next(file)) for _ in range(header["contents"]))
        conn.executemany(
            "INSERT INTO contents (hash, subject, blob) VALUES (?, ?, ?)",
            ((row["hash"], row["subject"], base64.b64decode(row["blob"])) for row in rows),
        )
        notes = (json.loads(next(file))["checkpoint"] for _ in range(header["checkpoints"]))
        conn.executemany(
            "INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, 0)",
            ((int(note.split("\n")[1]), note) for note in notes),
        )
    conn.close()


# --- measuring ----------------------------------------------------------------------------------------------


def measure(path: Path, *, database: bool, thorough: bool) -> dict[str, float]:
    """Run in a fresh process: one verification, timed, with the peak memory it needed."""
    from bot.audit.verify import verify_database, verify_export

    trusted = [verifier_for(ORIGIN, _key())]
    started = time.perf_counter()
    if database:
        report = verify_database(path, trusted, thorough=thorough)
    else:
        report = verify_export(path, trusted, thorough=thorough)
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"the benchmark log does not verify: {report.summary()}")
    return {
        "entries": report.entries,
        "seconds": seconds,
        "rate": report.entries / seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "checkpoints": report.checkpoints_verified,
    }


def _run_measurement(path: Path, *, database: bool, thorough: bool) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.audit_verify", "--measure", str(path)]
    command += ["--database"] if database else []
    command += ["--thorough"] if thorough else []
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(result.stderr or result.stdout)
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def _print(label: str, figures: dict[str, float]) -> None:
    print(
        f"{label:<26} {int(figures['entries']):>9,} entries in {figures['seconds']:6.2f} s = "
        f"{figures['rate']:>9,.0f} entries/s; {int(figures['checkpoints']):,} checkpoints; peak RSS "
        f"{figures['peak_mb']:.0f} MB (worker {figures['worker_peak_mb']:.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--thorough", action="store_true", help="also time the full-parse mode")
    parser.add_argument("--database", action="store_true", help="also time verify_database on the same log")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached export")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, database=args.database, thorough=args.thorough)))
        return

    path = export_path(args.entries)
    if args.rebuild or not path.exists():
        started = time.perf_counter()
        write_export(generate(args.entries), path)
        print(f"built {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    else:
        print(f"reusing {path} ({path.stat().st_size / 1e6:.0f} MB)")
    _print("verify_export", _run_measurement(path, database=False, thorough=False))
    if args.thorough:
        _print("verify_export (thorough)", _run_measurement(path, database=False, thorough=True))
    if args.database:
        db = path.with_suffix(".db")
        if args.rebuild or not db.exists():
            load_database(path, db)
        _print("verify_database", _run_measurement(db, database=True, thorough=False))


if __name__ == "__main__":
    main()
