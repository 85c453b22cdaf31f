"""The one writer of the audit log: group commit, the hash chain, the Merkle frontier and checkpoints.

Callers `await append(...)`; it returns once the entry is durable (audit first: nothing is acted on or sent
before its entry is on disk). Entries that arrive while a batch is being committed form the next batch, so
under load many entries share one transaction, and an idle log commits each entry at once.

A checkpoint (a signed tree head) is written with the batch when 100 entries have accumulated since the last
one, when a caller marks its entry `critical` (consent changes, approvals, erasures, broadcasts: the
checkpoint is durable before `append` returns), every second while entries are pending a checkpoint, and at
shutdown. Checkpoint batches commit with synchronous=FULL. Each checkpoint is then handed to the anchors.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.audit.entries import GENESIS, build_entry
from bot.audit.merkle import Frontier, leaf_hash
from bot.audit.note import Checkpoint, NoteError, Verifier, open_note, parse_checkpoint, sign, verifier_for
from bot.clock import Clock
from bot.errors import GuardbotError
from bot.storage.audit import AuditStore, PurgePlan, StoredContent, StoredEntry, SubjectContent

log = logging.getLogger("guardbot.audit")

CHECKPOINT_EVERY = 100
CHECKPOINT_INTERVAL = 1.0
BATCH_WINDOW = 0.002
"""How long the writer lets entries gather before committing a batch. Under real traffic entries trickle in
a few at a time; committing each trickle separately rewrote the same SQLite pages hundreds of times a second
and cost the bot 0.7 ms of CPU per update (measured); 2 ms of gathering adds 2 ms of latency to a durable
append and cuts that cost several times."""
BATCH_ENOUGH = 64
"""A batch this large is committed at once: waiting only pays while entries trickle in."""
CHECKPOINT_MIN_GAP = 0.05
"""Under heavy load, count-triggered checkpoints (each an fsync) come at most this often: at 20,000 entries/s
a checkpoint per 100 entries would be 200 fsyncs a second and cost a third of the throughput (measured)."""
MAX_BATCH = 2000


class AuditIntegrityError(GuardbotError):
    """The stored log does not match what the writer signed: it was altered, and must not be extended."""


Anchor = Callable[[str, bool], Awaitable[None]]
"""Receives each new signed checkpoint note, and whether it followed a critical entry."""


@dataclass(slots=True)
class _Pending:
    type: str
    actor: str
    subject: str | None
    data: Mapping[str, Any]
    blob: bytes | None
    critical: bool
    ts_ms: int
    done: asyncio.Future[int] = field(repr=False)


class AuditLog:
    def __init__(
        self,
        store: AuditStore,
        signing_key: Ed25519PrivateKey,
        clock: Clock,
        *,
        anchors: Sequence[Anchor] = (),
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
        batch_window: float = BATCH_WINDOW,
    ) -> None:
        self._store = store
        self._signers: list[Ed25519PrivateKey] = [signing_key]
        self._clock = clock
        self._anchors = list(anchors)
        self._checkpoint_every = checkpoint_every
        self._checkpoint_interval = checkpoint_interval
        self._batch_window = batch_window
        self._frontier = Frontier()
        self._prev = GENESIS
        self._checkpointed = 0
        self._checkpointed_at = 0.0
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._latest_note: str | None = None
        self._checkpoint_waiters: list[asyncio.Future[str | None]] = []
        self._anchoring: set[asyncio.Task[None]] = set()

    @property
    def origin(self) -> str:
        return self._store.origin

    @property
    def size(self) -> int:
        return self._frontier.size

    @property
    def verifier(self) -> Verifier:
        return verifier_for(self.origin, self._signers[0])

    @property
    def latest_checkpoint(self) -> str | None:
        return self._latest_note

    async def content(self, seq: int) -> StoredContent | None:
        return await self._store.content(seq)

    async def forget_contents(self, subject: str) -> int:
        return await self._store.forget_contents(subject)

    async def subject_contents(self, subject: str) -> list[SubjectContent]:
        """Entries about `subject` that still have content, with their blobs (for the person's history)."""
        return await self._store.subject_contents(subject)

    async def purge_plan(self, before_ms: int) -> PurgePlan | None:
        """What a retention purge of content written before `before_ms` would delete (None: nothing)."""
        return await self._store.purge_plan(before_ms)

    async def purge_contents(self, through_seq: int) -> int:
        """Delete the content of entries 0..through_seq; the caller has logged the purge first."""
        return await self._store.purge_contents(through_seq)

    def add_anchor(self, anchor: Anchor) -> None:
        self._anchors.append(anchor)

    async def start(self) -> None:
        """Rebuild the chain head and Merkle frontier from the stored log, check them, start writing.

        The stored leaf hashes are a cache; before signing anything new the writer makes sure they match its
        own latest signed checkpoint, and recomputes the unsigned tail from the entries themselves — so it
        never extends (and signs) a log that was altered while the bot was down.
        """
        leaves = await self._store.leaves()
        latest = await self._store.latest_checkpoint()
        signed = 0
        if latest is not None:
            signed, self._latest_note = latest
            self._check_signed_prefix(leaves, signed, latest[1])
        for leaf in leaves[:signed]:
            self._frontier.append(leaf)
        self._prev = leaves[signed - 1].hex() if signed else GENESIS
        for entry in await self._store.entries_from(signed):
            leaf = leaf_hash(entry.body)
            if (
                entry.seq != self._frontier.size
                or leaf != entry.leaf
                or f'"prev":"{self._prev}"'.encode() not in entry.body
            ):
                raise AuditIntegrityError(
                    f"entry {entry.seq} does not continue the log; run `guardbot audit verify`"
                )
            self._frontier.append(leaf)
            self._prev = leaf.hex()
        self._checkpointed = signed
        self._checkpointed_at = self._clock.now()
        self._writer = asyncio.create_task(self._write_forever(), name="audit-writer")
        self._ticker = asyncio.create_task(self._tick(), name="audit-ticker")

    def _check_signed_prefix(self, leaves: list[bytes], size: int, note: str) -> None:
        try:
            text = open_note(note, [verifier_for(self.origin, key) for key in self._signers]).text
            checkpoint = parse_checkpoint(text)
        except NoteError as exc:
            raise AuditIntegrityError(
                f"the latest checkpoint does not verify with the signing key ({exc})"
            ) from None
        frontier = Frontier()
        for leaf in leaves[:size]:
            frontier.append(leaf)
        if checkpoint.size != size or len(leaves) < size or frontier.root() != checkpoint.root:
            raise AuditIntegrityError(
                f"the stored log does not match its latest checkpoint ({size}); run `guardbot audit verify`"
            )

    async def append(
        self,
        type: str,
        *,
        actor: str = "system",
        subject: str | None = None,
        data: Mapping[str, Any] | None = None,
        blob: bytes | None = None,
        critical: bool = False,
    ) -> int:
        """Append one entry; returns its seq once it is durable (and, if critical, checkpointed)."""
        return await self.submit(type, actor=actor, subject=subject, data=data, blob=blob, critical=critical)

    def submit(
        self,
        type: str,
        *,
        actor: str = "system",
        subject: str | None = None,
        data: Mapping[str, Any] | None = None,
        blob: bytes | None = None,
        critical: bool = False,
    ) -> asyncio.Future[int]:
        """Queue one entry, in order, without waiting; the future resolves to its seq once durable.

        For records that follow an action rather than precede it (a call's result): nothing waits on them, and
        not waiting measurably eases the reply path. A failure is logged by the writer like any other.
        """
        if self._writer is None or self._closing:
            raise RuntimeError("the audit log is not running")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        ts_ms = int(self._clock.now() * 1000)
        self._pending.append(_Pending(type, actor, subject, data or {}, blob, critical, ts_ms, done))
        self._wake.set()
        return done

    async def checkpoint(self) -> str | None:
        """Sign and store a checkpoint now if entries are waiting for one; returns the latest note."""
        if self._writer is None:  # stopped: nobody else is writing
            if self._frontier.size > self._checkpointed:
                await self._commit([], force_checkpoint=True)
            return self._latest_note
        waiter: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._checkpoint_waiters.append(waiter)
        self._wake.set()
        return await waiter

    async def close(self, anchor_timeout: float = 5.0) -> None:
        """Finish pending entries, sign a final checkpoint, let anchors finish, stop."""
        self._closing = True
        self._wake.set()
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        if self._writer is not None:
            await self._writer
            self._writer = None
        await self.checkpoint()
        if self._anchoring:
            await asyncio.wait(set(self._anchoring), timeout=anchor_timeout)

    def rotate_signer(self, new_key: Ed25519PrivateKey) -> None:
        """From now on checkpoints carry both signatures until `retire_old_signer` (key rotation)."""
        self._signers.append(new_key)

    def retire_old_signer(self) -> None:
        self._signers = self._signers[-1:]

    async def _tick(self) -> None:
        """Once a second, make sure entries do not wait longer than that for a checkpoint."""
        while True:
            await self._clock.sleep(self._checkpoint_interval)
            if self._frontier.size > self._checkpointed and not self._pending:
                self._wake.set()

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._closing and len(self._pending) < BATCH_ENOUGH:
                await self._clock.sleep(self._batch_window)  # let entries arriving meanwhile join
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)
            waiters, self._checkpoint_waiters = self._checkpoint_waiters, []
            due = self._clock.now() - self._checkpointed_at >= self._checkpoint_interval
            if (waiters or due) and self._frontier.size > self._checkpointed:
                await self._commit([], force_checkpoint=True)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(self._latest_note)
            if self._closing and not self._pending:
                return

    async def _commit(self, batch: list[_Pending], force_checkpoint: bool = False) -> None:
        frontier, prev = self._frontier.copy(), self._prev
        entries: list[StoredEntry] = []
        contents: list[StoredContent] = []
        written: list[_Pending] = []
        for item in batch:
            seq = frontier.size
            content_hash = hashlib.sha256(item.blob).hexdigest() if item.blob is not None else None
            try:
                body = build_entry(
                    seq=seq,
                    ts_ms=item.ts_ms,
                    type=item.type,
                    actor=item.actor,
                    subject=item.subject,
                    content=content_hash,
                    prev=prev,
                    data=item.data,
                )
            except Exception as exc:  # noqa: BLE001 - a caller's bug (data it cannot encode): fail that one
                log.error("audit.entry_refused", extra={"type": item.type, "error": type(exc).__name__})
                if not item.done.done():
                    item.done.set_exception(exc)
                continue
            if item.blob is not None and item.subject is not None and content_hash is not None:
                contents.append(StoredContent(content_hash, item.subject, item.blob, seq))
            written.append(item)
            leaf = leaf_hash(body)
            frontier.append(leaf)
            prev = leaf.hex()
            entries.append(StoredEntry(seq, body, leaf))
        critical = any(item.critical for item in written)
        checkpoint = None
        note = None
        by_count = (
            frontier.size - self._checkpointed >= self._checkpoint_every
            and self._clock.now() - self._checkpointed_at >= CHECKPOINT_MIN_GAP
        )
        if frontier.size > self._checkpointed and (force_checkpoint or critical or by_count):
            text = Checkpoint(self.origin, frontier.size, frontier.root()).text()
            note = sign(text, [(self.origin, key) for key in self._signers])
            checkpoint = (frontier.size, note, self._clock.now())
        try:
            await self._store.append(entries, contents, checkpoint)
        except BaseException as exc:
            log.error("audit.write_failed", exc_info=exc, extra={"entries": len(entries)})
            for item in batch:
                if not item.done.done():
                    item.done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        self._frontier, self._prev = frontier, prev
        for item, entry in zip(written, entries, strict=True):
            if not item.done.done():
                item.done.set_result(entry.seq)
        if note is not None:
            self._checkpointed, self._checkpointed_at, self._latest_note = (
                frontier.size,
                self._clock.now(),
                note,
            )
            await self._anchor(note, critical)

    async def _anchor(self, note: str, critical: bool) -> None:
        """Hand the checkpoint to each anchor in the background: an anchor may itself send a message
        (whose audit entry needs this writer), so the writer never waits for one."""
        for anchor in self._anchors:
            task = asyncio.create_task(self._run_anchor(anchor, note, critical), name="audit-anchor")
            self._anchoring.add(task)
            task.add_done_callback(self._anchoring.discard)

    @staticmethod
    async def _run_anchor(anchor: Anchor, note: str, critical: bool) -> None:
        try:
            await anchor(note, critical)
        except Exception as exc:  # an unreachable anchor must not stop the log; it is reported
            log.warning("audit.anchor_failed", exc_info=exc)
