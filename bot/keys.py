"""The two long-lived secrets: the Ed25519 key that signs the audit log and the master data key.

Both are generated in `DATA_DIR` on first run unless the operator points at their own files. A key file the
operator configured but that is missing, unreadable, malformed or readable by others stops the program: a
silently regenerated signing key would break the audit trail's continuity.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config import ConfigError, Settings

DATA_KEY_BYTES = 32
_DATA_KEY_HEADER = "guardbot-data-key-v1:"


@dataclass(frozen=True)
class Keys:
    signing_key: Ed25519PrivateKey
    data_key: bytes


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def _read_private(path: Path, variable: str) -> bytes:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(variable, f"{path} is accessible to other users; run chmod 600 on it")
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(variable, f"cannot read {path} ({exc.strerror})") from None


def _signing_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _parse_signing_key(raw: bytes, path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("SIGNING_KEY_PATH", f"{path} is not an unencrypted Ed25519 private key (PEM)")
    return key


def _parse_data_key(raw: bytes, path: Path) -> bytes:
    text = raw.decode("ascii", errors="replace").strip()
    try:
        key = base64.b64decode(text.removeprefix(_DATA_KEY_HEADER), validate=True)
    except binascii.Error:
        key = b""
    if not text.startswith(_DATA_KEY_HEADER) or len(key) != DATA_KEY_BYTES:
        raise ConfigError("DATA_KEY_PATH", f"{path} is not a Guardbot data key")
    return key


def _new_signing_key_file() -> bytes:
    return _signing_key_pem(Ed25519PrivateKey.generate())


def _new_data_key_file() -> bytes:
    return (_DATA_KEY_HEADER + base64.b64encode(os.urandom(DATA_KEY_BYTES)).decode() + "\n").encode()


def load_keys(settings: Settings, *, create: bool = True) -> Keys:
    """Load both keys, generating the default-located ones on first run when `create` is set."""
    signing_path = settings.resolved_signing_key_path
    data_path = settings.resolved_data_key_path
    for path, variable, configured, make in (
        (
            signing_path,
            "SIGNING_KEY_PATH",
            settings.signing_key_path,
            _new_signing_key_file,
        ),
        (data_path, "DATA_KEY_PATH", settings.data_key_path, _new_data_key_file),
    ):
        if path.exists():
            continue
        if configured is not None or not create:
            raise ConfigError(variable, f"{path} does not exist; run `guardbot keys init` to create it")
        _write_private(path, make())
    return Keys(
        signing_key=_parse_signing_key(_read_private(signing_path, "SIGNING_KEY_PATH"), signing_path),
        data_key=_parse_data_key(_read_private(data_path, "DATA_KEY_PATH"), data_path),
    )


def init_keys(settings: Settings) -> list[Path]:
    """Create whichever key files are missing (at their configured or default paths); never overwrite."""
    created = []
    for path, make in (
        (
            settings.resolved_signing_key_path,
            _new_signing_key_file,
        ),
        (settings.resolved_data_key_path, _new_data_key_file),
    ):
        if not path.exists():
            _write_private(path, make())
            created.append(path)
    load_keys(settings, create=False)
    return created
