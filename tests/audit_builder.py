"""A real audit.db for the tests, written through `AuditStore` the way the writer writes it.

`build_audit_db(path)` appends a realistic conversation log — several pseudonymous subjects, inbound updates
and outbound calls with encrypted-content blobs (random bytes stand in for nonce ‖ ciphertext ‖ tag), their
results, refusals and a role change — chained with `build_entry` and `leaf_hash`, a checkpoint signed every
`checkpoint_every` entries with an Ed25519 key named after the log's origin, one subject erased (a
`subject.erased` entry, then `AuditStore.forget_contents`), and a short unsigned tail after the last
checkpoint, as a crash leaves it. Deterministic for a given seed, apart from the origin AuditStore draws.

Kept small on purpose: when the real writer exists, this can become a thin wrapper around it.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.audit.entries import GENESIS, build_entry
from bot.audit.merkle import Frontier, leaf_hash
from bot.audit.note import Checkpoint, Verifier, sign, verifier_for
from bot.storage.audit import AuditStore, StoredContent, StoredEntry

BASE_TS_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class BuiltLog:
    path: Path
    origin: str
    signing_key: Ed25519PrivateKey
    verifier: Verifier
    entries: int
    checkpoints: tuple[int, ...]
    erased_subject: str
    erasure_seq: int
    erased_contents: tuple[tuple[str, str, bytes], ...]  # (hash, subject, blob) rows the erasure deleted


def signing_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(random.Random(seed).randbytes(32))


def sign_checkpoint(origin: str, key: Ed25519PrivateKey, size: int, root: bytes) -> str:
    """A checkpoint note as the writer signs it: the key's name is the log's origin."""
    return sign(Checkpoint(origin, size, root).text(), [(origin, key)])


def build_audit_db_sync(path: Path, **options: Any) -> BuiltLog:
    return asyncio.run(build_audit_db(path, **options))


async def build_audit_db(
    path: Path, *, entries: int = 1037, checkpoint_every: int = 100, subjects: int = 8, seed: int = 7
) -> BuiltLog:
    """Write `entries` entries to a new audit.db at `path`, a checkpoint every `checkpoint_every`."""
    rng = random.Random(seed)
    key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    people = [f"s-{rng.randbytes(16).hex()}" for _ in range(subjects)]
    victim, erase_at = people[1], entries * 2 // 3
    store = await AuditStore.open(path, time.time())
    try:
        writer = _Writer(store, key, checkpoint_every)
        for event in _events(rng, people, victim, erase_at):
            if writer.size == entries:
                break
            await writer.add(event)
            if event.type == "subject.erased":
                await writer.flush(checkpoint=False)
                await store.forget_contents(victim)
        await writer.flush(checkpoint=False)  # the unsigned tail
    finally:
        await store.close()
    return BuiltLog(
        path=path,
        origin=store.origin,
        signing_key=key,
        verifier=verifier_for(store.origin, key),
        entries=writer.size,
        checkpoints=tuple(writer.checkpoints),
        erased_subject=victim,
        erasure_seq=writer.erasure_seq,
        erased_contents=tuple(writer.written[hash_] for hash_ in writer.subject_contents(victim)),
    )


@dataclass(frozen=True)
class _Event:
    type: str
    actor: str
    subject: str | None
    data: dict[str, Any]
    content: bytes | None = None


@dataclass
class _Writer:
    """Chain, frontier, batches, checkpoints: what the real writer does, minus the concurrency."""

    store: AuditStore
    key: Ed25519PrivateKey
    every: int
    size: int = 0
    prev: str = GENESIS
    frontier: Frontier = field(default_factory=Frontier)
    entries: list[StoredEntry] = field(default_factory=list)
    contents: list[StoredContent] = field(default_factory=list)
    checkpoints: list[int] = field(default_factory=list)
    erasure_seq: int = -1
    written: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)

    def subject_contents(self, subject: str) -> list[str]:
        return [hash_ for hash_, row in self.written.items() if row[1] == subject]

    async def add(self, event: _Event) -> None:
        content_hash = None
        if event.content is not None:
            assert event.subject is not None
            content_hash = hashlib.sha256(event.content).hexdigest()
            self.contents.append(StoredContent(content_hash, event.subject, event.content))
            self.written[content_hash] = (content_hash, event.subject, event.content)
        body = build_entry(
            seq=self.size,
            ts_ms=BASE_TS_MS + self.size * 250,
            type=event.type,
            actor=event.actor,
            subject=event.subject,
            content=content_hash,
            prev=self.prev,
            data=event.data,
        )
        leaf = leaf_hash(body)
        self.entries.append(StoredEntry(self.size, body, leaf))
        self.frontier.append(leaf)
        self.prev = leaf.hex()
        if event.type == "subject.erased":
            self.erasure_seq = self.size
        self.size += 1
        if self.size % self.every == 0:
            await self.flush(checkpoint=True)

    async def flush(self, *, checkpoint: bool) -> None:
        signed = None
        if checkpoint:
            note = sign_checkpoint(self.store.origin, self.key, self.size, self.frontier.root())
            signed = (self.size, note, time.time())
            self.checkpoints.append(self.size)
        if self.entries or signed:
            await self.store.append(self.entries, self.contents, signed)
        self.entries, self.contents = [], []


def _blob(rng: random.Random) -> bytes:
    """Stands in for AES-256-GCM output: 12-byte nonce ‖ ciphertext ‖ 16-byte tag."""
    return rng.randbytes(12) + rng.randbytes(rng.randint(8, 240)) + rng.randbytes(16)


def _events(rng: random.Random, people: list[str], victim: str, erase_at: int) -> Iterator[_Event]:
    """An endless, plausible sequence: conversations, refusals, a role change, one erasure at `erase_at`."""
    staff = people[0]
    seq = 0
    yield _Event("log.started", "system", None, {"catalog": rng.randbytes(32).hex(), "settings": "0" * 64})
    seq += 1
    with_key: set[str] = set()
    update_id, message_id, erased = 500_000, 1, False
    while True:
        subject = rng.choice([p for p in people[1:] if not (erased and p == victim)])
        if subject not in with_key:
            with_key.add(subject)
            yield _Event("subject.key_created", "system", subject, {"commitment": rng.randbytes(32).hex()})
            seq += 1
        update_id += 1
        data = {"chat": "private", "kind": "message", "redacted": ["phone"] if update_id % 7 == 0 else []}
        yield _Event("in.update", subject, subject, {**data, "update_id": update_id}, _blob(rng))
        call = seq + 1
        yield _Event(
            "out.call",
            "bot",
            subject,
            {
                "catalog_key": "answer:delivery",
                "catalog_version": rng.randbytes(8).hex(),
                "method": "sendMessage",
            },
            _blob(rng),
        )
        message_id += 1
        yield _Event("out.result", "bot", subject, {"call": call, "message_id": message_id, "ok": True})
        seq += 3
        if rng.random() < 0.05:
            yield _Event(
                "gate.refused", "bot", subject, {"method": "copyMessage", "reason": "method not allowed"}
            )
            seq += 1
        if rng.random() < 0.02:
            yield _Event("staff.refused", subject, subject, {"command": "roles", "needed": "admin"})
            seq += 1
        if seq == 40:
            yield _Event("role.changed", "system", staff, {"change": "granted", "role": "compliance"})
            seq += 1
        if seq >= erase_at and not erased:
            erased = True
            yield _Event("subject.erased", staff, victim, {"reason": "request"})
            seq += 1
