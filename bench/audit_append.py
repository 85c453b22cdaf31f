"""Audit-log append throughput through the real write path, under concurrent load.

Many concurrent tasks record entries through `AuditTrail.record` — pseudonym lookup, per-person AES-GCM
encryption of the content, canonical JSON, hash chain, Merkle frontier, group commit to SQLite (WAL) and
signed checkpoints — exactly as the bot does. Printed: entries per second and the p50/p99 latency of one
`record` call (until its entry is durable).

    .venv/bin/python -m bench.audit_append [--entries 50000] [--writers 500] [--people 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.audit.trail import AuditTrail, SubjectKeys
from bot.audit.writer import AuditLog
from bot.clock import SystemClock
from bot.storage.audit import AuditStore
from bot.storage.keyring import KeyringStore


async def measure(total: int, writers: int, people: int) -> None:
    clock = SystemClock()
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        store = await AuditStore.open(Path(tmp) / "audit.db", clock.now())
        keyring = await KeyringStore.open(Path(tmp) / "keyring.db", clock.now())
        audit_log = AuditLog(store, Ed25519PrivateKey.generate(), clock)
        await audit_log.start()
        trail = AuditTrail(audit_log, SubjectKeys(keyring, os.urandom(32), audit_log, clock))
        await asyncio.gather(*(trail.subject_id(person) for person in range(people)))  # keys exist already
        latencies: list[float] = []

        async def writer(index: int) -> None:
            for n in range(total // writers):
                person = (index * 7 + n) % people
                started = time.perf_counter()
                await trail.record(
                    "in.update",
                    actor=person,
                    about=person,
                    data={"kind": "message", "update_id": n, "message_id": n},
                    content={"text": "When will my order arrive? I ordered it last Tuesday."},
                )
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(writer(i) for i in range(writers)))
        elapsed = time.perf_counter() - began
        checkpoints = (await store.latest_checkpoint() or (0, ""))[0]
        await audit_log.close()
        await keyring.close()
        await store.close()
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{len(latencies)} entries from {writers} concurrent writers ({people} people),"
        f" on {os.cpu_count()} cores"
    )
    print(f"append throughput: {len(latencies) / elapsed:,.0f} entries/s (target ≥ 20,000)")
    print(f"latency until durable: p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms")
    print(f"log size {audit_log.size}, last checkpoint at {checkpoints}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--writers", type=int, default=500)
    parser.add_argument("--people", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(measure(args.entries, args.writers, args.people))


if __name__ == "__main__":
    main()
