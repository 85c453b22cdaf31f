"""Canonical JSON for audit entries: sorted keys, no whitespace, integers only, UTF-8.

Within that subset (strings, integers of at most 53 bits, booleans, null, arrays, objects with ASCII
keys) this is exactly RFC 8785 (JCS): Python's encoder escapes the same characters the same way, and
code-point order equals UTF-16 order for ASCII keys. A verifier re-encodes each parsed entry and
compares bytes.
"""

from __future__ import annotations

import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


class NotCanonical(ValueError):
    """A value outside the canonical subset (a float, a huge integer, a non-ASCII key…)."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonical(f"{path}: integer out of range")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise NotCanonical(f"{path}: keys must be ASCII strings")
            _check(item, f"{path}.{key}")
        return
    raise NotCanonical(f"{path}: {type(value).__name__} is not allowed (integers, strings, booleans only)")


def encode(value: Any) -> bytes:
    """The canonical bytes of `value`; raises NotCanonical for values outside the subset."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def is_canonical(raw: bytes) -> bool:
    """Whether `raw` is exactly the canonical encoding of what it parses to."""
    try:
        return encode(json.loads(raw)) == raw
    except (ValueError, NotCanonical):
        return False
