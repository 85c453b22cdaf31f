"""What the rest of Guardbot uses to record things: people in, pseudonyms and encrypted content out.

Callers speak in Telegram user ids and plain content; the trail turns a user id into the person's random
subject id (creating their content key on first use, and logging its commitment), encrypts content under
that key, and appends the entry. Erasure destroys the key and the content and logs that it happened; a
retention purge deletes old content (everyone's) and logs that too. A person's history decrypts what is
still kept about them, for their data export. Nothing here knows about Telegram's types; the Telegram
adapter decides what an update or a call records.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.audit import canonical
from bot.audit.crypto import (
    CryptoError,
    Nonces,
    key_commitment,
    master_key_id,
    new_key,
    seal,
    unseal,
    unwrap_key,
    wrap_key,
)
from bot.audit.entries import new_subject_id
from bot.audit.writer import AuditLog
from bot.clock import Clock
from bot.storage.audit import SubjectContent
from bot.storage.keyring import KeyringStore, SubjectRow

log = logging.getLogger("guardbot.audit")

PURGED = "retention.purged"
"""The entry a retention purge writes before deleting content (verifiers accept the content it covers as
missing; docs/audit-format.md, section 4)."""


@dataclass(frozen=True)
class Subject:
    id: str
    key: bytes
    cipher: AESGCM = field(repr=False, compare=False)

    @classmethod
    def of(cls, subject_id: str, key: bytes) -> Subject:
        return cls(subject_id, key, AESGCM(key))


class SubjectKeys:
    """Subject ids and content keys by Telegram user id, cached (creation is once per user)."""

    def __init__(
        self,
        keyring: KeyringStore,
        master: bytes,
        log: AuditLog,
        clock: Clock,
        *,
        staged_master: bytes | None = None,
        cache_size: int = 10_000,
    ) -> None:
        self._keyring = keyring
        self._master = master
        self._master_id = master_key_id(master)
        # During an interrupted master-key rotation some rows are wrapped by the next key already.
        self._masters = {master_key_id(key): key for key in (master, staged_master) if key is not None}
        self._log = log
        self._clock = clock
        self._cache: OrderedDict[int, Subject] = OrderedDict()
        self._cache_size = cache_size
        self._creating: dict[int, asyncio.Future[Subject]] = {}

    async def get(self, user_id: int) -> Subject:
        cached = self._cache.get(user_id)
        if cached is not None:
            self._cache.move_to_end(user_id)
            return cached
        if user_id in self._creating:  # another task is creating it: share its result
            return await asyncio.shield(self._creating[user_id])
        future: asyncio.Future[Subject] = asyncio.get_running_loop().create_future()
        self._creating[user_id] = future
        try:
            subject = await self._load_or_create(user_id)
            future.set_result(subject)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else should warn
            raise
        finally:
            del self._creating[user_id]
        self._remember(user_id, subject)
        return subject

    async def _load_or_create(self, user_id: int) -> Subject:
        row = await self._keyring.find(user_id)
        if row is not None:
            return Subject.of(row.subject, self._unwrap(row))
        key = new_key()
        row = SubjectRow(user_id, new_subject_id(), wrap_key(self._master, key), self._master_id)
        await self._keyring.add(row, self._clock.now())
        # The commitment is durable before the key encrypts anything.
        await self._log.append(
            "subject.key_created", subject=row.subject, data={"commitment": key_commitment(key)}
        )
        return Subject.of(row.subject, key)

    async def warm(self, user_ids: Sequence[int]) -> None:
        """Load the existing subjects of many users in one query, ahead of a batch of entries about them
        (a broadcast round): one query instead of one per person."""
        missing = [user_id for user_id in user_ids if user_id not in self._cache]
        for row in await self._keyring.find_many(missing):
            if row.user_id not in self._cache:
                self._remember(row.user_id, Subject.of(row.subject, self._unwrap(row)))

    def _remember(self, user_id: int, subject: Subject) -> None:
        self._cache[user_id] = subject
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def destroy(self, user_id: int) -> str | None:
        """Delete the user's key; returns their subject id (None if they never had one)."""
        self._cache.pop(user_id, None)
        row = await self._keyring.forget(user_id)
        return row.subject if row else None

    async def find(self, user_id: int) -> Subject | None:
        """The user's subject if they have one; never creates."""
        if user_id in self._cache:
            return self._cache[user_id]
        row = await self._keyring.find(user_id)
        return Subject.of(row.subject, self._unwrap(row)) if row else None

    def _unwrap(self, row: SubjectRow) -> bytes:
        master = self._masters.get(row.master_key_id)
        if master is None:
            raise CryptoError("a content key is wrapped by a master key this deployment does not have")
        return unwrap_key(master, row.wrapped_key)


@dataclass(frozen=True)
class HistoryItem:
    """One entry about a person that still has content, decrypted: what their data export lists."""

    seq: int
    time: float  # seconds since the epoch, from the entry's ts
    type: str
    data: dict[str, Any]
    content: dict[str, Any]


@dataclass(frozen=True)
class PurgeResult:
    """A retention purge that happened: content rows of entries 0..through_seq (`count` of them) deleted,
    after the `retention.purged` entry `seq` recorded it."""

    through_seq: int
    count: int
    seq: int


Actor = int | str
"""A Telegram user id (recorded as their subject id), or "system" / "bot"."""


def _retrieve(future: asyncio.Future[int]) -> None:
    """Nobody awaits a record_after; the writer has logged any failure, so only mark it retrieved."""
    if not future.cancelled():
        future.exception()


class AuditTrail:
    def __init__(
        self, log: AuditLog, subjects: SubjectKeys, redact: Callable[[str], str] | None = None
    ) -> None:
        self.log = log
        self._subjects = subjects
        self._redact = redact or (lambda text: text)
        self._nonces = Nonces()
        self._purging = asyncio.Lock()  # two overlapping purges would log the same rows twice

    def redact(self, text: str) -> str:
        """Sensitive values replaced by their type before anything is stored (the detector plugs in here)."""
        return self._redact(text)

    async def warm(self, user_ids: Sequence[int]) -> None:
        """Entries about these people follow: load their keys at once (`SubjectKeys.warm`)."""
        await self._subjects.warm(user_ids)

    async def subject_id(self, user_id: int) -> str:
        return (await self._subjects.get(user_id)).id

    async def _prepare(
        self, actor: Actor, about: int | None, content: Mapping[str, Any] | None
    ) -> tuple[str, str | None, bytes | None]:
        actor_id = await self.subject_id(actor) if isinstance(actor, int) else actor
        subject = await self._subjects.get(about) if about is not None else None
        blob = None
        if content is not None and subject is not None:
            blob = seal(subject.cipher, subject.id, canonical.encode(dict(content)), self._nonces)
        return actor_id, (subject.id if subject else None), blob

    async def record(
        self,
        type: str,
        *,
        actor: Actor = "system",
        about: int | None = None,
        data: Mapping[str, Any] | None = None,
        content: Mapping[str, Any] | None = None,
        critical: bool = False,
    ) -> int:
        """Append an entry about user `about` (if any), with `content` encrypted under their key; returns
        its seq once durable."""
        actor_id, subject, blob = await self._prepare(actor, about, content)
        return await self.log.append(
            type, actor=actor_id, subject=subject, data=data, blob=blob, critical=critical
        )

    async def record_after(
        self,
        type: str,
        *,
        actor: Actor = "system",
        about: int | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue an entry about something already done (in order with everything else), without waiting
        for it to be durable: a crash before it lands leaves its action recorded as unconfirmed."""
        actor_id, subject, blob = await self._prepare(actor, about, None)
        pending = self.log.submit(type, actor=actor_id, subject=subject, data=data, blob=blob)
        pending.add_done_callback(_retrieve)

    async def read(self, user_id: int, seq: int) -> dict[str, Any] | None:
        """Decrypt the content of entry `seq` for its person (their data export); None if erased or absent."""
        subject = await self._subjects.find(user_id)
        stored = await self.log.content(seq)
        if subject is None or stored is None or stored.subject != subject.id:
            return None
        value = json.loads(unseal(subject.cipher, subject.id, stored.blob))
        return value if isinstance(value, dict) else None

    async def seal(self, user_id: int, value: Mapping[str, Any]) -> bytes:
        """Encrypt a small record about a person under their content key (for data kept outside the log,
        such as identifiers): readable only with the keyring, shredded with the key on erasure."""
        subject = await self._subjects.get(user_id)
        return seal(subject.cipher, subject.id, canonical.encode(dict(value)), self._nonces)

    async def unseal(self, user_id: int, blob: bytes) -> dict[str, Any] | None:
        """The record `seal` made; None once the person's key is gone (or the blob is not theirs)."""
        subject = await self._subjects.find(user_id)
        if subject is None:
            return None
        try:
            value = json.loads(unseal(subject.cipher, subject.id, blob))
        except CryptoError:
            return None
        return value if isinstance(value, dict) else None

    async def erase(self, user_id: int, *, actor: Actor = "system") -> str | None:
        """Crypto-shred a person: log the erasure (checkpointed), then destroy their key and content."""
        subject = await self._subjects.find(user_id)
        if subject is None:
            return None
        actor_id = await self.subject_id(actor) if isinstance(actor, int) else actor
        await self.log.append("subject.erased", actor=actor_id, subject=subject.id, critical=True)
        await self._subjects.destroy(user_id)
        await self.log.forget_contents(subject.id)
        return subject.id

    async def history(self, user_id: int) -> list[HistoryItem]:
        """Every entry about the person that still has content, decrypted, in seq order (their data export).

        Never creates a key: someone the log has never seen has no history, and asking for it must not
        make them a subject. Erased people have no key left, purged entries no content: neither appears.
        A row that does not belong to its entry or does not open is left out and reported by seq only
        (`audit verify` says what is wrong with it); one damaged row must not withhold the rest.
        """
        subject = await self._subjects.find(user_id)
        if subject is None:
            return []
        items = []
        for row in await self.log.subject_contents(subject.id):
            item = _history_item(subject, row)
            if item is None:
                log.warning("audit.history_row_unreadable", extra={"seq": row.seq})
            else:
                items.append(item)
        return items

    async def purge_contents_before(self, cutoff: float) -> PurgeResult | None:
        """Retention: delete the content of every entry written before `cutoff` (seconds since the epoch).

        Audit first: the purge is logged (a checkpointed `retention.purged` entry naming the last seq it
        covers and how many rows) before anything is deleted, so a crash in between leaves content the log
        already calls purged (the next run deletes it), never content gone without a record. The entries
        themselves stay: they hold only hashes, and the log still verifies. None when nothing is left to purge
        (then nothing is logged either).
        """
        if not math.isfinite(cutoff) or cutoff < 0:
            raise ValueError("the retention cutoff must be a time after the epoch")
        before_ms = int(cutoff * 1000)  # the writer stamps ts the same way, so "before" means the same
        async with self._purging:
            plan = await self.log.purge_plan(before_ms)
            if plan is None:
                return None
            seq = await self.log.append(
                PURGED,
                data={"before_ms": before_ms, "count": plan.count, "through_seq": plan.through_seq},
                critical=True,
            )
            await self.log.purge_contents(plan.through_seq)
        return PurgeResult(plan.through_seq, plan.count, seq)


def _history_item(subject: Subject, row: SubjectContent) -> HistoryItem | None:
    """The decrypted item, or None if the row is not the content its entry names or does not open."""
    try:
        entry = json.loads(row.body)
        if entry["content"] != row.hash or entry["subject"] != subject.id:
            return None
        content = json.loads(unseal(subject.cipher, subject.id, row.blob))
        ts, type_name, data = entry["ts"], entry["type"], entry["data"]
    except (CryptoError, ValueError, KeyError, TypeError, RecursionError):
        return None
    if not (isinstance(content, dict) and isinstance(data, dict) and isinstance(type_name, str)):
        return None
    if not isinstance(ts, int) or isinstance(ts, bool):
        return None
    return HistoryItem(seq=row.seq, time=ts / 1000, type=type_name, data=data, content=content)
