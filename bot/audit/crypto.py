"""Encryption at rest for audit content: one AES-256-GCM key per person, wrapped by the master key.

Erasing a person is destroying their key (crypto-shredding): their content blobs, in the log and in every
backup of it, become unreadable, while the entries and their hashes stay and still verify. Keys are wrapped
with AES key wrap (RFC 3394) under the master key from DATA_KEY_PATH and kept in `keyring.db`, apart from
the log. A key commitment is logged when a key is created (GCM alone is not key-committing), so a key that
is later produced for a subject can be shown to be the one that was used.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

KEY_BYTES = 32
NONCE_BYTES = 12
_CONTENT_AAD = b"guardbot-content-v1\n"


class CryptoError(Exception):
    """A wrapped key or a blob that does not open with the key given (tampered, or the wrong key)."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def master_key_id(master: bytes) -> str:
    """Names a master key without revealing it (which master key wraps a row, for rotation)."""
    return hmac.new(master, b"guardbot master key id v1", hashlib.sha256).hexdigest()[:16]


def key_commitment(key: bytes) -> str:
    return hmac.new(key, b"guardbot key commitment v1", hashlib.sha256).hexdigest()


def wrap_key(master: bytes, key: bytes) -> bytes:
    return aes_key_wrap(master, key)


def unwrap_key(master: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(master, wrapped)
    except InvalidUnwrap:
        raise CryptoError("wrapped key does not open with this master key") from None


class Nonces:
    """Random 96-bit GCM nonces, drawn from the OS in blocks: one `getrandom` call per 1,024 nonces instead
    of one per message (it was a tenth of the audit writer's time). Random nonces under one key are safe far
    beyond one person's volume (2^32 messages at a 2^-32 collision risk)."""

    def __init__(self, block: int = 1024) -> None:
        self._block = block
        self._pool = b""
        self._next = 0

    def take(self) -> bytes:
        if self._next >= len(self._pool):
            self._pool, self._next = os.urandom(NONCE_BYTES * self._block), 0
        nonce = self._pool[self._next : self._next + NONCE_BYTES]
        self._next += NONCE_BYTES
        return nonce


def seal(cipher: AESGCM, subject: str, plaintext: bytes, nonces: Nonces) -> bytes:
    """nonce ‖ ciphertext ‖ tag under the subject's key (`AESGCM(key)`), bound to the subject: a blob
    moved to another subject will not open."""
    nonce = nonces.take()
    return nonce + cipher.encrypt(nonce, plaintext, _CONTENT_AAD + subject.encode())


def unseal(cipher: AESGCM, subject: str, blob: bytes) -> bytes:
    try:
        return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _CONTENT_AAD + subject.encode())
    except (InvalidTag, ValueError):
        raise CryptoError("content does not open with this subject's key") from None
