"""Retention (RETENTION_DAYS): message content older than the limit is purged, hourly, and each purge is an
audit event. The entries themselves stay (they hold no content), so the hash chain still verifies."""

from __future__ import annotations

import asyncio
import logging

from bot.audit.trail import AuditTrail, PurgeResult
from bot.clock import Clock
from bot.services.secure_links import SecureLinks

log = logging.getLogger("guardbot.retention")

DAY = 86_400.0
EVERY_SECONDS = 3600.0


class Retention:
    def __init__(self, audit: AuditTrail, clock: Clock, days: int, forms: SecureLinks | None = None) -> None:
        self._audit = audit
        self._clock = clock
        self.days = days
        self._forms = forms

    async def purge(self) -> PurgeResult | None:
        """Purge content older than the limit now (and form submissions past their form's own retention);
        None when there was no message content to purge."""
        if self._forms is not None:
            try:
                await self._forms.purge()
            except Exception as exc:  # noqa: BLE001 - message content must still be purged on time
                log.error("retention.forms_failed", extra={"error": type(exc).__name__})
        result = await self._audit.purge_contents_before(self._clock.now() - self.days * DAY)
        if result is not None:
            log.info("retention.purged", extra={"count": result.count, "through_seq": result.through_seq})
        return result

    async def run(self, stop: asyncio.Event, every: float = EVERY_SECONDS) -> None:
        """Purge at start and then every `every` seconds until `stop`; a failed run is logged and retried at
        the next interval, never allowed to stop the bot."""
        while not stop.is_set():
            try:
                await self.purge()
            except Exception as exc:  # noqa: BLE001 - a locked or full disk must not kill the bot
                log.error("retention.failed", extra={"error": type(exc).__name__})
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except TimeoutError:
                continue
