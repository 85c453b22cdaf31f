"""Verifying the audit log: offline from an export file, or a live `audit.db` opened read-only.

One algorithm, two readers. `_ExportSource` and `_DatabaseSource` only hand out the origin, the log's
checkpoint notes, the entry bodies from a position on, and the content rows; the checks, the order they run in
and the wording of every reason are shared (docs/audit-format.md, "What the reference verifier checks").

What is trusted. Only the Ed25519 keys the caller pins, never a key read from the log or the export header. A
checkpoint counts when a pinned key signed it, it names this log's origin and its root equals the RFC 6962
root of the entries it covers. Checkpoints handed in by the auditor (anchors) are checked the same way; they
are what catches truncation and a rewrite by whoever holds the signing key, so the report always says whether
the log was anchored and how many entries lie after the last anchor.

Why a fast path. The target is >= 200,000 entries/s on a 1,000,000-entry export on a 2-core machine. Measured
here per ~390-byte entry: json.loads 5.3 us, re-encoding 6.1 us, SHA-256 0.85 us, a Merkle frontier step
0.85-1.8 us, a regex over the entry's frame 1.4 us; an Ed25519 verification costs 125-145 us, so a
million-entry log's 10,000 checkpoints alone take 1.3 s. Parsing every entry (~11 us) cannot reach the target,
so:

* Entries covered by a checkpoint are not parsed. For them the root is the proof: if it verifies, the bytes
  are exactly what the signer signed, and the writer only writes canonical, well-formed entries. What is still
  read from them is read at fixed places, which is exact on canonical JSON (a raw `"key":` cannot occur inside
  a JSON string, only scalar fields follow the data object, and the last `"prev":"`/`,"subject":` is therefore
  the top-level one): `"prev":"…","seq":n,` compared byte-wise with the previous leaf and the position
  (`_chain_break`), the content hash right after the actor, the subject, and whether the entry ends in the
  erasure or the retention purge type (`_fast_refs`; the rare purge entries are then parsed in full, for the
  last seq they cover).
* Entries no checkpoint covers (the unsigned tail a crash or the running writer leaves) are fully parsed,
  re-encoded and checked (`_FullChecker`).
* When anything fails — a fast check, a chain link, a root — the affected range is re-read with full parsing
  (`_first_problem`), which names the first bad entry and the precise reason ("entry 517 is not canonical
  JSON", "entries 517 and 518 are swapped") rather than a symptom ("prev mismatch at 518").
* `thorough=True` drops the trust in the signer's encoding: every covered entry is also fully parsed (split
  over both processes), and any failure is re-read as above. About 3x slower.

The work is done a list at a time (lines are split per 1 MB block; hashes, slices and comparisons run as list
comprehensions), because per-line Python steps cost as much as the hashing. The Merkle roots are hashed level
by level over aligned chunks (`_Tree`). For an export of more than PARALLEL_MIN_ENTRIES entries a forked
worker takes half of the work (`_scan` says how it is split); the live database is verified in one process
inside one read transaction, because two processes would see two snapshots of a log that is still growing.
Measured figures are printed by `bench/audit_verify.py`.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import heapq
import itertools
import json
import multiprocessing
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.audit.canonical import NotCanonical, encode, is_canonical
from bot.audit.entries import GENESIS, entry_problem
from bot.audit.export import EXPORT_FORMAT, EXPORT_VERSION, HEADER_KEYS
from bot.audit.merkle import EMPTY_ROOT, node_hash
from bot.audit.note import DASH, Checkpoint, NoteError, Verifier, open_note, parse_checkpoint, parse_verifier
from bot.storage.audit import connect_read_only, read_checkpoints, read_origin

ERASED = "subject.erased"
PURGED = "retention.purged"
PARALLEL_MIN_ENTRIES = 20_000  # below this, starting a worker costs more than it saves
_CHUNK = 1 << 20
_MAX_PROBLEMS = 100
_SHOWN_PROBLEMS = 20

_PREV = b'},"prev":"'
# A content line's fixed tail after the base64 blob: hash, subject, closing brace (123 bytes).
_CONTENT_TAIL = re.compile(rb'","hash":"([0-9a-f]{64})","subject":"(s-[0-9a-f]{32})"\}')
_CONTENT_TAIL_LENGTH = 123
_SUBJECT_LENGTH = 34  # "s-" and 32 hex digits
_MAIN_CONTENT_SHARE = 0.6  # of the blobs, hashed by the main process when a worker helps (see _scan)
_CONTENT_HEAD = b'{"blob":"'
_CONTENT_KEY = b'","content":'  # right after the actor's value
_SUBJECT_KEY = b',"subject":'  # the last one in an entry is the top-level field
_ERASURE_TAIL = b'"type":"subject.erased"}'
_PURGE_TAIL = b'"type":"retention.purged"}'
_TAIL_LENGTH = max(len(_ERASURE_TAIL), len(_PURGE_TAIL))
_HEX_HASH = re.compile(rb"[0-9a-f]{64}")
_NOT_ENTRIES = (b'{"blob":', b'{"checkpoint":')


class VerifyError(ValueError):
    """An input file for the verifier (pinned keys, anchors) is unusable; `str()` names the file and line."""


class _Fatal(Exception):
    """The input is not a log at all (or its structure is broken): nothing after this can be checked."""

    def __init__(self, reason: str, first_bad: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.first_bad = first_bad


# --- the report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    """The outcome; `reason` and `problems` never quote content (only positions, sizes, hashes, key names)."""

    ok: bool
    entries: int
    first_bad: int | None
    reason: str | None
    checkpoints_verified: int
    latest_checkpoint: int | None
    anchored_size: int | None
    anchors_given: int
    unanchored: int
    erased_subjects: int
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # every problem found (up to a limit), the reason first
    origin: str = ""
    source: str = ""  # "export FILE" or "database FILE"
    anchor_source: str = ""  # where the anchors came from, when the caller said
    purged_through: int | None = None  # content of entries 0..this may be gone: a retention purge logged it
    purged_contents: int = 0  # referenced blobs missing because of a logged retention purge

    def summary(self) -> str:
        """A few lines for the terminal; always says against what the log was checked."""
        lines = [self._headline(), self._basis()]
        if self.erased_subjects:
            lines.append(
                f"{_plural(self.erased_subjects, 'subject')} erased: their content is gone, "
                "as the log records"
            )
        if self.purged_through is not None:
            lines.append(
                f"retention: the content of entries 0..{self.purged_through} was purged, as the log records "
                f"({_plural(self.purged_contents, 'blob')} gone)"
            )
        lines += [f"warning: {warning}" for warning in self.warnings]
        if len(self.problems) > 1:
            lines.append(f"further problems ({len(self.problems) - 1}):")
            lines += [f"  {problem}" for problem in self.problems[1:_SHOWN_PROBLEMS]]
        return "\n".join(lines)

    def _headline(self) -> str:
        where = f" ({self.source}, log {self.origin})" if self.source and self.origin else ""
        if self.ok:
            return f"intact: {_plural(self.entries, 'entry', 'entries')}{where}"
        first = "" if self.first_bad is None else f" [first bad entry: {self.first_bad}]"
        return f"NOT INTACT: {self.reason}{first}{where}"

    def _basis(self) -> str:
        if self.anchors_given:
            given = self.anchor_source or f"{_plural(self.anchors_given, 'anchored checkpoint')} given"
            if self.anchored_size is None:
                return f"checked against {given}: none of them verified, so nothing is anchored"
            after = (
                f"{_plural(self.unanchored, 'entry', 'entries')} after it are not anchored"
                if self.unanchored
                else "every entry is anchored"
            )
            return f"checkpoint {self.anchored_size} signed by a pinned key and anchored ({given}); {after}"
        if self.latest_checkpoint is None:
            return (
                "checked against no checkpoint: none is signed by a pinned key, nothing vouches for the log"
            )
        uncovered = "not covered by any signed checkpoint yet" if self.ok else "not covered by a verified one"
        tail = (
            f"; {_plural(self.unanchored, 'entry', 'entries')} after checkpoint {self.latest_checkpoint} "
            f"are {uncovered}"
            if self.unanchored
            else ""
        )
        return (
            "verified against the log's own signed checkpoints only "
            f"(latest verified: {self.latest_checkpoint}, signed by a pinned key) — not anchored: whoever "
            f"holds the signing key could have rewritten it; pass --checkpoints{tail}"
        )


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


# --- input files --------------------------------------------------------------------------------------------


def load_verifiers(path: Path) -> list[Verifier]:
    """Pinned keys: one `name+keyid+base64` verifier key per line; blank lines and `#` comments ignored."""
    verifiers = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            verifiers.append(parse_verifier(text))
        except NoteError as exc:
            raise VerifyError(f"{path}:{number}: {exc}") from None
    if not verifiers:
        raise VerifyError(f"{path}: no public key in the file")
    return verifiers


def load_anchors(path: Path) -> list[str]:
    """Anchored checkpoints: JSON Lines of objects whose "checkpoint" is a signed note; other keys ignored.

    An empty file gives no anchors (the bot's own anchor file is empty until the first checkpoint is sent);
    the report then says that the log is not anchored.
    """
    notes = []
    for number, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            raise VerifyError(f"{path}:{number}: not a JSON line") from None
        if not isinstance(value, dict) or not isinstance(value.get("checkpoint"), str):
            raise VerifyError(
                f'{path}:{number}: expected an object with a "checkpoint" string (the signed note)'
            )
        notes.append(value["checkpoint"])
    return notes


# --- entry points -------------------------------------------------------------------------------------------


def verify_export(
    path: Path,
    trusted: Sequence[Verifier],
    anchors: Sequence[str] = (),
    *,
    thorough: bool = False,
    parallel: bool | None = None,
    anchor_source: str = "",
) -> VerifyReport:
    """Verify an export file. `parallel=None` uses a second process when the log is large and it pays."""
    try:
        source = _ExportSource(path)
    except _Fatal as exc:
        return _fatal_report(exc, 0, "", f"export {path}", anchors, anchor_source)
    if parallel is None:
        parallel = source.count >= PARALLEL_MIN_ENTRIES and _can_fork()
    return _run(source, trusted, anchors, thorough=thorough, parallel=parallel, anchor_source=anchor_source)


def verify_database(
    path: Path,
    trusted: Sequence[Verifier],
    anchors: Sequence[str] = (),
    *,
    thorough: bool = False,
    anchor_source: str = "",
) -> VerifyReport:
    """Verify a live audit.db, read-only, in one read transaction (the writer may keep appending)."""
    try:
        source = _DatabaseSource(path)
    except sqlite3.DatabaseError as exc:
        fatal = _Fatal(f"{path.name} is not a readable audit database ({exc})")
        return _fatal_report(fatal, 0, "", f"database {path}", anchors, anchor_source)
    except _Fatal as exc:
        return _fatal_report(exc, 0, "", f"database {path}", anchors, anchor_source)
    try:
        return _run(source, trusted, anchors, thorough=thorough, parallel=False, anchor_source=anchor_source)
    finally:
        source.close()


def _run(
    source: _Source,
    trusted: Sequence[Verifier],
    anchors: Sequence[str],
    *,
    thorough: bool,
    parallel: bool,
    anchor_source: str,
) -> VerifyReport:
    try:
        return _verify(
            source, trusted, anchors, thorough=thorough, parallel=parallel, anchor_source=anchor_source
        )
    except sqlite3.DatabaseError as exc:
        fatal = _Fatal(f"the database could not be read to the end ({exc})")
        return _fatal_report(fatal, source.count, source.origin, source.label, anchors, anchor_source)
    except _Fatal as exc:
        return _fatal_report(exc, source.count, source.origin, source.label, anchors, anchor_source)


def _fatal_report(
    exc: _Fatal, entries: int, origin: str, label: str, anchors: Sequence[str], anchor_source: str
) -> VerifyReport:
    return VerifyReport(
        ok=False,
        entries=entries,
        first_bad=exc.first_bad,
        reason=exc.reason,
        checkpoints_verified=0,
        latest_checkpoint=None,
        anchored_size=None,
        anchors_given=len(anchors),
        unanchored=entries,
        erased_subjects=0,
        problems=(exc.reason,),
        origin=origin,
        source=label,
        anchor_source=anchor_source,
    )


# --- problems -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    first_bad: int | None
    reason: str


class _Problems:
    """Problems in the order an auditor should read them: by first bad entry, then entry-less ones by rank."""

    def __init__(self) -> None:
        self._items: list[tuple[tuple[bool, int, int, int], _Problem]] = []
        self._order = 0

    def add(self, problem: _Problem, rank: int = 0) -> None:
        key = (problem.first_bad is None, problem.first_bad or 0, rank, self._order)
        self._order += 1
        self._items.append((key, problem))
        if len(self._items) > 2 * _MAX_PROBLEMS:
            self._items = heapq.nsmallest(_MAX_PROBLEMS, self._items)

    def ordered(self) -> list[_Problem]:
        return [problem for _, problem in heapq.nsmallest(_MAX_PROBLEMS, self._items)]

    @property
    def total(self) -> int:
        return self._order


# --- checkpoints --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Note:
    """A checkpoint note as found (in the log or among the anchors), parsed but not yet trusted."""

    note: str
    anchored: bool
    where: str  # for notes that do not even parse: "the checkpoint on line 1050", "anchor #2"
    checkpoint: Checkpoint | None
    error: str | None

    @property
    def label(self) -> str:
        if self.checkpoint is None:
            return self.where
        if self.anchored:
            return f"anchored checkpoint {self.checkpoint.size} ({self.where})"
        return f"checkpoint {self.checkpoint.size} in the log"


def _read_note(note: str, *, anchored: bool, where: str) -> _Note:
    text, separator, _ = note.rpartition("\n\n")
    if not separator:
        return _Note(note, anchored, where, None, "not a signed note: no signature block")
    try:
        return _Note(note, anchored, where, parse_checkpoint(text + "\n"), None)
    except NoteError as exc:
        return _Note(note, anchored, where, None, str(exc))


class _Claims:
    """Indices 0..total-1, each handed out once, to this process and the worker alike (a shared counter).

    Verifying a million-entry log's 10,000 checkpoint signatures takes ~1.4 s; whichever process is done
    with its scan first takes most of them, so neither waits for the other.
    """

    def __init__(self, total: int, shared: Any = None) -> None:
        self.total = total
        self._shared = shared  # a multiprocessing Value, or None within one process
        self._next = 0

    def take(self) -> int | None:
        if self._shared is None:
            index, self._next = self._next, self._next + 1
        else:
            with self._shared.get_lock():
                index = self._shared.value
                self._shared.value = index + 1
        return index if index < self.total else None


def _check_signatures(
    notes: Sequence[str], vkeys: Sequence[str], claims: _Claims
) -> dict[str, tuple[str, str]]:
    """For the notes claimed: ("ok", signers) | ("bad", key) | ("untrusted", signers) | ("malformed", why).

    Takes and returns plain strings so that it can run in the worker process.
    """
    trusted = [parse_verifier(key) for key in vkeys]
    results: dict[str, tuple[str, str]] = {}
    while (index := claims.take()) is not None:
        results[notes[index]] = _check_signature(notes[index], trusted)
    return results


def _check_signature(note: str, trusted: list[Verifier]) -> tuple[str, str]:
    try:
        opened = open_note(note, trusted)
    except NoteError as exc:
        message = str(exc)
        if message.startswith("bad signature"):
            return "bad", message.removeprefix("bad signature by trusted key ").rstrip("…")
        if message.startswith("not signed by any trusted key"):
            return "untrusted", _signer_names(note)
        return "malformed", message
    return "ok", ", ".join(f"{v.name}+{v.key_id.hex()}" for v in opened.signed_by)


def _signer_names(note: str) -> str:
    """`name+keyid` of each signature line, for saying who did sign a note no pinned key signed."""
    names = []
    for line in note.rpartition("\n\n")[2].splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == DASH:
            try:
                names.append(f"{parts[1]}+{base64.b64decode(parts[2], validate=True)[:4].hex()}")
            except binascii.Error:
                names.append(parts[1])
    return ", ".join(dict.fromkeys(names)) or "nobody"


# --- the hash side: leaves, chain, Merkle roots -------------------------------------------------------------


@dataclass(frozen=True)
class _HashScan:
    count: int
    first_break: int | None  # first position whose prev or seq (as the fast path reads them) is wrong
    roots: dict[int, bytes]  # Merkle root at every wanted size


def _scan_hashes(batches: Iterable[list[bytes]], wanted: frozenset[int]) -> _HashScan:
    """Leaf hashes, the prev chain and seq, the roots wanted: the hot loop, a list operation at a time."""
    sha256 = hashlib.sha256
    tree = _Tree(wanted)
    last = GENESIS.encode()
    first_break: int | None = None
    size = 0
    for batch in batches:
        leaves = [sha256(b"\x00" + body).digest() for body in batch]
        if first_break is None:
            first_break = _chain_break(batch, leaves, last, size)
        if leaves:
            last = binascii.hexlify(leaves[-1])
        tree.extend(leaves)
        size += len(batch)
    return _HashScan(size, first_break, tree.finish())


def _chain_break(batch: list[bytes], leaves: list[bytes], last: bytes, base: int) -> int | None:
    """The first position whose `"prev":"…","seq":n,` is not the hash before it and its own position."""
    hexes = [last, *map(binascii.hexlify, leaves[:-1])]
    expected = [b'%s","seq":%d,' % pair for pair in zip(hexes, range(base, base + len(batch)), strict=False)]
    found = [
        body[(at := body.rfind(_PREV) + 10) : at + len(want)]
        for body, want in zip(batch, expected, strict=False)
    ]
    if found == expected:
        return None
    return base + next(i for i, (a, b) in enumerate(zip(found, expected, strict=False)) if a != b)


class _Tree:
    """RFC 6962 roots at the wanted sizes, hashed level by level over aligned chunks of 4,096 leaves.

    Measured here, a per-leaf frontier (merkle.Frontier) costs ~0.85-1.8 us a leaf in Python; hashing a
    chunk's levels with list comprehensions costs about two thirds of that. A root inside a chunk is the fold
    of the complete chunks' subtree roots and at most 12 in-chunk nodes, so 10,000 roots cost ~0.1 s.
    """

    CHUNK = 1 << 12

    def __init__(self, wanted: frozenset[int]) -> None:
        self._wanted = sorted(size for size in wanted if size > 0)
        self._next = 0
        self._roots: dict[int, bytes] = {0: EMPTY_ROOT} if 0 in wanted else {}
        self._stack: list[bytes] = []  # complete chunks' subtree roots, merged like binary carries
        self._chunks = 0
        self._pending: list[bytes] = []

    def extend(self, leaves: list[bytes]) -> None:
        pending = self._pending
        pending += leaves
        if len(pending) >= self.CHUNK:
            full = len(pending) - len(pending) % self.CHUNK
            for start in range(0, full, self.CHUNK):
                self._chunk(pending[start : start + self.CHUNK])
            self._pending = pending[full:]

    def finish(self) -> dict[int, bytes]:
        if self._pending:
            self._chunk(self._pending)
            self._pending = []
        return self._roots

    def _chunk(self, leaves: list[bytes]) -> None:
        levels = _levels(leaves)
        base = self._chunks * self.CHUNK
        wanted = self._wanted
        while self._next < len(wanted) and wanted[self._next] <= base + len(leaves):
            size = wanted[self._next]
            self._next += 1
            self._roots[size] = _fold([*self._stack, *_cover(levels, size - base)])
        if len(leaves) == self.CHUNK:
            node, carry = levels[-1][0], self._chunks
            while carry & 1:
                node = node_hash(self._stack.pop(), node)
                carry >>= 1
            self._stack.append(node)
            self._chunks += 1


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Level k holds the roots of the complete aligned subtrees of 2**k leaves."""
    sha256 = hashlib.sha256
    levels = [leaves]
    while len(levels[-1]) > 1:
        pairs = iter(levels[-1])
        levels.append(
            [sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        )
    return levels


def _cover(levels: list[list[bytes]], size: int) -> list[bytes]:
    """The perfect subtrees that make up [0, size) of a chunk, largest first (RFC 6962 §2.1's split)."""
    nodes, offset = [], 0
    for k in range(size.bit_length() - 1, -1, -1):
        if size >> k & 1:
            nodes.append(levels[k][offset >> k])
            offset += 1 << k
    return nodes


def _fold(nodes: list[bytes]) -> bytes:
    node = nodes[-1]
    for left in reversed(nodes[:-1]):
        node = node_hash(left, node)
    return node


# --- the reference side: seq, subjects, content references, erasures, purges --------------------------------


@dataclass
class _RefScan:
    count: int = 0
    first_anomaly: int | None = None  # first position the fast path found wrong
    tail_problem: _Problem | None = None  # first problem among the fully parsed entries
    refs: dict[bytes, int] = field(default_factory=dict)  # content SHA-256 -> position << 32 | subject
    subjects: list[bytes] = field(default_factory=list)
    subject_index: dict[bytes, int] = field(default_factory=dict)
    erased: dict[int, int] = field(default_factory=dict)  # subject -> position of its (last) erasure entry
    purged: int = -1  # the content of entries 0..purged may be missing: a retention.purged entry covers it
    purged_missing: int = 0  # referenced blobs found missing and accepted because of that (_missing_contents)

    def owners(self, subjects: list[bytes]) -> list[int]:
        """Each subject's index, new subjects numbered in order of appearance."""
        index = self.subject_index
        owners = [index.setdefault(subject, len(index)) for subject in subjects]
        if len(index) > len(self.subjects):
            self.subjects.extend(itertools.islice(index, len(self.subjects), None))
        return owners

    def anomaly(self, position: int) -> None:
        if self.first_anomaly is None or position < self.first_anomaly:
            self.first_anomaly = position

    def purge(self, value: dict[str, Any]) -> None:
        """A well-formed retention.purged entry (checked by _parse_entry: through_seq is below its seq)."""
        self.purged = max(self.purged, value["data"]["through_seq"])


def _scan_refs(batches: Iterable[list[bytes]], fast: int, first_line: int | None) -> _RefScan:
    """The fast path for the first `fast` entries (covered by some checkpoint), full parsing for the rest.

    The fast path only finds the content hash (`"content":` right after the actor), the subject (the last
    `,"subject":`, after the data object) and whether the type is subject.erased or retention.purged (the
    entry's last bytes; a purge entry is then parsed in full for the seq it covers). On a canonical entry
    that is exact; an entry that is not canonical is either under a checkpoint whose root verifies (then the
    signer wrote it, see the module docstring) or re-read with full parsing.
    """
    scan = _RefScan()
    batches = iter(batches)
    count = 0
    previous: bytes | None = None
    rest: list[bytes] = []
    for batch in batches:
        if count + len(batch) > fast:
            batch, rest = batch[: fast - count], batch[fast - count :]
        if batch:
            _fast_refs(scan, batch, count)
            previous = batch[-1]
            count += len(batch)
        if rest:
            break
    checker = _FullChecker(proven=count, previous=previous, first_line=first_line)
    for body, following in _with_next(itertools.chain(rest, itertools.chain.from_iterable(batches))):
        value, problem = checker.check(count, body, following)
        if problem is not None and scan.tail_problem is None:
            scan.tail_problem = problem
        if value is not None:
            _collect(scan, count, value)
        count += 1
    scan.count = count
    return scan


def _fast_refs(scan: _RefScan, batch: list[bytes], base: int) -> None:
    """Content references, erasures and purges of a batch of entries, with list operations (_scan_refs)."""
    starts = [body.find(_CONTENT_KEY, 10) + len(_CONTENT_KEY) for body in batch]
    heads = [body[at : at + 1] for body, at in zip(batch, starts, strict=True)]
    positions = [i for i, head in enumerate(heads) if head == b'"']
    bodies = [batch[i] for i in positions]
    subjects = [subject for subject in _subjects(bodies) if subject is not None]
    keys = [body[starts[i] + 1 : starts[i] + 65] for i, body in zip(positions, bodies, strict=True)]
    try:
        digests = list(map(binascii.unhexlify, keys))
    except binascii.Error:
        digests = []
    if (
        heads.count(b'"') + heads.count(b"n") != len(batch)
        or len(subjects) != len(bodies)
        or len(digests) != len(keys)
        or min(map(len, digests), default=32) != 32
    ):
        for i, body in enumerate(batch):  # something is off: entry by entry, keeping what can be read
            _fast_ref(scan, body, base + i)
        return
    owners = scan.owners(subjects)
    values = [(base + i) << 32 | owner for i, owner in zip(positions, owners, strict=True)]
    collections.deque(map(scan.refs.setdefault, digests, values), maxlen=0)  # the first reference wins
    # Rare: then look at each entry's end. Only the entries' last bytes are searched, so that looking for two
    # types costs what one search of the whole bodies did (measured); a match across two ends costs a look.
    tails = b"".join([body[-_TAIL_LENGTH:] for body in batch])
    if _ERASURE_TAIL in tails or _PURGE_TAIL in tails:
        for i, body in enumerate(batch):
            if body.endswith((_ERASURE_TAIL, _PURGE_TAIL)):
                _fast_ref(scan, body, base + i)


def _fast_ref(scan: _RefScan, body: bytes, pos: int) -> None:
    """One entry's reference, erasure or purge the fast way; what cannot be read is an anomaly to re-scan."""
    if body.endswith(_PURGE_TAIL):
        value, problem = _parse_entry(pos, body)  # rare (one per purge run): read in full, and strictly
        if value is None or problem is not None:
            scan.anomaly(pos)
            return
        scan.purge(value)
    at = body.find(_CONTENT_KEY, 10) + len(_CONTENT_KEY)
    head, erasure = body[at : at + 1], body.endswith(_ERASURE_TAIL)
    subject = _subjects([body])[0]
    if head not in (b'"', b"n") or ((head == b'"' or erasure) and subject is None):
        scan.anomaly(pos)
        return
    if subject is None:
        return
    owner = scan.owners([subject])[0]
    if erasure:
        scan.erased[owner] = pos
    if head == b'"':
        try:
            digest = binascii.unhexlify(body[at + 1 : at + 65])
        except binascii.Error:
            digest = b""
        if len(digest) == 32:
            scan.refs.setdefault(digest, pos << 32 | owner)
        else:
            scan.anomaly(pos)


def _subjects(bodies: list[bytes]) -> list[bytes | None]:
    """The top-level subject id of each entry (the last `,"subject":` is the top-level one), None if null."""
    found = [body.rfind(_SUBJECT_KEY) + len(_SUBJECT_KEY) for body in bodies]
    return [
        body[at + 1 : at + 35] if body[at : at + 1] == b'"' else None
        for body, at in zip(bodies, found, strict=True)
    ]


def _collect(scan: _RefScan, position: int, value: dict[str, Any]) -> None:
    """The references of a fully parsed, well-formed entry (same keys as the fast path's)."""
    if value["type"] == PURGED:
        scan.purge(value)
    if value["subject"] is None:
        return
    subject = scan.owners([value["subject"].encode()])[0]
    if value["content"] is not None:
        scan.refs.setdefault(bytes.fromhex(value["content"]), position << 32 | subject)
    if value["type"] == ERASED:
        scan.erased[subject] = position


def _with_next(items: Iterator[bytes]) -> Iterator[tuple[bytes, bytes | None]]:
    """Each item with the one after it (None at the end): a swap is only recognisable with a look ahead."""
    current = next(items, None)
    while current is not None:
        following = next(items, None)
        yield current, following
        current = following


# --- full checks: the slow, precise path --------------------------------------------------------------------


class _FullChecker:
    """Everything about one entry by full parsing, in order: JSON, canonical form, shape, seq, prev."""

    def __init__(self, *, proven: int, previous: bytes | None, first_line: int | None) -> None:
        self.proven = proven  # entries before this position are vouched for by a verified checkpoint
        self.previous = previous  # the body before the next one checked (None before entry 0)
        self.first_line = first_line  # the export line of entry 0, to name lines in structural errors

    def check(
        self, pos: int, body: bytes, following: bytes | None
    ) -> tuple[dict[str, Any] | None, _Problem | None]:
        """The entry's parsed value (None unless canonical and well-formed) and its first problem, if any."""
        if self.first_line is not None and body.startswith(_NOT_ENTRIES):
            raise _Fatal(
                f"line {pos + self.first_line} is not an entry although the header announces more entries: "
                "the header's counts do not match the file"
            )
        value, why = _parse_entry(pos, body)
        if value is None:
            problem: _Problem | None = _Problem(pos, why or f"entry {pos} is malformed")
        elif value["seq"] != pos:
            problem = _misplaced(pos, body, value["seq"], self.previous, following, self.proven)
        else:
            problem = self._chain(pos, value["prev"])
        self.previous = body
        return value, problem

    def _chain(self, pos: int, prev: str) -> _Problem | None:
        previous = self.previous
        expected = GENESIS if previous is None else hashlib.sha256(b"\x00" + previous).hexdigest()
        if prev == expected:
            return None
        if pos == 0:
            return _Problem(0, "entry 0's prev is not 64 zeros: the first entry must start the chain")
        if pos - 1 >= self.proven:
            return _Problem(
                pos - 1,
                f"entry {pos - 1} was changed (or entry {pos}'s prev was): entry {pos}'s prev does not match "
                f"the hash of entry {pos - 1}",
            )
        return _Problem(
            pos,
            f"entry {pos} was changed: its prev does not match the hash of entry {pos - 1}, "
            "which a verified checkpoint covers",
        )


def _parse_entry(pos: int, body: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed entry if it is canonical and well-formed, else why not."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None, f"entry {pos} is not valid JSON"
    try:
        canonical = encode(value)
    except NotCanonical as exc:
        why = str(exc)
        why = why.partition(": ")[2] if why.startswith("$") else why  # no JSON path: it may name data keys
        return None, f"entry {pos} holds a value outside the canonical subset ({why})"
    except (
        ValueError,
        RecursionError,
    ):  # a lone surrogate cannot be UTF-8; nesting beyond the recursion limit
        return None, f"entry {pos} is not canonical JSON (it cannot be re-encoded)"
    if canonical != body:
        at = next((i for i, (a, b) in enumerate(zip(canonical, body, strict=False)) if a != b), None)
        at = min(len(canonical), len(body)) if at is None else at
        return (
            None,
            f"entry {pos} is not canonical JSON (it differs from its canonical encoding at byte {at})",
        )
    problem = entry_problem(value)
    if problem is None and value["type"] == ERASED and value["subject"] is None:
        problem = "an erasure (subject.erased) needs a subject"
    if problem is None and value["type"] == PURGED:
        problem = _purge_problem(value)
    if problem is not None:
        return None, f"entry {pos} is malformed: {problem}"
    return value, None


def _purge_problem(value: dict[str, Any]) -> str | None:
    """A retention purge must say which entries' content it removed, and only earlier ones: it is what makes
    their missing content acceptable, so it may not reach past itself."""
    through = value["data"].get("through_seq")
    if not isinstance(through, int) or isinstance(through, bool) or not 0 <= through < value["seq"]:
        return "a retention purge (retention.purged) needs data.through_seq, a seq before its own"
    return None


def _misplaced(
    pos: int, body: bytes, seq: int, previous: bytes | None, following: bytes | None, proven: int
) -> _Problem:
    """Why position `pos` holds another seq: deleted, swapped, duplicated, inserted or moved."""
    if seq > pos:
        if seq == pos + 1 and following is not None and _seq_of(following) == pos:
            return _Problem(pos, f"entries {pos} and {pos + 1} are swapped")
        missing = f"entry {pos} is" if seq == pos + 1 else f"entries {pos}..{seq - 1} are"
        return _Problem(
            pos, f"{missing} missing: position {pos} holds entry {seq} (deleted without renumbering)"
        )
    if body == previous:
        return _Problem(pos, f"entry {seq} is duplicated: positions {pos - 1} and {pos} hold the same entry")
    if seq == pos - 1:
        first = pos - 1 if pos - 1 >= proven else pos
        return _Problem(first, f"an entry was inserted: positions {pos - 1} and {pos} both claim seq {seq}")
    return _Problem(pos, f"position {pos} holds entry {seq}: entries were moved or inserted")


def _seq_of(body: bytes) -> int | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    seq = value.get("seq") if isinstance(value, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _first_problem(source: _Source, start: int, stop: int, proven: int) -> _Problem | None:
    """Fully re-check entries [start, stop): the first problem, precisely named."""
    bodies = itertools.chain.from_iterable(source.entries(max(start - 1, 0)))
    previous = next(bodies, None) if start > 0 else None
    checker = _FullChecker(proven=proven, previous=previous, first_line=source.first_line)
    pairs = _with_next(itertools.islice(bodies, stop - start + 1))
    for pos, (body, following) in enumerate(pairs, start):
        if pos >= stop:
            break
        _, problem = checker.check(pos, body, following)
        if problem is not None:
            return problem
    return None


# --- contents -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ContentStats:
    stored_after_erasure: int  # blobs of erased subjects still present (harmless: the key is gone)
    stored_after_purge: int = 0  # blobs of entries a logged purge covers, still present (purge interrupted)

    def __add__(self, other: _ContentStats) -> _ContentStats:
        return _ContentStats(
            self.stored_after_erasure + other.stored_after_erasure,
            self.stored_after_purge + other.stored_after_purge,
        )


_Contents = tuple[list[bytes], list[bytes], list[bytes]]  # a batch of rows: SHA-256 keys, subjects, blobs


@dataclass(frozen=True)
class _Hashed:
    """The content section reduced to what the check needs: keys, subjects, and which blobs do not hash."""

    keys: list[bytes]  # the SHA-256 each row is filed under (raw bytes if the stored hash is not hex)
    owners: list[bytes]  # each row's subject
    mismatched: frozenset[int]  # rows whose blob does not hash to their key


def _hash_contents(batches: Iterable[_Contents]) -> _Hashed:
    """Decode and hash every blob (the costly half of the content check, which the worker can do)."""
    sha256 = hashlib.sha256
    keys: list[bytes] = []
    owners: list[bytes] = []
    mismatched: list[int] = []
    for batch_keys, batch_owners, blobs in batches:
        digests = [sha256(blob).digest() for blob in blobs]
        if digests != batch_keys:
            base = len(keys)
            mismatched += [
                base + i for i, (a, b) in enumerate(zip(digests, batch_keys, strict=True)) if a != b
            ]
        keys += batch_keys
        owners += batch_owners
    return _Hashed(keys, owners, frozenset(mismatched))


def _pack(hashed: _Hashed) -> tuple[bytes, bytes, frozenset[int]]:
    """For the pipe: an export's keys and subjects have fixed widths, so two byte strings carry them
    (measured: pickling 650k-element lists took 0.4 s, these take milliseconds)."""
    keys, owners = b"".join(hashed.keys), b"".join(hashed.owners)
    assert len(keys) == 32 * len(hashed.keys)
    assert len(owners) == _SUBJECT_LENGTH * len(hashed.owners)
    return keys, owners, hashed.mismatched


def _unpack(packed: tuple[bytes, bytes, frozenset[int]]) -> _Hashed:
    keys, owners, mismatched = packed
    width = _SUBJECT_LENGTH
    return _Hashed(
        [keys[i : i + 32] for i in range(0, len(keys), 32)],
        [owners[i : i + width] for i in range(0, len(owners), width)],
        mismatched,
    )


def _match_contents(hashed: _Hashed, scan: _RefScan, problems: _Problems) -> _ContentStats:
    """Match blobs to the entries referencing them (popping the references); counts the blobs still stored
    that erased subjects or a logged purge should have taken away."""
    refs, subjects, erased, purged = scan.refs, scan.subjects, scan.erased, scan.purged
    packed = list(map(refs.pop, hashed.keys, itertools.repeat(-1)))
    if hashed.mismatched or -1 in packed or [subjects[p & 0xFFFFFFFF] for p in packed] != hashed.owners:
        _content_problems(hashed, packed, scan, problems)
    after_erasure = sum(erased.get(p & 0xFFFFFFFF, -1) > p >> 32 for p in packed if p != -1) if erased else 0
    after_purge = sum(0 <= p >> 32 <= purged for p in packed) if purged >= 0 else 0
    return _ContentStats(after_erasure, after_purge)


def _missing_contents(scan: _RefScan, problems: _Problems) -> None:
    """After all blobs were matched: references left are missing content, accepted only for erased subjects
    (an erasure entry for the subject after the referencing entry) and for entries a logged retention purge
    covers (a retention.purged entry after them whose through_seq reaches them)."""
    for ref in scan.refs.values():
        pos, owner = ref >> 32, ref & 0xFFFFFFFF
        if pos <= scan.purged:
            scan.purged_missing += 1
        elif scan.erased.get(owner, -1) <= pos:
            problems.add(
                _Problem(
                    pos,
                    f"content of entry {pos} is missing and its subject was not erased (no erasure entry)",
                )
            )


def _content_problems(hashed: _Hashed, packed: list[int], scan: _RefScan, problems: _Problems) -> None:
    """The slow path when something is off: which row, and what."""
    for row, (key, owner, ref) in enumerate(zip(hashed.keys, hashed.owners, packed, strict=True)):
        if ref == -1:
            problems.add(_Problem(None, f"a stored content blob ({_short(key)}) is referenced by no entry"))
            continue
        pos = ref >> 32
        if row in hashed.mismatched:
            problems.add(
                _Problem(pos, f"content of entry {pos} was modified: its blob does not hash to the entry's")
            )
        elif scan.subjects[ref & 0xFFFFFFFF] != owner:
            problems.add(
                _Problem(pos, f"content of entry {pos} is stored under another subject than the entry's")
            )


def _short(key: bytes) -> str:
    shown = key.hex() if len(key) == 32 else key.decode("ascii", "replace")
    return shown[:16] + "…"


# --- readers ------------------------------------------------------------------------------------------------


class _Source(Protocol):
    label: str
    origin: str
    count: int
    content_count: int
    first_line: int | None  # the export line holding entry 0; None for the database
    path: Path
    public_keys: tuple[str, ...]

    def notes(self, problems: _Problems) -> list[_Note]: ...
    def entries(self, start: int) -> Iterator[list[bytes]]: ...
    def contents(self, first: int = 0, last: int | None = None) -> Iterator[_Contents]: ...


class _Lines:
    """Lists of lines without their newline: `count` lines after the first `skip` (from byte `offset`).

    Read in 1 MB blocks and split in C: a list per block, not a generator step per line (measured here, 1M
    lines cost 0.23 s this way and 0.57 s through a per-line generator). Once exhausted, `end` is the byte
    offset just after the last line, so that the next section can be read without skipping again. A last
    line without a newline is returned as it is.
    """

    def __init__(self, path: Path, *, count: int, skip: int = 0, offset: int = 0) -> None:
        self.path, self.count, self.skip, self.offset = path, count, skip, offset
        self.end: int | None = None

    def __iter__(self) -> Iterator[list[bytes]]:
        with self.path.open("rb", buffering=0) as file:
            file.seek(self.offset)
            position, rest, count, skip = self.offset, b"", self.count, self.skip  # position: of data[0]
            while count > 0:
                block = file.read(_CHUNK)
                if not block:
                    if rest:
                        yield [rest]
                    return
                data = rest + block if rest else block
                if skip:
                    before = len(data)
                    data, skip = _skip_lines(data, skip)
                    position += before - len(data)
                    if skip:
                        rest = data
                        continue
                lines = data.split(b"\n")
                rest = lines.pop()
                if len(lines) >= count:
                    del lines[count:]
                    self.end = position + sum(map(len, lines)) + len(lines)
                    yield lines
                    return
                count -= len(lines)
                position += len(data) - len(rest)
                yield lines
            self.end = position


def _skip_lines(data: bytes, skip: int) -> tuple[bytes, int]:
    """Drop up to `skip` complete lines from `data`: (what is left, how many still to skip)."""
    newlines = data.count(b"\n")
    if newlines < skip:
        return data[data.rfind(b"\n") + 1 :], skip - newlines
    at = -1
    for _ in range(skip):
        at = data.index(b"\n", at + 1)
    return data[at + 1 :], 0


class _ExportSource:
    """An export file: header, entries, contents, checkpoints (bot/audit/export.py)."""

    first_line: int | None = 2

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = f"export {path}"
        with path.open("rb") as file:
            header = _parse_header(file.readline(1 << 20))
        self.origin: str = header["origin"]
        self.count: int = header["entries"]
        self.content_count: int = header["contents"]
        self.checkpoint_count: int = header["checkpoints"]
        self.public_keys: tuple[str, ...] = tuple(header["public_keys"])
        self._tail = _read_tail(path, self.checkpoint_count)
        self._entry_readers: list[_Lines] = []

    def notes(self, problems: _Problems) -> list[_Note]:
        first = 2 + self.count + self.content_count
        notes = [
            _read_note(
                _checkpoint_note(raw, first + i), anchored=False, where=f"the checkpoint on line {first + i}"
            )
            for i, raw in enumerate(self._tail)
        ]
        sizes = [note.checkpoint.size for note in notes if note.checkpoint is not None]
        if any(a >= b for a, b in itertools.pairwise(sizes)):
            problems.add(_Problem(None, "the export's checkpoint lines are not in increasing order of size"))
        return notes

    def entries(self, start: int) -> Iterator[list[bytes]]:
        reader = _Lines(self.path, skip=1 + start, count=self.count - start)
        if start == 0:
            self._entry_readers.append(reader)
        return iter(reader)

    def _after_entries(self, skip: int, count: int) -> _Lines:
        """Lines after the entries: read on from where a full pass over the entries ended, if one did."""
        end = next((reader.end for reader in self._entry_readers if reader.end is not None), None)
        if end is None:
            return _Lines(self.path, skip=1 + self.count + skip, count=count)
        return _Lines(self.path, offset=end, skip=skip, count=count)

    def contents(self, first: int = 0, last: int | None = None) -> Iterator[_Contents]:
        """Content lines [first, last) in batches; with the last one, a check that exactly the checkpoint
        lines follow."""
        last = self.content_count if last is None else last
        final = last == self.content_count
        left = last - first
        number = 2 + self.count + first
        previous = b""
        after: list[bytes] = []
        for batch in self._after_entries(first, left + (self.checkpoint_count + 1 if final else 0)):
            lines = batch[:left]
            if lines:
                keys, owners, blobs = _parse_contents(lines, number)
                if keys[0] <= previous or sorted(keys) != keys or len(set(keys)) != len(keys):
                    raise _Fatal(
                        f"lines {number}..{number + len(lines) - 1}: contents are not ordered by hash"
                    )
                previous = keys[-1]
                yield keys, owners, blobs
                number += len(lines)
                left -= len(lines)
            after += batch[len(lines) :]
        if left or (final and after != self._tail):
            raise _Fatal(
                f"the export's sections do not match its header ({self.count} entries, {self.content_count} "
                f"contents, {self.checkpoint_count} checkpoints): lines were added or removed"
            )


def _parse_contents(lines: list[bytes], number: int) -> _Contents:
    """Keys, subjects and blobs of canonical content lines (line `number` first), by their fixed frame.

    Slices, not a regular expression: measured here, the regex costs 2 us a line, the slices a fifth of it.
    What the slices leave open is closed by the decoding: the base64 is decoded strictly, the hash must be
    lower-case hex, and the subject is compared with the referencing entry's (or the row is an orphan).
    """
    count = len(lines)
    if (
        min(map(len, lines)) >= len(_CONTENT_HEAD) + _CONTENT_TAIL_LENGTH
        and [line[:9] for line in lines].count(_CONTENT_HEAD) == count
        and [line[-123:-113] for line in lines].count(b'","hash":"') == count
        and [line[-49:-36] for line in lines].count(b'","subject":"') == count
        and [line[-2:] for line in lines].count(b'"}') == count
    ):
        hashes = [line[-113:-49] for line in lines]
        if b"".join(hashes).islower():  # with unhexlify: lower-case hex only
            try:
                keys = list(map(binascii.unhexlify, hashes))
                blobs = [binascii.a2b_base64(line[9:-123], strict_mode=True) for line in lines]
            except binascii.Error:
                pass
            else:
                return keys, [line[-36:-2] for line in lines], blobs
    for offset, line in enumerate(lines):
        _content_fields(line, number + offset)  # raises for the first bad line
    raise AssertionError("unreachable: content lines failed as a batch but not one by one")


def _parse_header(raw: bytes) -> dict[str, Any]:
    if not raw.endswith(b"\n"):
        raise _Fatal("the export has no complete header line: not a Guardbot audit export")
    line = raw[:-1]
    if line.endswith(b"\r"):
        raise _Fatal(
            "the export has CRLF line endings (converted by a text tool?): its bytes are not the log's"
        )
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):
        raise _Fatal("the first line is not JSON: not a Guardbot audit export") from None
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise _Fatal(f'the header\'s format is not "{EXPORT_FORMAT}": not a Guardbot audit export')
    if header.get("version") != EXPORT_VERSION:
        raise _Fatal(
            f"export version {header.get('version')!r} is not supported "
            f"(this verifier reads version {EXPORT_VERSION})"
        )
    if tuple(sorted(header)) != HEADER_KEYS:
        raise _Fatal(f"the header must have exactly the fields {', '.join(HEADER_KEYS)}")
    for key in ("checkpoints", "contents", "entries", "exported_at"):
        if not isinstance(header[key], int) or isinstance(header[key], bool) or header[key] < 0:
            raise _Fatal(f"the header's {key} is not a non-negative integer")
    if not isinstance(header["origin"], str) or not header["origin"]:
        raise _Fatal("the header's origin is not a non-empty string")
    if not isinstance(header["public_keys"], list) or not all(
        isinstance(k, str) for k in header["public_keys"]
    ):
        raise _Fatal("the header's public_keys is not a list of strings")
    if not is_canonical(line):
        raise _Fatal("the header is not canonical JSON")
    return header


def _read_tail(path: Path, count: int) -> list[bytes]:
    """The last `count` lines, read from the end: the checkpoints are needed before the entries are read."""
    with path.open("rb") as file:
        end = file.seek(0, os.SEEK_END)
        position, buffer = end, b""
        while position > 0 and buffer.count(b"\n") <= count:
            step = min(_CHUNK, position)
            position -= step
            file.seek(position)
            buffer = file.read(step) + buffer
    if not buffer.endswith(b"\n"):
        raise _Fatal("the export does not end with a newline: it was cut short")
    lines = buffer[:-1].split(b"\n")
    if len(lines) < count + 1:  # the header comes first, at least
        raise _Fatal(f"the export is too short for the {count} checkpoints its header announces")
    return lines[len(lines) - count :] if count else []


def _checkpoint_note(raw: bytes, number: int) -> str:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise _Fatal(f"line {number} is not JSON (a checkpoint line was expected)") from None
    if (
        not isinstance(value, dict)
        or list(value) != ["checkpoint"]
        or not isinstance(value["checkpoint"], str)
    ):
        raise _Fatal(f'line {number} is not a checkpoint line ({{"checkpoint": note}})')
    if not is_canonical(raw):
        raise _Fatal(f"line {number} (a checkpoint) is not canonical JSON")
    return str(value["checkpoint"])


def _content_fields(line: bytes, number: int) -> tuple[bytes, bytes, bytes]:
    """(blob, hash, subject) of a canonical content line, checked by its fixed frame, not a JSON parse."""
    framed = len(line) >= len(_CONTENT_HEAD) + _CONTENT_TAIL_LENGTH and line.startswith(_CONTENT_HEAD)
    found = _CONTENT_TAIL.fullmatch(line, len(line) - _CONTENT_TAIL_LENGTH) if framed else None
    if found is None:
        if line.startswith(b'{"actor":'):
            raise _Fatal(
                f"line {number} is an entry, but the header announces fewer entries: its counts are wrong"
            )
        raise _Fatal(f"line {number} is not a canonical content line")
    try:
        blob = binascii.a2b_base64(line[9 : len(line) - _CONTENT_TAIL_LENGTH], strict_mode=True)
    except binascii.Error:
        raise _Fatal(f"line {number}: the content blob is not valid base64") from None
    return blob, found[1], found[2]


class _DatabaseSource:
    """A live audit.db, read-only, all reads in one transaction (one snapshot of a growing log)."""

    first_line: int | None = None
    public_keys: tuple[str, ...] = ()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = f"database {path}"
        self._conn = connect_read_only(path)
        try:
            self._conn.execute("BEGIN")
            self.origin = read_origin(self._conn)
            if not self.origin:
                raise _Fatal(f"{path.name} has no origin: not an audit database")
            self.count = int(self._conn.execute("SELECT count(*) FROM entries").fetchone()[0])
            self.content_count = int(self._conn.execute("SELECT count(*) FROM contents").fetchone()[0])
        except BaseException:
            self._conn.close()
            raise

    def notes(self, problems: _Problems) -> list[_Note]:
        notes = []
        for size, note in read_checkpoints(self._conn):
            parsed = _read_note(note, anchored=False, where=f"the checkpoint row {size}")
            if parsed.checkpoint is not None and parsed.checkpoint.size != size:
                problems.add(
                    _Problem(
                        None,
                        f"checkpoint row {size} holds the checkpoint of size {parsed.checkpoint.size}: "
                        "its size column was altered",
                    )
                )
            notes.append(parsed)
        return notes

    def entries(self, start: int) -> Iterator[list[bytes]]:
        # CAST: a body stored as TEXT is still hashed as its bytes; the seq column only orders the rows.
        cursor = self._conn.execute(
            "SELECT COALESCE(CAST(body AS BLOB), x'') FROM entries ORDER BY seq LIMIT -1 OFFSET ?", (start,)
        )
        while rows := cursor.fetchmany(4096):
            yield [row[0] for row in rows]

    def contents(self, first: int = 0, last: int | None = None) -> Iterator[_Contents]:
        cursor = self._conn.execute(
            "SELECT COALESCE(CAST(hash AS BLOB), x''), COALESCE(CAST(subject AS BLOB), x''), "
            "COALESCE(CAST(blob AS BLOB), x'') FROM contents ORDER BY hash LIMIT ? OFFSET ?",
            (-1 if last is None else last - first, first),
        )
        while rows := cursor.fetchmany(4096):
            keys = [binascii.unhexlify(h) if _HEX_HASH.fullmatch(h) else h for h, _, _ in rows]
            yield keys, [subject for _, subject, _ in rows], [blob for _, _, blob in rows]

    def close(self) -> None:
        self._conn.close()


# --- the algorithm ------------------------------------------------------------------------------------------


@dataclass
class _Judged:
    """Checkpoints sorted by what they prove: only trusted, same-origin ones are in these lists."""

    verified: list[Checkpoint] = field(default_factory=list)
    verified_anchored: list[Checkpoint] = field(default_factory=list)
    mismatched: list[_Note] = field(default_factory=list)
    trusted: int = 0


def _verify(
    source: _Source,
    trusted: Sequence[Verifier],
    anchors: Sequence[str],
    *,
    thorough: bool,
    parallel: bool,
    anchor_source: str,
) -> VerifyReport:
    problems = _Problems()
    notes = source.notes(problems) + [
        _read_note(note, anchored=True, where=f"anchor #{number}") for number, note in enumerate(anchors, 1)
    ]
    count = source.count
    wanted = frozenset(
        n.checkpoint.size for n in notes if n.checkpoint is not None and n.checkpoint.size <= count
    )
    covered = max(wanted, default=0)  # entries after this are fully parsed in any case
    vkeys = [verifier.encode() for verifier in trusted]
    texts = [note.note for note in notes]

    scanned = _scan(source, wanted, covered, texts, vkeys, problems, parallel=parallel, thorough=thorough)
    hashes, refs = scanned.hashes, scanned.refs
    if hashes.count != count or refs.count != count:
        raise _Fatal(
            f"the {source.label.split()[0]} ends after {min(hashes.count, refs.count)} entries, not {count}"
        )

    judged = _judge(notes, scanned.signatures, hashes, source.origin, count, problems)
    _localize(source, judged, scanned, min(count, covered), problems)
    return _report(source, judged, refs, scanned.stats, problems, anchors, anchor_source, trusted)


@dataclass(frozen=True)
class _Scanned:
    hashes: _HashScan
    signatures: dict[str, tuple[str, str]]
    refs: _RefScan
    stats: _ContentStats
    malformed: int | None  # thorough mode: the first entry that is not canonical and well-formed


def _scan(
    source: _Source,
    wanted: frozenset[int],
    covered: int,
    texts: list[str],
    vkeys: list[str],
    problems: _Problems,
    *,
    parallel: bool,
    thorough: bool,
) -> _Scanned:
    """All the reading and hashing: in one process, or split between this one and a forked worker.

    The split follows CPU time measured on a 1M-entry export: hashing the entries ~2.5 s, reading their
    references ~1.8 s, decoding and hashing 650k blobs ~2.0 s, matching them to references ~0.7 s, verifying
    10,000 signatures ~1.4 s. The worker hashes the entries, then the last 40% of the blobs; this process
    reads the references, then hashes and matches the first 60% of the blobs; both then take signatures
    from a shared counter until none is left, so each ends up with about half of the work. In thorough
    mode each also fully parses half of the entries a checkpoint covers (the rest are parsed anyway).
    """
    notes = list(dict.fromkeys(texts))
    covered = min(covered, source.count)
    if not parallel:
        refs = _scan_refs(source.entries(0), covered, source.first_line)
        lingering = _match_contents(_hash_contents(source.contents()), refs, problems)
        hashes = _scan_hashes(source.entries(0), wanted)
        signatures = _check_signatures(notes, vkeys, _Claims(len(notes)))
        malformed = _first_malformed(source, 0, covered) if thorough else None
        _missing_contents(refs, problems)
        return _Scanned(hashes, signatures, refs, lingering, malformed)
    split = int(_MAIN_CONTENT_SHARE * source.content_count)
    halfway = covered // 2 if thorough else covered
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    job = _Job(context, _worker, (source, wanted, notes, vkeys, counter, split, (halfway, covered)))
    try:
        refs = _scan_refs(source.entries(0), covered, source.first_line)
        malformed = _first_malformed(source, 0, halfway) if thorough else None
        mine = _hash_contents(source.contents(0, split))
        lingering = _match_contents(mine, refs, problems)
        signatures = _check_signatures(notes, vkeys, _Claims(len(notes), counter))
        outcome = job.receive()
    finally:
        job.stop()
    if outcome is None:  # the worker failed or died: do its share here
        hashes, theirs = _scan_hashes(source.entries(0), wanted), _hash_contents(source.contents(split))
        their_malformed = _first_malformed(source, halfway, covered) if thorough else None
    else:
        hashes, packed, their_signatures, their_malformed = outcome
        theirs = _unpack(packed)
        signatures |= their_signatures
    if mine.keys and theirs.keys and mine.keys[-1] >= theirs.keys[0]:
        raise _Fatal(f"line {2 + source.count + split}: contents are not ordered by hash")
    lingering = lingering + _match_contents(theirs, refs, problems)
    missing = [note for note in notes if note not in signatures]
    signatures |= _check_signatures(missing, vkeys, _Claims(len(missing)))
    _missing_contents(refs, problems)
    first_malformed = malformed if malformed is not None else their_malformed
    return _Scanned(hashes, signatures, refs, lingering, first_malformed)


def _worker(
    send: Callable[[Any], None],
    source: _Source,
    wanted: frozenset[int],
    notes: list[str],
    vkeys: list[str],
    counter: Any,
    split: int,
    parse: tuple[int, int],
) -> None:
    """The forked worker's share (see _scan): entry hashes, full parsing of entries [parse) in thorough
    mode, the blobs from `split` on, then signatures until none is left."""
    hashes = _scan_hashes(source.entries(0), wanted)
    malformed = _first_malformed(source, *parse) if parse[0] < parse[1] else None
    hashed = _hash_contents(source.contents(split))
    send((hashes, _pack(hashed), _check_signatures(notes, vkeys, _Claims(len(notes), counter)), malformed))


def _first_malformed(source: _Source, start: int, stop: int) -> int | None:
    """Thorough mode: the first entry in [start, stop) that is not canonical, well-formed JSON."""
    bodies = itertools.islice(itertools.chain.from_iterable(source.entries(start)), max(stop - start, 0))
    for pos, body in enumerate(bodies, start):
        if _parse_entry(pos, body)[1] is not None:
            return pos
    return None


def _judge(
    notes: list[_Note],
    signatures: dict[str, tuple[str, str]],
    hashes: _HashScan,
    origin: str,
    count: int,
    problems: _Problems,
) -> _Judged:
    """Signature, origin, size and root of every checkpoint, the log's own and the anchored ones."""
    judged = _Judged()
    untrusted: list[tuple[_Note, str]] = []
    for note in notes:
        checkpoint = note.checkpoint
        if checkpoint is None:
            problems.add(_Problem(None, f"{note.where} is not a valid checkpoint ({note.error})"))
            continue
        status, detail = signatures[note.note]
        if status == "untrusted":
            untrusted.append((note, detail))
            continue
        if status == "bad":
            problems.add(
                _Problem(None, f"{note.label} has a bad signature by pinned key {detail}…: it was altered")
            )
            continue
        if status != "ok":
            problems.add(_Problem(None, f"{note.label} is not a well-formed signed note ({detail})"))
            continue
        if checkpoint.origin != origin:
            problems.add(
                _Problem(None, f"{note.label} belongs to another log ({checkpoint.origin}, not {origin})")
            )
            continue
        judged.trusted += 1
        if checkpoint.size > count:
            kind = "anchored" if note.anchored else "signed, in the log"
            problems.add(
                _Problem(
                    count,
                    f"the log has {count} entries but checkpoint {checkpoint.size} ({kind}) covers "
                    f"{checkpoint.size}: entries were removed",
                )
            )
        elif hashes.roots[checkpoint.size] == checkpoint.root:
            judged.verified.append(checkpoint)
            if note.anchored:
                judged.verified_anchored.append(checkpoint)
        else:
            judged.mismatched.append(note)
    _report_untrusted(untrusted, judged, origin, count, problems)
    return judged


def _report_untrusted(
    untrusted: list[tuple[_Note, str]], judged: _Judged, origin: str, count: int, problems: _Problems
) -> None:
    if judged.trusted == 0 and count > 0:
        if untrusted:
            signers = ", ".join(dict.fromkeys(detail for _, detail in untrusted))
            counted = _plural(len(untrusted), "checkpoint is", "checkpoints are")
            why = f"{counted} signed only by {signers} (not pinned)"
        else:
            why = "the log has no checkpoint"
        problems.add(_Problem(None, f"no checkpoint is signed by a trusted key: {why}"), rank=-1)
        return
    for note, detail in untrusted:
        assert note.checkpoint is not None
        other = (
            f"; it names another log ({note.checkpoint.origin})" if note.checkpoint.origin != origin else ""
        )
        problems.add(
            _Problem(None, f"{note.label} is not signed by a trusted key (signed by {detail}){other}")
        )


def _localize(source: _Source, judged: _Judged, scanned: _Scanned, covered: int, problems: _Problems) -> None:
    """Turn symptoms (a fast check failed, a chain link or a root does not match) into the first bad entry."""
    refs, hashes = scanned.refs, scanned.hashes
    if refs.tail_problem is not None:
        problems.add(refs.tail_problem)
    bad_size = min((n.checkpoint.size for n in judged.mismatched if n.checkpoint is not None), default=None)
    proven = max((c.size for c in judged.verified if bad_size is None or c.size < bad_size), default=0)
    culprit = _culprit(judged.mismatched, bad_size)
    start = proven
    if culprit is not None and culprit.anchored:
        # Against an anchor, the log's own checkpoints prove nothing: the key holder may have re-signed them.
        start = max((c.size for c in judged.verified_anchored if c.size < _size_of(culprit)), default=0)
    chain = None if hashes.first_break is None else max(hashes.first_break - 1, 0)
    symptoms = [s for s in (refs.first_anomaly, chain, scanned.malformed) if s is not None]
    start = min([start, *symptoms])
    stop = bad_size if bad_size is not None else covered
    found = _first_problem(source, start, stop, proven) if start < stop else None
    if found is not None:
        problems.add(found)
    elif culprit is not None:
        problems.add(_range_problem(culprit, judged, start, proven))


def _size_of(note: _Note) -> int:
    assert note.checkpoint is not None
    return note.checkpoint.size


def _culprit(mismatched: list[_Note], bad_size: int | None) -> _Note | None:
    """The first checkpoint whose root does not match, an anchored one if there is one at that size."""
    at_size = [n for n in mismatched if n.checkpoint is not None and n.checkpoint.size == bad_size]
    return next((n for n in at_size if n.anchored), at_size[0] if at_size else None)


def _range_problem(culprit: _Note, judged: _Judged, start: int, proven: int) -> _Problem:
    """Every entry parses and chains, yet a signed root differs: an edit with the chain recomputed."""
    size = _size_of(culprit)
    later = [c for c in judged.verified if c.size >= size]
    if culprit.anchored:
        reason = (
            f"an entry in seq {start}..{size - 1} was changed: "
            f"the root does not match checkpoint {size} (anchored)"
        )
        if later:
            reason += "; the log's own checkpoints were re-signed to match: it was done with the signing key"
        return _Problem(start, reason)
    if later:
        return _Problem(
            None,
            f"checkpoint {size} in the log is signed by a pinned key but its root does not match entries "
            f"0..{size - 1}, which checkpoint {later[0].size} confirms: the signing key signed two histories",
        )
    return _Problem(
        start,
        f"an entry in seq {start}..{size - 1} was changed: the root does not match checkpoint {size} "
        "(signed by a pinned key, in the log; not anchored)",
    )


def _report(
    source: _Source,
    judged: _Judged,
    refs: _RefScan,
    stats: _ContentStats,
    problems: _Problems,
    anchors: Sequence[str],
    anchor_source: str,
    trusted: Sequence[Verifier],
) -> VerifyReport:
    ordered = problems.ordered()
    latest = max((c.size for c in judged.verified), default=None)
    anchored = max((c.size for c in judged.verified_anchored), default=None)
    base = anchored if anchors else latest
    warnings = []
    if stats.stored_after_erasure:
        warnings.append(
            f"{_plural(stats.stored_after_erasure, 'content blob')} of erased subjects "
            "are still stored (unreadable without the destroyed key, but they should have been deleted)"
        )
    if stats.stored_after_purge:
        warnings.append(
            f"{_plural(stats.stored_after_purge, 'content blob')} of entries a retention purge covers "
            "are still stored (the purge was logged but did not finish; the next purge deletes them)"
        )
    pinned = {verifier.encode() for verifier in trusted}
    if any(key not in pinned for key in source.public_keys):
        warnings.append(
            "the export names public keys that are not pinned (informative only; they were not used)"
        )
    shown = [p.reason for p in ordered]
    if problems.total > len(shown):
        shown.append(f"… and {problems.total - len(shown)} more")
    return VerifyReport(
        ok=problems.total == 0,
        entries=source.count,
        first_bad=ordered[0].first_bad if ordered else None,
        reason=ordered[0].reason if ordered else None,
        checkpoints_verified=len({(c.size, c.root) for c in judged.verified}),
        latest_checkpoint=latest,
        anchored_size=anchored,
        anchors_given=len(anchors),
        unanchored=source.count - (base or 0),
        erased_subjects=len(refs.erased),
        warnings=tuple(warnings),
        problems=tuple(shown),
        origin=source.origin,
        source=source.label,
        anchor_source=anchor_source,
        purged_through=refs.purged if refs.purged >= 0 else None,
        purged_contents=refs.purged_missing,
    )


# --- the worker process -------------------------------------------------------------------------------------


def _can_fork() -> bool:
    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


class _Job:
    """A function run in a forked child that sends messages back; None from `receive()` means it failed
    or died (the caller then does that share itself), a structural error in the input is raised here."""

    def __init__(self, context: Any, target: Callable[..., None], args: tuple[Any, ...]) -> None:
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_run_job, args=(sender, target, args), daemon=True)
        self._process.start()
        sender.close()
        self._failed = False

    def receive(self) -> Any:
        if self._failed:
            return None
        while not self._receiver.poll(0.5):
            if not self._process.is_alive() and not self._receiver.poll():
                self._failed = True
                return None
        try:
            status, payload = self._receiver.recv()
        except (EOFError, OSError):
            status, payload = "error", None
        if status == "fatal":
            raise _Fatal(*payload)
        if status != "ok":
            self._failed = True
            return None
        return payload

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receiver.close()


def _run_job(sender: Any, target: Callable[..., None], args: tuple[Any, ...]) -> None:
    try:
        target(lambda payload: sender.send(("ok", payload)), *args)
    except _Fatal as exc:
        sender.send(("fatal", (exc.reason, exc.first_bad)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which then does the work itself
        sender.send(("error", type(exc).__name__))
    sender.close()
