"""The shape of an audit entry, shared by the writer and every verifier (docs/audit-format.md).

An entry is a canonical JSON object with exactly these keys: `seq` (0-based position), `ts` (milliseconds
since the epoch), `type`, `actor` ("system", "bot" or a subject id), `subject` (the pseudonymous person the
entry is about, or null), `content` (hex SHA-256 of the encrypted content blob, or null), `prev` (hex leaf
hash of the previous entry; 64 zeros for the first) and `data` (an object of non-personal fields).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from bot.audit.canonical import MAX_SAFE_INTEGER, NotCanonical, encode

GENESIS = "0" * 64
ENTRY_KEYS = ("actor", "content", "data", "prev", "seq", "subject", "ts", "type")
SUBJECT_ID = re.compile(r"s-[0-9a-f]{32}")
TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
HEX_HASH = re.compile(r"[0-9a-f]{64}")
ACTORS = frozenset({"system", "bot"})


def new_subject_id() -> str:
    """A random pseudonym (128 bits): unlike a hash of a Telegram id, it cannot be reversed."""
    return "s-" + secrets.token_hex(16)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_INTEGER


def build_entry(
    *,
    seq: int,
    ts_ms: int,
    type: str,
    actor: str,
    subject: str | None,
    content: str | None,
    prev: str,
    data: Mapping[str, Any],
) -> bytes:
    """The canonical bytes of one entry.

    Assembled in canonical (sorted) key order from checked parts rather than by encoding a whole dict: it
    runs for every entry. Every field but `data` has a fixed shape whose canonical form needs no escaping
    (ids, hex hashes, dotted names, integers), so only `data` goes through the encoder.
    """
    type_name = type  # the parameter keeps the format's field name; the builtin is not needed here
    if not (
        _is_int(seq)
        and _is_int(ts_ms)
        and TYPE_NAME.fullmatch(type_name)
        and (actor in ACTORS or SUBJECT_ID.fullmatch(actor))
        and (subject is None or SUBJECT_ID.fullmatch(subject))
        and (content is None or HEX_HASH.fullmatch(content))
        and HEX_HASH.fullmatch(prev)
    ):
        raise NotCanonical("an entry field does not have its required shape")
    subject_json = "null" if subject is None else f'"{subject}"'
    content_json = "null" if content is None else f'"{content}"'
    return (
        f'{{"actor":"{actor}","content":{content_json},"data":{encode(dict(data)).decode()},'
        f'"prev":"{prev}","seq":{seq},"subject":{subject_json},"ts":{ts_ms},"type":"{type_name}"}}'
    ).encode()


def entry_problem(entry: Any) -> str | None:
    """Why a parsed entry does not have the required shape, or None if it does."""
    if not isinstance(entry, dict) or tuple(sorted(entry)) != ENTRY_KEYS:
        return f"must have exactly the fields {', '.join(ENTRY_KEYS)}"
    if not isinstance(entry["seq"], int) or isinstance(entry["seq"], bool) or entry["seq"] < 0:
        return "seq must be a non-negative integer"
    if not isinstance(entry["ts"], int) or isinstance(entry["ts"], bool) or entry["ts"] < 0:
        return "ts must be a non-negative integer (milliseconds)"
    if not isinstance(entry["type"], str) or not TYPE_NAME.fullmatch(entry["type"]):
        return "type must be a dotted lower-case name"
    actor = entry["actor"]
    if not isinstance(actor, str) or not (actor in ACTORS or SUBJECT_ID.fullmatch(actor)):
        return "actor must be system, bot or a subject id"
    if entry["subject"] is not None and not (
        isinstance(entry["subject"], str) and SUBJECT_ID.fullmatch(entry["subject"])
    ):
        return "subject must be null or a subject id"
    if entry["content"] is not None and not (
        isinstance(entry["content"], str) and HEX_HASH.fullmatch(entry["content"])
    ):
        return "content must be null or a lower-case hex SHA-256"
    if entry["content"] is not None and entry["subject"] is None:
        return "content needs a subject (whose key encrypts it)"
    if not isinstance(entry["prev"], str) or not HEX_HASH.fullmatch(entry["prev"]):
        return "prev must be a lower-case hex SHA-256"
    if not isinstance(entry["data"], dict):
        return "data must be an object"
    return None
