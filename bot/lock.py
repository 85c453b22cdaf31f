"""One Guardbot process per data directory: the audit log has exactly one writer (DESIGN: "one log, one
writer"), and a key rotation must not race a running bot. An advisory `flock` on DATA_DIR/guardbot.lock,
released by the kernel when the process ends, however it ends."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from config import ConfigError


@contextlib.contextmanager
def hold_data_dir(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(data_dir / "guardbot.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                "DATA_DIR", f"{data_dir} is in use by another Guardbot process (stop it first)"
            ) from None
        yield
    finally:
        os.close(fd)
