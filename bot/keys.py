"""The two long-lived secrets: the Ed25519 key that signs the audit log and the master data key.

Where they live: `SIGNING_KEY_PATH` and `DATA_KEY_PATH`, or by default `$DATA_DIR/signing_key.pem` and
`$DATA_DIR/data_key`. A new key next to existing data is the one failure that cannot be undone (old records
become unreadable, the audit chain breaks), so keys are created only when nothing can depend on them yet:

- `load_keys(create=True)` (every start) generates keys only on a truly first run: both key paths are the
  defaults, neither key file exists, and the database file (`Settings.database_path`) does not exist.
  Otherwise a missing key stops the program with a `ConfigError` naming its variable:
  - the database exists: restore the key from backup (never generated, whatever the paths);
  - the path was configured: run `guardbot keys init` (an operator-provided path is never filled silently);
  - only one of the two keys exists (a half-initialised pair: a key from an earlier deployment whose
    partner was lost, or a first run interrupted between the two files): restore it from backup, or run
    `guardbot keys init` if this really is a fresh setup.
- `load_keys(create=False)` never creates anything.
- `init_keys` (`guardbot keys init`, the deliberate action) creates whichever key files are missing at their
  configured or default paths, never overwriting, and refuses like above when the database already exists.

Existing key files are checked before anything is created: a key file that is not a regular file, is
accessible to other users, is empty (an interrupted write by an older version or another tool) or does not
parse stops the program.

Writing is crash-safe: the key goes to a temporary file in the same directory (mode 0600), is fsynced, then
hard-linked to its final name — which fails if that name exists, so a key is never overwritten, and a
concurrent creator's key wins — and the directory is fsynced. A crash leaves either no key file or a
complete one; a leftover temporary file (`.NAME.*.tmp`) is never read and never blocks a later start. Every
directory Guardbot creates for a key (`DATA_DIR` included) is created with mode 0700.

The database must not be created before `load_keys` runs on a first start (the composition root loads keys
first), or the first run would look like a deployment that lost its keys.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config import ConfigError, Settings

DATA_KEY_BYTES = 32
_DATA_KEY_HEADER = "guardbot-data-key-v1:"
_PRIVATE_DIR_MODE = 0o700


@dataclass(frozen=True)
class Keys:
    signing_key: Ed25519PrivateKey
    data_key: bytes
    staged_data_key: bytes | None = None
    """The next master key while a data-key rotation is under way (`DATA_KEY_PATH` + ".next")."""


@dataclass(frozen=True)
class _KeyFile:
    variable: str
    path: Path
    configured: bool
    make: Callable[[], bytes]
    consequence: str  # what a new key in place of a lost one would do


def _key_files(settings: Settings) -> tuple[_KeyFile, _KeyFile]:
    return (
        _KeyFile(
            "SIGNING_KEY_PATH",
            settings.resolved_signing_key_path,
            settings.signing_key_path is not None,
            _new_signing_key_file,
            "a new key would break the audit log's signature chain",
        ),
        _KeyFile(
            "DATA_KEY_PATH",
            settings.resolved_data_key_path,
            settings.data_key_path is not None,
            _new_data_key_file,
            "a new key would make existing data unreadable",
        ),
    )


def _exists(path: Path, variable: str) -> bool:
    """Whether anything is at `path`; a dangling symlink counts (reading it will say what is wrong)."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(variable, f"cannot check {path} ({exc.strerror})") from None
    return True


def _database_exists(settings: Settings) -> bool:
    """Whether anything that depends on the keys exists: the database, or the audit log and keyring."""
    return _exists(settings.database_path, "DATABASE_URL" if settings.database_url else "DATA_DIR") or any(
        _exists(path, "DATA_DIR") for path in (settings.audit_path, settings.keyring_path)
    )


def _restore_error(key: _KeyFile) -> ConfigError:
    return ConfigError(
        key.variable,
        f"{key.path} is missing but the database already exists;"
        f" restore the key from backup ({key.consequence})",
    )


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_private_dirs(directory: Path) -> None:
    """Create `directory` and any missing parents with mode 0700 (existing ones are left as they are)."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=_PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # created concurrently
        path.chmod(_PRIVATE_DIR_MODE)  # exactly 0700 whatever the umask
        _fsync_directory(path.parent)


def _durable_temp(path: Path, content: bytes) -> Path:
    """`content` in a fresh 0600 file beside `path` (mkstemp: O_EXCL), flushed to disk."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(tmp_name)


def _write_private(path: Path, content: bytes, variable: str) -> bool:
    """Create `path` (mode 0600) with `content`, crash-safely; False if it appeared meanwhile (kept as is)."""
    tmp = None
    try:
        _make_private_dirs(path.parent)
        tmp = _durable_temp(path, content)
        try:
            os.link(tmp, path)  # never replaces an existing file, unlike rename
        except FileExistsError:
            return False
        _fsync_directory(path.parent)
        return True
    except OSError as exc:
        raise ConfigError(variable, f"cannot create {path} ({exc.strerror})") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _read_private(path: Path, variable: str) -> bytes:
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(variable, f"{path} is not a regular file")
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(variable, f"{path} is accessible to other users; run chmod 600 on it")
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(variable, f"cannot read {path} ({exc.strerror})") from None
    if not raw.strip():
        raise ConfigError(variable, f"{path} is empty (an interrupted write?); restore the key from backup")
    return raw


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


def _check_key(key: _KeyFile) -> None:
    """Read and parse an existing key file, raising `ConfigError` if it is unusable."""
    raw = _read_private(key.path, key.variable)
    if key.variable == "SIGNING_KEY_PATH":
        _parse_signing_key(raw, key.path)
    else:
        _parse_data_key(raw, key.path)


def _new_signing_key_file() -> bytes:
    return _signing_key_pem(Ed25519PrivateKey.generate())


def _new_data_key_file() -> bytes:
    return (_DATA_KEY_HEADER + base64.b64encode(os.urandom(DATA_KEY_BYTES)).decode() + "\n").encode()


def load_keys(settings: Settings, *, create: bool = True) -> Keys:
    """Load both keys; with `create`, generate the default-located ones on a truly first run (module doc)."""
    keys = _key_files(settings)
    present = [key for key in keys if _exists(key.path, key.variable)]
    for key in present:
        _check_key(key)
    missing = [key for key in keys if key not in present]
    if missing:
        first = missing[0]
        if _database_exists(settings):
            raise _restore_error(first)
        configured = [key for key in missing if key.configured]
        if not create or configured:
            key = configured[0] if configured else first
            raise ConfigError(
                key.variable, f"{key.path} does not exist; run `guardbot keys init` to create it"
            )
        if present:
            raise ConfigError(
                first.variable,
                f"{first.path} is missing but {present[0].path} exists (a half-initialised key pair);"
                " restore it from backup, or run `guardbot keys init` if this is a fresh setup",
            )
        for key in missing:
            _write_private(key.path, key.make(), key.variable)
    signing_path, data_path = keys[0].path, keys[1].path
    staged = staged_data_key_path(settings)
    return Keys(
        signing_key=_parse_signing_key(_read_private(signing_path, "SIGNING_KEY_PATH"), signing_path),
        data_key=_parse_data_key(_read_private(data_path, "DATA_KEY_PATH"), data_path),
        staged_data_key=(
            _parse_data_key(_read_private(staged, "DATA_KEY_PATH"), staged) if staged.exists() else None
        ),
    )


# --- rotation (`guardbot keys rotate`, with the bot stopped) ----------------------------------------------


def staged_data_key_path(settings: Settings) -> Path:
    path = settings.resolved_data_key_path
    return path.with_name(path.name + ".next")


def _replace_private(path: Path, content: bytes, variable: str) -> None:
    """Replace `path` atomically with `content` (mode 0600): a crash leaves the old or the new file."""
    tmp = None
    try:
        tmp = _durable_temp(path, content)
        os.replace(tmp, path)
        tmp = None
        _fsync_directory(path.parent)
    except OSError as exc:
        raise ConfigError(variable, f"cannot write {path} ({exc.strerror})") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def replace_signing_key(settings: Settings, key: Ed25519PrivateKey) -> None:
    _replace_private(settings.resolved_signing_key_path, _signing_key_pem(key), "SIGNING_KEY_PATH")


def stage_data_key(settings: Settings) -> bytes:
    """Write the next master key beside the current one (or return the one an interrupted rotation left)."""
    staged = staged_data_key_path(settings)
    _write_private(staged, _new_data_key_file(), "DATA_KEY_PATH")
    return _parse_data_key(_read_private(staged, "DATA_KEY_PATH"), staged)


def commit_staged_data_key(settings: Settings) -> None:
    """Make the staged master key the current one (after every wrapped key was rewrapped under it)."""
    staged = staged_data_key_path(settings)
    try:
        os.replace(staged, settings.resolved_data_key_path)
        _fsync_directory(staged.parent)
    except OSError as exc:
        raise ConfigError("DATA_KEY_PATH", f"cannot install the new data key ({exc.strerror})") from None


def init_keys(settings: Settings) -> list[Path]:
    """Create whichever key files are missing (at their configured or default paths); never overwrite.

    Refuses when the database already exists and a key is missing: that key must come from backup.
    """
    keys = _key_files(settings)
    missing = []
    for key in keys:
        if _exists(key.path, key.variable):
            _check_key(key)
        else:
            missing.append(key)
    if missing and _database_exists(settings):
        raise _restore_error(missing[0])
    created = [key.path for key in missing if _write_private(key.path, key.make(), key.variable)]
    load_keys(settings, create=False)
    return created
