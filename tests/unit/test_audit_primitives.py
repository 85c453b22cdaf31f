"""The audit log's building blocks against their specifications: canonical JSON (the RFC 8785 subset), the
RFC 6962 Merkle tree (published test vectors, and the frontier against the recursive definition), C2SP signed
notes (the golang.org/x/mod/sumdb/note example, byte for byte) and verifier keys."""

from __future__ import annotations

import base64
import json
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.audit import merkle
from bot.audit.canonical import MAX_SAFE_INTEGER, NotCanonical, encode, is_canonical
from bot.audit.entries import build_entry, entry_problem, new_subject_id
from bot.audit.note import (
    Checkpoint,
    NoteError,
    key_id,
    open_note,
    parse_checkpoint,
    parse_verifier,
    sign,
    verifier_for,
)

# --- canonical JSON -----------------------------------------------------------------------------------------


def test_keys_are_sorted_and_there_is_no_whitespace() -> None:
    value = {"b": 1, "a": [True, None, "x", -7], "B": {"z": {}, "_": []}}
    assert encode(value) == b'{"B":{"_":[],"z":{}},"a":[true,null,"x",-7],"b":1}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"', rb'"\""'),
        ("\\", rb'"\\"'),
        ("\b\t\n\f\r", rb'"\b\t\n\f\r"'),  # the five short escapes of RFC 8785 §3.2.2.2
        ("\x00\x01\x1f", rb'"\u0000\u0001\u001f"'),  # other controls: \u00xx, lower-case hex
        ("/", b'"/"'),  # never escaped
        ("\x7f", b'"\x7f"'),  # DEL is not a control character for JSON
        ("é€😀", '"é€😀"'.encode()),  # raw UTF-8, no \u escapes
        ("\u2028\u2029", '"\u2028\u2029"'.encode()),  # raw as well (JSON allows them; JCS does not escape)
    ],
)
def test_strings_are_escaped_as_rfc_8785_says(text: str, expected: bytes) -> None:
    assert encode(text) == expected
    assert is_canonical(expected)
    assert json.loads(expected) == text


def test_integers_up_to_53_bits_and_nothing_else() -> None:
    assert (
        encode([0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == b"[0,-1,9007199254740991,-9007199254740991]"
    )
    for value in (2**53, -(2**53), 1.0, 0.5, float("nan"), float("inf")):
        with pytest.raises(NotCanonical):
            encode({"n": value})


@pytest.mark.parametrize("value", [{"é": 1}, {1: 2}, {"a": b"bytes"}, {"a": {1, 2}}, {"a": object()}])
def test_values_outside_the_subset_are_refused(value: object) -> None:
    with pytest.raises(NotCanonical):
        encode(value)


def test_a_lone_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(NotCanonical, match="valid Unicode"):  # no UTF-8 for a lone surrogate
        encode("\ud800")
    assert not is_canonical(b'"\\ud800"')


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1}',  # whitespace
        b'{"b":1,"a":2}',  # key order
        b'{"a":1,"a":1}',  # duplicate key
        b'"\\u0041"',  # an escape where the character itself belongs
        b'"\\/"',  # an escaped slash
        b"1.0",
        b"1e2",
        b"-0",
        b"01",
        b"9007199254740992",  # 2**53
        b'{"a":1}\n',  # trailing newline
        b'\xef\xbb\xbf{"a":1}',  # byte order mark
        b'"\xff"',  # not UTF-8
        b"",
    ],
)
def test_other_spellings_of_the_same_value_are_not_canonical(raw: bytes) -> None:
    assert not is_canonical(raw)


def test_deep_nesting_is_not_canonical_rather_than_a_crash() -> None:
    assert not is_canonical(b"[" * 100_000 + b"]" * 100_000)


def test_entries_round_trip_and_their_shape_is_checked() -> None:
    subject = new_subject_id()
    body = build_entry(
        seq=3,
        ts_ms=1,
        type="in.update",
        actor=subject,
        subject=subject,
        content="ab" * 32,
        prev="0" * 64,
        data={},
    )
    assert is_canonical(body)
    assert entry_problem(json.loads(body)) is None
    bad = json.loads(body) | {"subject": None}
    assert entry_problem(bad) == "content needs a subject (whose key encrypts it)"


# --- Merkle tree --------------------------------------------------------------------------------------------

# RFC 6962 test data (certificate-transparency and transparency-dev share it): leaves and the roots of the
# trees over the first 1..8 of them.
RFC6962_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_the_frontier_gives_the_rfc_6962_test_roots() -> None:
    frontier = merkle.Frontier()
    assert frontier.root() == merkle.EMPTY_ROOT
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for leaf, root in zip(RFC6962_LEAVES, RFC6962_ROOTS, strict=True):
        frontier.append(merkle.leaf_hash(bytes.fromhex(leaf)))
        assert frontier.root().hex() == root


def test_the_frontier_equals_the_recursive_definition_for_sizes_0_to_130() -> None:
    rng = random.Random(6962)
    leaves = [merkle.leaf_hash(rng.randbytes(rng.randint(0, 40))) for _ in range(130)]
    frontier = merkle.Frontier()
    assert frontier.root() == merkle.tree_root([])
    for size in range(1, 131):
        frontier.append(leaves[size - 1])
        assert frontier.size == size
        assert frontier.root() == merkle.tree_root(leaves[:size]), size
        assert frontier.copy().root() == frontier.root()


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    left, right = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.node_hash(left, right) != merkle.leaf_hash(left + right)  # 0x01 vs 0x00 prefix


# --- signed notes and checkpoints ---------------------------------------------------------------------------

# The example of golang.org/x/mod/sumdb/note: Ed25519 is deterministic, so signing the text with the
# published key must give the published note byte for byte.
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
GO_NOTE = f"{GO_TEXT}\n— PeterNeumann {GO_SIGNATURE}\n"


def _go_key() -> Ed25519PrivateKey:
    encoded = GO_SIGNER.split("+", 4)[4]  # the base64 itself contains a '+'
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded)[1:])


def test_signing_reproduces_the_go_sumdb_note_example() -> None:
    assert sign(GO_TEXT, [("PeterNeumann", _go_key())]) == GO_NOTE
    assert verifier_for("PeterNeumann", _go_key()).encode() == GO_VERIFIER


def test_opening_the_go_sumdb_note_example() -> None:
    opened = open_note(GO_NOTE, [parse_verifier(GO_VERIFIER)])
    assert opened.text == GO_TEXT
    assert [v.encode() for v in opened.signed_by] == [GO_VERIFIER]


def test_a_changed_text_or_signature_is_a_bad_signature() -> None:
    verifier = parse_verifier(GO_VERIFIER)
    with pytest.raises(NoteError, match="bad signature"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [verifier])
    text, _, line = GO_NOTE.rpartition("\n\n")
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[30] ^= 0x40
    flipped = f"{text}\n\n— PeterNeumann {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(NoteError, match="bad signature"):
        open_note(flipped, [verifier])


def test_unknown_signers_are_ignored_and_a_note_without_a_known_one_is_refused() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    both = sign(GO_TEXT, [("PeterNeumann", _go_key()), ("someone.else", other)])
    assert open_note(both, [parse_verifier(GO_VERIFIER)]).text == GO_TEXT
    with pytest.raises(NoteError, match="not signed by any trusted key"):
        open_note(sign(GO_TEXT, [("someone.else", other)]), [parse_verifier(GO_VERIFIER)])
    # Same key, other name: another key ID, so not the pinned key either.
    with pytest.raises(NoteError, match="not signed by any trusted key"):
        open_note(sign(GO_TEXT, [("PeterNeumann2", _go_key())]), [parse_verifier(GO_VERIFIER)])


def test_a_rotation_checkpoint_signed_by_old_and_new_key_opens_with_either() -> None:
    origin = "guardbot.local/log/" + "0" * 32
    old, new = (Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in (1, 2))
    note = sign(Checkpoint(origin, 7, bytes(32)).text(), [(origin, old), (origin, new)])
    for pinned in ([verifier_for(origin, old)], [verifier_for(origin, new)]):
        assert open_note(note, pinned).signed_by == tuple(pinned)
    assert len(open_note(note, [verifier_for(origin, old), verifier_for(origin, new)]).signed_by) == 2


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,  # no signature block
        GO_NOTE[:-1],  # no final newline
        GO_NOTE.replace("— ", "-- "),
        GO_NOTE.replace("x08go", "x08go!"),  # not base64
        GO_TEXT.replace("\n", "\x01\n", 1) + GO_NOTE[len(GO_TEXT) :],  # a control character
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [parse_verifier(GO_VERIFIER)])


def test_checkpoint_text_round_trips_and_allows_extension_lines() -> None:
    checkpoint = Checkpoint("example.com/log", 1234, bytes(range(32)))
    assert checkpoint.text() == "example.com/log\n1234\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    assert parse_checkpoint(checkpoint.text()) == checkpoint
    assert parse_checkpoint(checkpoint.text() + "extension line\n") == checkpoint


@pytest.mark.parametrize(
    "text",
    [
        "example.com/log\n01234\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",  # size not canonical
        "example.com/log\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "example.com/log\n1\nAAECAw==\n",  # root not 32 bytes
        "example.com/log\n1\nnot base64!\n",
        "\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",  # no origin
        "example.com/log\n1\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(text)


# --- verifier keys ------------------------------------------------------------------------------------------


def test_a_verifier_key_whose_base64_contains_plus_signs() -> None:
    # From the tests of transparency-dev/formats (note/note_cosigv1_test.go).
    key = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    verifier = parse_verifier(key)
    assert (verifier.name, verifier.key_id.hex()) == ("TEST", "7997405c")
    assert verifier.encode() == key


def test_verifier_keys_round_trip_and_their_id_is_derived_from_name_and_key() -> None:
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    verifier = verifier_for("guardbot.local/log/abc", private)
    assert parse_verifier(verifier.encode()) == verifier
    raw = base64.b64decode(verifier.encode().split("+", 2)[2])
    assert verifier.key_id == key_id("guardbot.local/log/abc", raw[1:])


@pytest.mark.parametrize(
    "key",
    [
        GO_VERIFIER.replace("c74f20a3", "c74f20a4"),  # ID does not match the key
        GO_VERIFIER.replace("+ARpc", "+AhRpc"),  # not an Ed25519 (0x01) key
        GO_VERIFIER[:-4],  # truncated
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # no name
        "nothing",
    ],
)
def test_bad_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(NoteError):
        parse_verifier(key)
