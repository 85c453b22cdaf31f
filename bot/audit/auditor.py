"""What the compliance `/audit` command runs: a checkpoint now, then a full verification of the live log.

Verification reads the database read-only in a worker thread, so the bot keeps serving (and the writer
keeps appending) meanwhile. It pins this deployment's own verifier keys and checks the configured anchor file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bot.audit.verify import VerifyReport, load_anchors, load_verifiers, verify_database
from bot.audit.writer import AuditLog


@dataclass(frozen=True)
class AuditPaths:
    log: Path
    trusted_keys: Path
    anchors: Path | None


class Auditor:
    def __init__(self, audit_log: AuditLog, paths: AuditPaths) -> None:
        self._log = audit_log
        self._paths = paths

    def _verify(self) -> VerifyReport:
        anchors_file = self._paths.anchors
        anchors = load_anchors(anchors_file) if anchors_file and anchors_file.exists() else []
        return verify_database(
            self._paths.log,
            load_verifiers(self._paths.trusted_keys),
            anchors,
            anchor_source=str(anchors_file or ""),
        )

    async def verify(self) -> VerifyReport:
        await self._log.checkpoint()  # cover what was just written
        return await asyncio.to_thread(self._verify)
