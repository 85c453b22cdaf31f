"""Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), signed with Ed25519.

A checkpoint's text is three lines — origin, tree size, base64 root — and its signatures follow a blank
line, one per key: `— <key name> base64(key ID ‖ signature)`. The key ID is the first four bytes of
SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). A verifier key is written `<name>+<key ID hex>+base64(0x01 ‖ public
key)`, the form Go's golang.org/x/mod/sumdb/note and other tlog tools use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
DASH = "\u2014"
MAX_SIGNATURES = 16


class NoteError(ValueError):
    """A note or key that is malformed, unsigned by a trusted key, or badly signed; `str()` says which."""


class MalformedNote(NoteError):
    """Not a well-formed note, signature line or key."""


class UntrustedNote(NoteError):
    """No signature by a trusted key (unsigned, or signed only by keys the verifier does not pin)."""


class BadSignature(NoteError):
    """A trusted key's signature does not verify: the note was altered."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    def encode(self) -> str:
        """The `name+hex+base64` verifier-key string an auditor pins."""
        raw = ED25519 + _raw_public(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"


def verifier_for(name: str, private_key: Ed25519PrivateKey) -> Verifier:
    public = private_key.public_key()
    return Verifier(name, key_id(name, _raw_public(public)), public)


def parse_verifier(text: str) -> Verifier:
    """Parse a pinned verifier key; the key ID must match the key (a typo must not go unnoticed)."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)  # base64 may itself contain "+"
        raw = base64.b64decode(encoded, validate=True)
        given_id = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error):
        raise MalformedNote("not a verifier key (name+keyid+base64)") from None
    if not name or raw[:1] != ED25519 or len(raw) != 33 or len(given_id) != 4:
        raise MalformedNote("not an Ed25519 verifier key")
    if key_id(name, raw[1:]) != given_id:
        raise MalformedNote("verifier key's ID does not match its public key")
    return Verifier(name, given_id, Ed25519PublicKey.from_public_bytes(raw[1:]))


def _check_text(text: str) -> None:
    if not text.endswith("\n") or any(c < " " and c != "\n" for c in text):
        raise MalformedNote("note text must end with a newline and contain no control characters")


def sign(text: str, signers: list[tuple[str, Ed25519PrivateKey]]) -> str:
    """Sign note `text` (ending in a newline) with each (name, key); return the whole note."""
    _check_text(text)
    lines = []
    for name, private in signers:
        ident = key_id(name, _raw_public(private.public_key()))
        signature = private.sign(text.encode())
        lines.append(f"{DASH} {name} {base64.b64encode(ident + signature).decode()}\n")
    return text + "\n" + "".join(lines)


@dataclass(frozen=True)
class SignedNote:
    text: str
    signed_by: tuple[Verifier, ...]


def open_note(note: str, trusted: list[Verifier]) -> SignedNote:
    """Verify `note` against the trusted keys; return its text and which trusted keys signed it.

    Signatures by unknown keys are ignored (the spec requires it); a failing signature by a known key rejects
    the note; a note with no valid signature by a known key is rejected.
    """
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise MalformedNote("malformed note: no signature block")
    text += "\n"
    _check_text(text)
    signed_by: list[Verifier] = []
    lines = signatures[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote("too many signatures")
    for line in lines:
        prefix = DASH + " "
        if not line.startswith(prefix) or line.count(" ") != 2:
            raise MalformedNote("malformed signature line")
        name, encoded = line[len(prefix) :].split(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise MalformedNote("malformed signature encoding") from None
        for verifier in trusted:
            if verifier.name == name and verifier.key_id == blob[:4]:
                try:
                    verifier.public_key.verify(blob[4:], text.encode())
                except InvalidSignature:
                    raise BadSignature(f"bad signature by trusted key {verifier.encode()[:40]}…") from None
                signed_by.append(verifier)
    if not signed_by:
        raise UntrustedNote("not signed by any trusted key")
    return SignedNote(text, tuple(signed_by))


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's (already verified) note text; extension lines after the root are allowed."""
    lines = text.split("\n")
    if len(lines) < 4 or not lines[0] or not lines[1].isascii() or not lines[1].isdigit():
        raise MalformedNote("malformed checkpoint text")
    if lines[1] != str(int(lines[1])):
        raise MalformedNote("checkpoint size is not a canonical decimal")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error:
        raise MalformedNote("checkpoint root is not base64") from None
    if len(root) != 32:
        raise MalformedNote("checkpoint root is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)
