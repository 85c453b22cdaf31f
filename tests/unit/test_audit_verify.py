"""Tampering with a copy of a real audit log (1,037 entries, 10 checkpoints, one erased subject) and checking
that verification names what happened — on the export file and on the live database alike.

The log is built once per module through AuditStore (tests/audit_builder.py). Each test takes its parts
(entry bodies, content rows, checkpoint notes), tampers the way an attacker would (updating the export
header's counts, recomputing the chain when that is the attack), writes them back as an export file or as
an audit.db, and verifies. `target` is an entry inside the checkpoint interval 500..599, so a root mismatch
that cannot be narrowed further points at "seq 500..599".
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

import bot.audit.verify as verify_module
from bot.audit.canonical import encode
from bot.audit.entries import GENESIS
from bot.audit.export import ExportError, checkpoint_line, content_line, export_log, header_line
from bot.audit.merkle import Frontier, leaf_hash
from bot.audit.note import Verifier, parse_verifier, verifier_for
from bot.audit.verify import (
    VerifyError,
    VerifyReport,
    load_anchors,
    load_verifiers,
    verify_database,
    verify_export,
)
from bot.storage.audit import (
    connect_read_only,
    iter_contents,
    iter_entry_bodies,
    read_checkpoints,
    read_origin,
)
from tests.audit_builder import BuiltLog, build_audit_db_sync, sign_checkpoint, signing_key

MEDIA = ("export", "database")


@dataclass
class Parts:
    """Everything a log holds, as lists an attacker can edit."""

    origin: str
    entries: list[bytes]
    contents: list[tuple[str, str, bytes]]  # hash, subject, blob
    checkpoints: list[tuple[int, str]]  # size (the database column), note
    public_keys: list[str] = field(default_factory=list)

    def copy(self) -> Parts:
        return replace(
            self, entries=list(self.entries), contents=list(self.contents), checkpoints=list(self.checkpoints)
        )

    def value(self, seq: int) -> dict[str, object]:
        value = json.loads(self.entries[seq])
        assert isinstance(value, dict)
        return value

    def note(self, size: int) -> str:
        return next(note for column, note in self.checkpoints if column == size)

    def set_note(self, size: int, note: str, column: int | None = None) -> None:
        self.checkpoints = [
            (size if column is None else column, note) if c == size else (c, n) for c, n in self.checkpoints
        ]


@dataclass(frozen=True)
class Built:
    log: BuiltLog
    parts: Parts
    export: Path
    target: int  # an in.update entry (with content, subject not erased) in 500..599


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("audit")
    log = build_audit_db_sync(root / "audit.db")
    pristine = root / "pristine.db"
    _backup(log.path, pristine)
    log = replace(log, path=pristine)
    export = root / "export.jsonl"
    export_log(log.path, export, [log.verifier.encode()])
    parts = read_parts(log.path, [log.verifier.encode()])
    target = next(
        seq
        for seq in range(517, 600)
        if parts.value(seq)["type"] == "in.update" and parts.value(seq)["subject"] != log.erased_subject
    )
    return Built(log, parts, export, target)


# --- reading and writing logs -------------------------------------------------------------------------------


def _backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def read_parts(db: Path, public_keys: list[str]) -> Parts:
    conn = connect_read_only(db)
    try:
        return Parts(
            origin=read_origin(conn),
            entries=[body for _, body in iter_entry_bodies(conn)],
            contents=[(c.hash, c.subject, c.blob) for c in iter_contents(conn)],
            checkpoints=read_checkpoints(conn),
            public_keys=public_keys,
        )
    finally:
        conn.close()


def write_export(parts: Parts, path: Path) -> Path:
    with path.open("wb") as file:
        file.write(
            header_line(
                origin=parts.origin,
                entries=len(parts.entries),
                contents=len(parts.contents),
                checkpoints=len(parts.checkpoints),
                exported_at_ms=1_767_225_600_000,
                public_keys=parts.public_keys,
            )
        )
        file.writelines(body + b"\n" for body in parts.entries)
        file.writelines(content_line(*row) for row in sorted(parts.contents))
        file.writelines(checkpoint_line(note) for _, note in sorted(parts.checkpoints))
    return path


def write_database(parts: Parts, template: Path, path: Path) -> Path:
    _backup(template, path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM entries")
        conn.execute("DELETE FROM contents")
        conn.execute("DELETE FROM checkpoints")
        conn.executemany(
            "INSERT INTO entries (seq, body, leaf) VALUES (?, ?, ?)",
            [(seq, body, leaf_hash(body)) for seq, body in enumerate(parts.entries)],
        )
        conn.executemany("INSERT INTO contents (hash, subject, blob) VALUES (?, ?, ?)", parts.contents)
        conn.executemany(
            "INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, 0)", sorted(parts.checkpoints)
        )
    conn.close()
    return path


def write_anchors(path: Path, notes: Sequence[str]) -> Path:
    path.write_text("".join(json.dumps({"anchored_at": 1, "checkpoint": n}) + "\n" for n in notes))
    return path


@pytest.fixture
def verify(built: Built, tmp_path: Path) -> Callable[..., VerifyReport]:
    """verify(parts, medium, anchors=(), trusted=None, thorough=False): write the parts out and verify."""

    def run(
        parts: Parts,
        medium: str,
        anchors: Sequence[str] = (),
        trusted: Sequence[Verifier] | None = None,
        thorough: bool = False,
    ) -> VerifyReport:
        keys = [built.log.verifier] if trusted is None else list(trusted)
        if medium == "export":
            report = verify_export(
                write_export(parts, tmp_path / "log.jsonl"), keys, anchors, thorough=thorough
            )
        else:
            db = write_database(parts, built.log.path, tmp_path / "audit.db")
            report = verify_database(db, keys, anchors, thorough=thorough)
        assert report.ok == (report.reason is None)
        return report

    return run


# --- tampering tools ----------------------------------------------------------------------------------------


def rechain(entries: list[bytes], start: int) -> None:
    """What an attacker without the key does after an edit: renumber and recompute every later prev."""
    for seq in range(start, len(entries)):
        value = json.loads(entries[seq])
        value["seq"] = seq
        value["prev"] = GENESIS if seq == 0 else leaf_hash(entries[seq - 1]).hex()
        entries[seq] = encode(value)


def resign(parts: Parts, key_seed: int | None, built: Built, origin: str | None = None) -> None:
    """Recompute every checkpoint for the edited entries and sign it, with the real key (None) or another."""
    key = built.log.signing_key if key_seed is None else signing_key(key_seed)
    roots = _roots(parts.entries)
    name = origin or parts.origin
    parts.checkpoints = [
        (size, sign_checkpoint(name, key, size, roots[size]))
        for size, _ in parts.checkpoints
        if size in roots
    ]


def _roots(entries: list[bytes]) -> dict[int, bytes]:
    frontier, roots = Frontier(), {}
    for body in entries:
        frontier.append(leaf_hash(body))
        roots[frontier.size] = frontier.root()
    return roots


def edit(parts: Parts, seq: int) -> None:
    """A plausible edit: the message id an out-of-band dispute hinges on."""
    value = parts.value(seq)
    data = value["data"]
    assert isinstance(data, dict)
    data["update_id"] = 1
    parts.entries[seq] = encode(value)


def content_seq(parts: Parts, erased: str) -> int:
    """A later entry with content whose subject was not erased."""
    return next(
        seq
        for seq in range(700, 1000)
        if parts.value(seq)["content"] and parts.value(seq)["subject"] != erased
    )


def flip_signature_bit(note: str) -> str:
    text, _, signature = note.rpartition("\n\n")
    dash, name, encoded = signature.strip().split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[10] ^= 0x01  # past the 4-byte key ID: the key is still recognised, the signature fails
    return f"{text}\n\n{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n"


def original_notes(built: Built, sizes: Sequence[int]) -> list[str]:
    return [built.parts.note(size) for size in sizes]


# --- control cases ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("medium", MEDIA)
def test_an_intact_log_verifies_against_its_own_checkpoints_and_says_it_is_not_anchored(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    report = verify(built.parts, medium)
    assert report.ok, report.summary()
    assert (report.entries, report.checkpoints_verified, report.latest_checkpoint) == (1037, 10, 1000)
    assert (report.anchors_given, report.anchored_size, report.unanchored) == (0, None, 37)
    assert report.erased_subjects == 1  # the control case with an erased customer
    assert "not anchored" in report.summary() and "--checkpoints" in report.summary()


def test_the_exporter_writes_exactly_what_the_test_writer_writes(built: Built) -> None:
    ours = write_export(built.parts, built.export.parent / "ours.jsonl").read_bytes().split(b"\n", 1)
    theirs = built.export.read_bytes().split(b"\n", 1)
    assert ours[1] == theirs[1]
    assert json.loads(ours[0]) | {"exported_at": 0} == json.loads(theirs[0]) | {"exported_at": 0}
    report = verify_export(built.export, [built.log.verifier])
    assert report.ok, report.summary()


@pytest.mark.parametrize("medium", MEDIA)
def test_anchored_checkpoints_are_reported_with_the_tail_after_them(
    built: Built, verify: Callable[..., VerifyReport], medium: str, tmp_path: Path
) -> None:
    anchors = load_anchors(write_anchors(tmp_path / "anchors.jsonl", original_notes(built, [300, 600, 900])))
    report = verify(built.parts, medium, anchors)
    assert report.ok, report.summary()
    assert (report.anchors_given, report.anchored_size, report.unanchored) == (3, 900, 137)
    assert "checkpoint 900 signed by a pinned key and anchored" in report.summary()
    assert "137 entries after it are not anchored" in report.summary()


@pytest.mark.parametrize("medium", MEDIA)
def test_erased_content_is_accepted_only_for_the_erased_subject(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    erased = built.log.erased_subject
    assert not any(subject == erased for _, subject, _ in built.parts.contents)
    assert built.parts.value(built.log.erasure_seq)["type"] == "subject.erased"
    report = verify(built.parts, medium)
    assert report.ok and report.erased_subjects == 1


# --- entries ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("medium", MEDIA)
@pytest.mark.parametrize(
    ("where", "reason"),
    [
        (lambda body: len(body) - 1, "is not valid JSON"),  # the closing brace becomes "|"
        (
            lambda body: body.index(b'"data":') + 1,
            "is malformed: must have exactly the fields actor, content, data, prev, seq, subject, ts, type",
        ),  # "data" becomes "eata"
        (
            lambda body: body.index(b'"actor":"s-') + 9,  # "s-…" becomes "r-…"
            "is malformed: actor must be system, bot or a subject id",
        ),
    ],
    ids=["json", "field-name", "actor"],
)
def test_a_flipped_byte_that_breaks_the_entry_names_it(
    built: Built, verify: Callable[..., VerifyReport], medium: str, where: Callable[[bytes], int], reason: str
) -> None:
    parts = built.parts.copy()
    body = bytearray(parts.entries[built.target])
    body[where(bytes(body))] ^= 0x01
    parts.entries[built.target] = bytes(body)
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == built.target
    assert report.reason == f"entry {built.target} {reason}"


@pytest.mark.parametrize("medium", MEDIA)
def test_an_unreadable_content_hash_does_not_hide_the_erasure_after_it(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    """The fast path reads a batch entry by entry when one entry is off; the erasure in the same batch
    must still count, or the erased subject's missing content would look like an earlier problem."""
    parts = built.parts.copy()
    content = parts.value(built.target)["content"]
    assert isinstance(content, str) and built.target < built.log.erasure_seq
    parts.entries[built.target] = parts.entries[built.target].replace(content.encode(), b"z" * 64)
    rechain(parts.entries, built.target + 1)
    report = verify(parts, medium)
    assert report.first_bad == built.target
    assert (
        report.reason
        == f"entry {built.target} is malformed: content must be null or a lower-case hex SHA-256"
    )
    assert not any("missing" in problem for problem in report.problems)


@pytest.mark.parametrize("medium", MEDIA)
def test_a_flipped_byte_that_keeps_the_entry_canonical_is_caught_by_the_chain(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    body = bytearray(parts.entries[built.target])
    body[body.index(b'"chat":"private"') + 8] ^= 0x01  # "private" -> "qrivate"
    parts.entries[built.target] = bytes(body)
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == built.target
    assert f"entry {built.target} was changed" in (report.reason or "")
    assert f"entry {built.target + 1}'s prev does not match the hash of entry {built.target}" in (
        report.reason or ""
    )


@pytest.mark.parametrize("medium", MEDIA)
def test_an_edit_with_the_chain_recomputed_is_caught_by_the_next_signed_root(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    edit(parts, built.target)
    rechain(parts.entries, built.target + 1)
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == 500
    assert report.reason == (
        "an entry in seq 500..599 was changed: the root does not match checkpoint 600 "
        "(signed by a pinned key, in the log; not anchored)"
    )


@pytest.mark.parametrize("medium", MEDIA)
def test_a_deleted_entry_without_renumbering_is_named(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    del parts.entries[built.target]
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == built.target
    assert report.reason == (
        f"entry {built.target} is missing: position {built.target} holds entry {built.target + 1} "
        "(deleted without renumbering)"
    )
    # Its content blob is now an orphan: reported too, after the first problem.
    assert any("referenced by no entry" in problem for problem in report.problems)


@pytest.mark.parametrize("medium", MEDIA)
def test_a_deleted_entry_with_renumbering_is_caught_by_the_next_signed_root(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    deleted = parts.value(built.target)
    del parts.entries[built.target]
    parts.contents = [row for row in parts.contents if row[0] != deleted["content"]]
    rechain(parts.entries, built.target)
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == 500
    assert (report.reason or "").startswith("an entry in seq 500..599 was changed")


def forged_entry(parts: Parts, seq: int) -> bytes:
    value = parts.value(seq)
    value.update(
        type="out.call",
        actor="bot",
        content=None,
        data={"catalog_key": "offer:discount", "catalog_version": "0" * 16, "method": "sendMessage"},
    )
    value["prev"] = leaf_hash(parts.entries[seq - 1]).hex()
    return encode(value)


@pytest.mark.parametrize("medium", MEDIA)
def test_a_forged_entry_inserted_without_renumbering_is_named(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    parts.entries.insert(built.target, forged_entry(parts, built.target))
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == built.target
    assert report.reason == (
        f"an entry was inserted: positions {built.target} and {built.target + 1} "
        f"both claim seq {built.target}"
    )


@pytest.mark.parametrize("medium", MEDIA)
def test_a_forged_entry_inserted_with_renumbering_is_caught_by_the_next_signed_root(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    parts.entries.insert(built.target, forged_entry(parts, built.target))
    rechain(parts.entries, built.target + 1)
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == 500
    assert (report.reason or "").startswith("an entry in seq 500..599 was changed")


@pytest.mark.parametrize("medium", MEDIA)
def test_two_swapped_entries_are_named(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    t = built.target
    parts.entries[t], parts.entries[t + 1] = parts.entries[t + 1], parts.entries[t]
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == t
    assert report.reason == f"entries {t} and {t + 1} are swapped"


@pytest.mark.parametrize("medium", MEDIA)
def test_a_duplicated_entry_is_named(built: Built, verify: Callable[..., VerifyReport], medium: str) -> None:
    parts = built.parts.copy()
    t = built.target
    parts.entries.insert(t + 1, parts.entries[t])
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == t + 1
    assert report.reason == f"entry {t} is duplicated: positions {t} and {t + 1} hold the same entry"


@pytest.mark.parametrize("medium", MEDIA)
@pytest.mark.parametrize(
    "reencode",
    [
        pytest.param(lambda body: json.dumps(json.loads(body), sort_keys=True).encode(), id="with-spaces"),
        pytest.param(
            lambda body: json.dumps(dict(reversed(json.loads(body).items())), separators=(",", ":")).encode(),
            id="keys-reordered",
        ),
        pytest.param(lambda body: body.replace(b'"private"', b'"\\u0070rivate"'), id="escaped-letter"),
    ],
)
def test_an_entry_re_encoded_non_canonically_is_named(
    built: Built, verify: Callable[..., VerifyReport], medium: str, reencode: Callable[[bytes], bytes]
) -> None:
    parts = built.parts.copy()
    original = parts.entries[built.target]
    parts.entries[built.target] = reencode(original)
    assert json.loads(parts.entries[built.target]) == json.loads(original)  # the same value, other bytes
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == built.target
    assert (report.reason or "").startswith(f"entry {built.target} is not canonical JSON")


@pytest.mark.parametrize("medium", MEDIA)
def test_a_problem_in_the_unsigned_tail_is_named_too(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    parts.entries[1020] = parts.entries[1020].replace(b'"seq":1020', b'"seq":1020.0')
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == 1020
    assert report.reason == "entry 1020 holds a value outside the canonical subset (float is not allowed " + (
        "(integers, strings, booleans only))"
    )


# --- truncation and rewriting -------------------------------------------------------------------------------


def truncated(built: Built, size: int) -> Parts:
    """The tail cut off cleanly: entries, their blobs and the checkpoints that covered them."""
    parts = built.parts.copy()
    gone = {parts.value(seq)["content"] for seq in range(size, len(parts.entries))}
    parts.entries = parts.entries[:size]
    parts.contents = [row for row in parts.contents if row[0] not in gone]
    parts.checkpoints = [(s, n) for s, n in parts.checkpoints if s <= size]
    return parts


@pytest.mark.parametrize("medium", MEDIA)
def test_a_truncated_tail_is_invisible_without_an_anchor_and_the_summary_says_so(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    report = verify(truncated(built, 950), medium)
    assert report.ok  # nothing in the log itself betrays a clean cut
    assert (report.entries, report.latest_checkpoint, report.unanchored) == (950, 900, 50)
    assert "not anchored: whoever holds the signing key could have rewritten it" in report.summary()


@pytest.mark.parametrize("medium", MEDIA)
def test_a_truncated_tail_is_caught_against_an_anchored_checkpoint(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    report = verify(truncated(built, 950), medium, original_notes(built, [600, 1000]))
    assert not report.ok
    assert report.first_bad == 950
    assert (
        report.reason
        == "the log has 950 entries but checkpoint 1000 (anchored) covers 1000: entries were removed"
    )
    assert report.anchored_size == 600


@pytest.mark.parametrize("medium", MEDIA)
def test_a_truncation_that_left_the_logs_own_checkpoint_is_caught_without_an_anchor(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = truncated(built, 950)
    parts.checkpoints.append((1000, built.parts.note(1000)))
    report = verify(parts, medium)
    assert not report.ok
    assert report.reason == (
        "the log has 950 entries but checkpoint 1000 (signed, in the log) covers 1000: entries were removed"
    )


@pytest.mark.parametrize("medium", MEDIA)
def test_a_log_re_signed_with_an_attackers_key_is_not_trusted(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    edit(parts, built.target)
    rechain(parts.entries, built.target + 1)
    resign(parts, key_seed=666, built=built)
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad is None
    assert (report.reason or "").startswith(
        "no checkpoint is signed by a trusted key: 10 checkpoints are signed"
    )
    assert report.checkpoints_verified == 0
    assert "nothing vouches for the log" in report.summary()


@pytest.mark.parametrize("medium", MEDIA)
def test_an_insider_rewrite_with_the_real_key_passes_alone_and_is_caught_against_anchors(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    edit(parts, built.target)
    rechain(parts.entries, built.target + 1)
    resign(parts, key_seed=None, built=built)

    alone = verify(parts, medium)
    assert alone.ok  # the limit of a log checked against itself: why anchors exist
    assert "not anchored" in alone.summary()

    anchored = verify(parts, medium, original_notes(built, [300, 600, 900]))
    assert not anchored.ok
    assert anchored.first_bad == 300
    assert anchored.reason == (
        "an entry in seq 300..599 was changed: the root does not match checkpoint 600 (anchored); "
        "the log's own "
        "checkpoints were re-signed to match: it was done with the signing key"
    )


@pytest.mark.parametrize("medium", MEDIA)
def test_thorough_mode_catches_a_non_canonical_entry_the_signer_signed(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    """The fast path trusts the signer to have written canonical entries; thorough mode checks every one."""
    parts = built.parts.copy()
    # Inside the data object, where the fast path does not look: the same value, not canonical bytes.
    parts.entries[built.target] = parts.entries[built.target].replace(b'"private"', b'"\\u0070rivate"')
    rechain(parts.entries, built.target + 1)
    resign(parts, key_seed=None, built=built)
    assert verify(parts, medium).ok
    report = verify(parts, medium, thorough=True)
    assert not report.ok
    assert report.first_bad == built.target
    assert (report.reason or "").startswith(f"entry {built.target} is not canonical JSON")


# --- checkpoints --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("medium", MEDIA)
def test_a_checkpoint_with_a_flipped_signature_bit(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    parts.set_note(600, flip_signature_bit(parts.note(600)))
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad is None
    assert (report.reason or "").startswith("checkpoint 600 in the log has a bad signature by pinned key")


@pytest.mark.parametrize("medium", MEDIA)
def test_a_checkpoint_with_an_altered_size(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    parts.set_note(600, parts.note(600).replace("\n600\n", "\n650\n"), column=650)
    report = verify(parts, medium)
    assert not report.ok
    assert (report.reason or "").startswith("checkpoint 650 in the log has a bad signature by pinned key")


def test_a_checkpoint_row_with_an_altered_size_column(
    built: Built, verify: Callable[..., VerifyReport]
) -> None:
    parts = built.parts.copy()
    parts.set_note(600, parts.note(600), column=650)
    report = verify(parts, "database")
    assert not report.ok
    assert report.reason == "checkpoint row 650 holds the checkpoint of size 600: its size column was altered"


@pytest.mark.parametrize("medium", MEDIA)
def test_a_validly_signed_checkpoint_from_another_log(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    other_origin, other_key = "guardbot.local/log/" + "ab" * 16, signing_key(99)
    parts = built.parts.copy()
    root = _roots(parts.entries)[600]
    parts.set_note(600, sign_checkpoint(other_origin, other_key, 600, root))

    report = verify(parts, medium)
    assert not report.ok
    assert report.reason == (
        f"checkpoint 600 in the log is not signed by a trusted key (signed by {other_origin}+"
        f"{verifier_for(other_origin, other_key).key_id.hex()}); it names another log ({other_origin})"
    )

    both = verify(parts, medium, trusted=[built.log.verifier, verifier_for(other_origin, other_key)])
    assert (
        both.reason
        == f"checkpoint 600 in the log belongs to another log ({other_origin}, not {parts.origin})"
    )


@pytest.mark.parametrize("medium", MEDIA)
def test_a_log_without_any_checkpoint_is_not_trusted(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    parts.checkpoints = []
    report = verify(parts, medium)
    assert not report.ok
    assert report.reason == "no checkpoint is signed by a trusted key: the log has no checkpoint"


# --- contents -----------------------------------------------------------------------------------------------


def _content_index(parts: Parts, content_hash: object) -> int:
    return next(i for i, row in enumerate(parts.contents) if row[0] == content_hash)


@pytest.mark.parametrize("medium", MEDIA)
def test_a_modified_content_blob(built: Built, verify: Callable[..., VerifyReport], medium: str) -> None:
    parts = built.parts.copy()
    seq = content_seq(parts, built.log.erased_subject)
    index = _content_index(parts, parts.value(seq)["content"])
    content_hash, subject, blob = parts.contents[index]
    parts.contents[index] = (content_hash, subject, blob[:20] + bytes([blob[20] ^ 1]) + blob[21:])
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == seq
    assert report.reason == f"content of entry {seq} was modified: its blob does not hash to the entry's"


@pytest.mark.parametrize("medium", MEDIA)
def test_a_content_blob_deleted_without_an_erasure(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    seq = content_seq(parts, built.log.erased_subject)
    del parts.contents[_content_index(parts, parts.value(seq)["content"])]
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad == seq
    assert (
        report.reason
        == f"content of entry {seq} is missing and its subject was not erased (no erasure entry)"
    )


@pytest.mark.parametrize("medium", MEDIA)
def test_a_content_blob_filed_under_another_subject(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    seq = content_seq(parts, built.log.erased_subject)
    index = _content_index(parts, parts.value(seq)["content"])
    content_hash, _, blob = parts.contents[index]
    parts.contents[index] = (content_hash, "s-" + "0" * 32, blob)
    report = verify(parts, medium)
    assert report.first_bad == seq
    assert report.reason == f"content of entry {seq} is stored under another subject than the entry's"


@pytest.mark.parametrize("medium", MEDIA)
def test_a_content_blob_no_entry_references(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    parts = built.parts.copy()
    blob = random.Random(1).randbytes(64)
    parts.contents.append((hashlib.sha256(blob).hexdigest(), "s-" + "1" * 32, blob))
    report = verify(parts, medium)
    assert not report.ok
    assert report.first_bad is None
    assert (report.reason or "").startswith("a stored content blob (")
    assert (report.reason or "").endswith("is referenced by no entry")


@pytest.mark.parametrize("medium", MEDIA)
def test_content_of_an_erased_subject_may_also_still_be_there(
    built: Built, verify: Callable[..., VerifyReport], medium: str
) -> None:
    """An erasure interrupted between its entry and the deletion: accepted, as the key is gone; a warning."""
    parts = built.parts.copy()
    parts.contents.append(built.log.erased_contents[0])
    report = verify(parts, medium)
    assert report.ok, report.summary()
    assert report.warnings == (
        "1 content blob of erased subjects are still stored (unreadable without the destroyed key, "
        "but they should have been deleted)",
    )


# --- structure of the export --------------------------------------------------------------------------------


def test_header_counts_that_do_not_match_the_file(built: Built, tmp_path: Path) -> None:
    lines = built.export.read_bytes().split(b"\n")
    header = json.loads(lines[0])
    header["entries"] -= 1
    lines[0] = encode(header)
    (tmp_path / "x.jsonl").write_bytes(b"\n".join(lines))
    report = verify_export(tmp_path / "x.jsonl", [built.log.verifier])
    assert not report.ok
    assert report.reason is not None and "header announces fewer entries" in report.reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the export has no complete header line: not a Guardbot audit export"),
        (b"hello\n", "the first line is not JSON: not a Guardbot audit export"),
        (
            b'{"format":"other"}\n',
            'the header\'s format is not "guardbot-audit-export": not a Guardbot audit export',
        ),
    ],
)
def test_a_file_that_is_not_an_export(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "x.jsonl").write_bytes(content)
    report = verify_export(tmp_path / "x.jsonl", [])
    assert (report.ok, report.reason) == (False, reason)


def test_crlf_line_endings_are_named(built: Built, tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_bytes(built.export.read_bytes().replace(b"\n", b"\r\n"))
    report = verify_export(tmp_path / "x.jsonl", [built.log.verifier])
    assert (
        report.reason
        == "the export has CRLF line endings (converted by a text tool?): its bytes are not the log's"
    )


def test_a_cut_short_export_is_named(built: Built, tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_bytes(built.export.read_bytes()[:-10])
    report = verify_export(tmp_path / "x.jsonl", [built.log.verifier])
    assert report.reason == "the export does not end with a newline: it was cut short"


def test_an_export_header_naming_other_keys_gives_a_warning(
    built: Built, verify: Callable[..., VerifyReport]
) -> None:
    parts = replace(built.parts.copy(), public_keys=[verifier_for("x", signing_key(5)).encode()])
    report = verify(parts, "export")
    assert report.ok
    assert report.warnings == (
        "the export names public keys that are not pinned (informative only; they were not used)",
    )


# --- modes --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tamper", ["none", "swap", "rechained-edit", "blob-modified", "blob-deleted"])
def test_the_worker_process_and_thorough_mode_give_the_same_report(
    built: Built, tmp_path: Path, tamper: str
) -> None:
    parts = built.parts.copy()
    if tamper == "swap":
        parts.entries[700], parts.entries[701] = parts.entries[701], parts.entries[700]
    elif tamper == "rechained-edit":
        edit(parts, built.target)
        rechain(parts.entries, built.target + 1)
    elif tamper == "blob-modified":  # the last blob: in the worker's share of the contents
        content_hash, subject, blob = parts.contents[-1]
        parts.contents[-1] = (content_hash, subject, blob[::-1])
    elif tamper == "blob-deleted":
        del parts.contents[-1]
    path = write_export(parts, tmp_path / "x.jsonl")
    inline = verify_export(path, [built.log.verifier], parallel=False)
    assert verify_export(path, [built.log.verifier], parallel=True) == inline
    thorough = verify_export(path, [built.log.verifier], thorough=True)
    assert (thorough.ok, thorough.first_bad, thorough.reason) == (inline.ok, inline.first_bad, inline.reason)


# --- input files --------------------------------------------------------------------------------------------


def test_load_verifiers_skips_comments_and_names_a_bad_line(built: Built, tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# the audit key\n\n{built.log.verifier.encode()}\n")
    assert [v.encode() for v in load_verifiers(keys)] == [built.log.verifier.encode()]
    keys.write_text("# nothing\n")
    with pytest.raises(VerifyError, match="no public key"):
        load_verifiers(keys)
    keys.write_text(f"{built.log.verifier.encode()}\nnot-a-key\n")
    with pytest.raises(VerifyError, match=r"keys\.txt:2: not a verifier key"):
        load_verifiers(keys)


def test_load_anchors_ignores_other_keys_and_names_a_bad_line(built: Built, tmp_path: Path) -> None:
    anchors = write_anchors(tmp_path / "a.jsonl", original_notes(built, [100, 200]))
    assert load_anchors(anchors) == original_notes(built, [100, 200])
    anchors.write_text(anchors.read_text() + '{"anchored_at": 3}\n')
    with pytest.raises(VerifyError, match=r"a\.jsonl:3: expected an object with a \"checkpoint\" string"):
        load_anchors(anchors)
    anchors.write_text("\n")
    assert load_anchors(anchors) == []  # nothing anchored yet; the report will say "not anchored"
    anchors.write_text("{not json\n")
    with pytest.raises(VerifyError, match=r"a\.jsonl:1: not a JSON line"):
        load_anchors(anchors)


def test_a_missing_database_is_an_error_not_a_report(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_database(tmp_path / "nope.db", [])


def test_the_database_is_only_read(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "audit.db"
    _backup(built.log.path, copy)
    before = copy.read_bytes()
    assert verify_database(copy, [built.log.verifier]).ok
    assert copy.read_bytes() == before


# --- the format document ------------------------------------------------------------------------------------

FORMAT_DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-format.md"


def _doc_block(marker: str) -> str:
    """The fenced block that follows `<!-- marker -->` in docs/audit-format.md."""
    after = FORMAT_DOC.read_text(encoding="utf-8").split(f"<!-- {marker} -->\n", 1)[1]
    return after.split("\n", 1)[1].split("```", 1)[0]


def test_the_worked_example_in_the_format_document_verifies(tmp_path: Path) -> None:
    export = tmp_path / "example.jsonl"
    export.write_text(_doc_block("example-export"), encoding="utf-8")
    key = parse_verifier(_doc_block("example-key").strip())
    report = verify_export(export, [key])
    assert report.ok, report.summary()
    assert (report.entries, report.checkpoints_verified, report.latest_checkpoint) == (3, 1, 3)


@pytest.fixture(scope="module")
def minimal_verifier() -> Callable[..., None]:
    """The document's minimal verifier, as an auditor would copy it."""
    namespace: dict[str, object] = {"__name__": "verify_min"}
    exec(compile(_doc_block("minimal-verifier"), "verify_min.py", "exec"), namespace)
    verify_function = namespace["verify"]
    assert callable(verify_function)
    return verify_function


def test_the_minimal_verifier_of_the_format_document_agrees(
    built: Built, tmp_path: Path, minimal_verifier: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    key = built.log.verifier.encode()
    minimal_verifier(str(built.export), key)
    assert capsys.readouterr().out == "intact: 1037 entries, 37 after the latest checkpoint (1000)\n"

    edited = built.parts.copy()
    edit(edited, built.target)
    rechain(edited.entries, built.target + 1)
    modified = built.parts.copy()
    content_hash, subject, blob = modified.contents[0]
    modified.contents[0] = (content_hash, subject, blob[::-1])
    resigned = edited.copy()
    resign(resigned, key_seed=666, built=built)
    cases = [
        (edited, (), "root does not match checkpoint 600"),
        (modified, (), "a blob was modified"),
        (truncated(built, 950), original_notes(built, [1000]), "entries were removed"),
        (resigned, (), "not signed by a trusted key"),
    ]
    for parts, anchors, reason in cases:
        path = write_export(parts, tmp_path / "case.jsonl")
        assert not verify_export(path, [built.log.verifier], anchors).ok
        with pytest.raises(SystemExit, match=reason):
            minimal_verifier(str(path), key, anchors)


# --- the verifier's Merkle tree -----------------------------------------------------------------------------


def test_the_chunked_tree_gives_the_frontiers_roots_across_chunk_boundaries() -> None:
    """The test logs fit in one 4,096-leaf chunk; with 4-leaf chunks every merging path is exercised."""

    class SmallTree(verify_module._Tree):
        CHUNK = 4

    rng = random.Random(3)
    leaves = [leaf_hash(rng.randbytes(8)) for _ in range(150)]
    frontier, expected = Frontier(), {0: Frontier().root()}
    for leaf in leaves:
        frontier.append(leaf)
        expected[frontier.size] = frontier.root()
    tree = SmallTree(frozenset(expected))
    position = 0
    while position < len(leaves):  # batches of uneven sizes, as the readers deliver them
        size = rng.randint(0, 11)
        tree.extend(leaves[position : position + size])
        position += size
    assert tree.finish() == expected


# --- export -------------------------------------------------------------------------------------------------


def test_an_entry_with_a_raw_newline_cannot_be_exported_and_nothing_is_left_behind(
    built: Built, tmp_path: Path
) -> None:
    parts = built.parts.copy()
    parts.entries[5] = parts.entries[5].replace(b'"data":{', b'"data":{\n', 1)
    db = write_database(parts, built.log.path, tmp_path / "audit.db")
    out = tmp_path / "out" / "export.jsonl"
    out.parent.mkdir()
    with pytest.raises(ExportError, match="entry row 5 contains a newline byte"):
        export_log(db, out, [])
    assert list(out.parent.iterdir()) == []
    report = verify_database(db, [built.log.verifier])
    assert (report.first_bad, (report.reason or "")[:33]) == (5, "entry 5 is not canonical JSON (it")


def test_a_mistyped_public_key_is_refused_before_anything_is_written(built: Built, tmp_path: Path) -> None:
    name, _, key = built.log.verifier.encode().split("+", 2)
    with pytest.raises(ExportError, match="verifier key's ID does not match"):
        export_log(built.log.path, tmp_path / "x.jsonl", [f"{name}+00000000+{key}"])
    assert not (tmp_path / "x.jsonl").exists()
