"""`guardbot keys rotate`: replace the signing key and the master data key, with the bot stopped.

Signing key: the new verifier key is pinned first (audit_keys.pub), then a `key.rotated` entry is appended
and its checkpoint is signed by both the old and the new key — so a verifier holding either key can follow the
log across the rotation — and only then does the new key replace the old file.

Master data key: the next key is staged beside the current one (`DATA_KEY_PATH.next`), every person's content
key is rewrapped under it in one transaction, the rotation is logged, and the staged key replaces the old.
A crash at any point is safe: until the last step both master keys are on disk and rows wrapped by either
one open (`SubjectKeys`), and running the command again completes the rotation.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.app import pin_own_key
from bot.audit.crypto import master_key_id, unwrap_key, wrap_key
from bot.audit.note import verifier_for
from bot.audit.writer import AuditLog
from bot.clock import Clock
from bot.keys import commit_staged_data_key, load_keys, replace_signing_key, stage_data_key
from bot.storage import SqliteRepository, open_database
from bot.storage.audit import AuditStore
from bot.storage.keyring import KeyringStore
from config import ConfigError, Settings


@dataclass(frozen=True)
class Rotation:
    new_verifier_key: str | None
    rewrapped: int


async def rotate_keys(settings: Settings, clock: Clock, *, signing: bool, data: bool) -> Rotation:
    keys = load_keys(settings, create=False)
    async with contextlib.AsyncExitStack() as stack:
        store = await AuditStore.open(settings.audit_path, clock.now())
        stack.push_async_callback(store.close)
        audit_log = AuditLog(store, keys.signing_key, clock)
        await audit_log.start()
        stack.push_async_callback(audit_log.close)
        new_verifier_key = None
        rewrapped = 0
        if data:
            rewrapped = await _rotate_data_key(settings, keys.data_key, audit_log, clock, stack)
        if signing:
            new_verifier_key = await _rotate_signing_key(settings, keys.signing_key, audit_log)
    return Rotation(new_verifier_key, rewrapped)


async def _rotate_signing_key(settings: Settings, old: Ed25519PrivateKey, audit_log: AuditLog) -> str:
    new = Ed25519PrivateKey.generate()
    old_key = verifier_for(audit_log.origin, old).encode()
    new_key = verifier_for(audit_log.origin, new).encode()
    pin_own_key(settings.trusted_keys_path, new_key)
    audit_log.rotate_signer(new)
    await audit_log.append(
        "key.rotated", data={"key": "signing", "old": old_key, "new": new_key}, critical=True
    )
    replace_signing_key(settings, new)
    audit_log.retire_old_signer()
    return new_key


async def _rewrap_submissions(
    settings: Settings, masters: dict[str, bytes], staged: bytes, clock: Clock
) -> int:
    """Secure-form submissions carry their own data keys, wrapped by the master key: rewrap them too, or the
    rotation would make them unreadable."""
    repository = SqliteRepository(
        await open_database(settings.database_path, clock.now(), secure_delete=True)
    )
    try:
        moved = []
        for submission_id, wrapped, key_id in await repository.submission_keys():
            if key_id == master_key_id(staged):
                continue
            master = masters.get(key_id)
            if master is None:
                raise ConfigError("DATA_KEY_PATH", "a form submission is wrapped by an unknown master key")
            moved.append(
                (submission_id, wrap_key(staged, unwrap_key(master, wrapped)), master_key_id(staged))
            )
        await repository.rewrap_submissions(moved)
        return len(moved)
    finally:
        await repository.close()


async def _rotate_data_key(
    settings: Settings, current: bytes, audit_log: AuditLog, clock: Clock, stack: contextlib.AsyncExitStack
) -> int:
    keyring = await KeyringStore.open(settings.keyring_path, clock.now())
    stack.push_async_callback(keyring.close)
    staged = stage_data_key(settings)
    masters = {master_key_id(current): current, master_key_id(staged): staged}
    rows = await keyring.all_rows()
    moved = []
    for row in rows:
        if row.master_key_id == master_key_id(staged):
            continue
        master = masters.get(row.master_key_id)
        if master is None:
            raise ConfigError(
                "DATA_KEY_PATH", "a content key is wrapped by an unknown master key; not rotating"
            )
        key = unwrap_key(master, row.wrapped_key)
        moved.append(type(row)(row.user_id, row.subject, wrap_key(staged, key), master_key_id(staged)))
    await keyring.rewrap(moved)
    await _rewrap_submissions(settings, masters, staged, clock)
    await audit_log.append(
        "key.rotated",
        data={
            "key": "data",
            "old": master_key_id(current),
            "new": master_key_id(staged),
            "rewrapped": len(rows),
        },
        critical=True,
    )
    commit_staged_data_key(settings)
    return len(moved)
