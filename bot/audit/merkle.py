"""RFC 6962 Merkle tree hashing, kept incrementally so a checkpoint root costs O(log n), not O(n).

Leaves: SHA-256(0x00 ‖ entry); nodes: SHA-256(0x01 ‖ left ‖ right); the tree over n leaves splits at the
largest power of two below n (RFC 6962 §2.1). `Frontier` holds the roots of the perfect subtrees that make up
the tree so far (at most log2(n) of them), which is all that appending and computing the root need.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, straight from the RFC's recursive definition (for tests and small trees)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(tree_root(leaves[:split]), tree_root(leaves[split:]))


class Frontier:
    """The compact range [0, size): perfect-subtree roots, largest (leftmost) first."""

    def __init__(self) -> None:
        self.size = 0
        self._roots: list[bytes] = []  # one per set bit of `size`, from the highest bit down

    def append(self, leaf: bytes) -> None:
        node = leaf
        size = self.size
        # Merge equal-sized subtrees, as binary addition carries.
        while size & 1:
            node = node_hash(self._roots.pop(), node)
            size >>= 1
        self._roots.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._roots:
            return EMPTY_ROOT
        node = self._roots[-1]
        for left in reversed(self._roots[:-1]):
            node = node_hash(left, node)
        return node

    def copy(self) -> Frontier:
        clone = Frontier()
        clone.size = self.size
        clone._roots = list(self._roots)
        return clone
