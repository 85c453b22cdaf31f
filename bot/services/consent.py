"""The consent ledger: every grant and withdrawal recorded (audit log first, then the database), and the
current state derived from it for the per-update check and the gate's per-send check."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.content.catalog import Notice
from bot.storage import Repository, StoredConsent
from flows.consent import Action, ConsentEvent, ConsentState, Marketing, Scope, Via, marketing_status

log = logging.getLogger("guardbot.consent")


class ConsentBook:
    def __init__(
        self,
        repository: Repository,
        audit: AuditTrail,
        clock: Clock,
        notice: Notice,
        max_age_days: int,
        cache_size: int = 10_000,
    ) -> None:
        self._repository = repository
        self._audit = audit
        self._clock = clock
        self.notice = notice
        self.max_age_days = max_age_days
        self._cache: OrderedDict[int, ConsentState] = OrderedDict()
        self._cache_size = cache_size
        self._generation: dict[int, int] = {}
        self._stopping: dict[int, int] = {}
        """People whose marketing withdrawal is being recorded: no marketing from the moment it arrives,
        not only once it is durable."""

    async def state(self, user_id: int) -> ConsentState:
        cached = self._cache.get(user_id)
        if cached is not None:
            self._cache.move_to_end(user_id)
            return cached
        generation = self._generation.get(user_id, 0)
        state = ConsentState.derive(row.event for row in await self._repository.consent_history(user_id))
        # A choice recorded while this read was in flight is newer than what was read: do not cache it.
        if self._generation.get(user_id, 0) == generation:
            self._remember(user_id, state)
        return state

    async def states(self, user_ids: Sequence[int]) -> dict[int, ConsentState]:
        """`state` for many people in one query (a broadcast batch); cached like `state`."""
        generations = {user_id: self._generation.get(user_id, 0) for user_id in user_ids}
        missing = [user_id for user_id in user_ids if user_id not in self._cache]
        found = await self._repository.consent_events(missing) if missing else {}
        states: dict[int, ConsentState] = {}
        for user_id in user_ids:
            if user_id in self._cache:
                states[user_id] = self._cache[user_id]
                continue
            state = ConsentState.derive(found.get(user_id, []))
            if self._generation.get(user_id, 0) == generations[user_id]:
                self._remember(user_id, state)
            states[user_id] = state
        return states

    def marketing_now(self, user_id: int, state: ConsentState) -> Marketing:
        """`marketing(state)`, but withdrawn from the moment a withdrawal arrives (as `may_market`)."""
        return Marketing.WITHDRAWN if user_id in self._stopping else self.marketing(state)

    def _remember(self, user_id: int, state: ConsentState) -> None:
        self._cache[user_id] = state
        self._cache.move_to_end(user_id)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def history(self, user_id: int) -> list[StoredConsent]:
        return await self._repository.consent_history(user_id)

    async def may_chat(self, user_id: int) -> bool:
        return (await self.state(user_id)).accepted(self.notice.version)

    async def may_market(self, user_id: int) -> bool:
        if user_id in self._stopping:
            return False
        return self.marketing(await self.state(user_id)) is Marketing.GRANTED

    def marketing(self, state: ConsentState) -> Marketing:
        return marketing_status(state, self.notice.version, self._clock.now(), self.max_age_days)

    async def record(
        self,
        user_id: int,
        scope: Scope,
        action: Action,
        *,
        via: Via,
        detail: str,
        message_id: int | None = None,
    ) -> ConsentState:
        """Append a choice: to the audit log first (critical: checkpointed and anchored), then to the
        ledger table. Returns the new state."""
        event = ConsentEvent(scope, action, self.notice.version, self._clock.now(), via, detail, message_id)
        data: dict[str, object] = {
            "scope": scope.value,
            "notice_version": self.notice.version,
            "notice_digest": self.notice.digest,
            "via": via.value,
            "detail": detail,
        }
        if message_id is not None:
            data["message_id"] = message_id
        kind = "consent.granted" if action is Action.GRANT else "consent.withdrawn"
        stops = action is Action.WITHDRAW
        if stops:
            self._stopping[user_id] = self._stopping.get(user_id, 0) + 1
        try:
            seq = await self._audit.record(kind, actor=user_id, about=user_id, data=data, critical=True)
            self._invalidate(user_id)
            await self._repository.add_consent(user_id, event, self.notice.digest, seq)
            self._invalidate(user_id)  # also after: a read that overlapped the write must not be cached
        finally:
            if stops:
                left = self._stopping.pop(user_id) - 1
                if left:
                    self._stopping[user_id] = left
        log.info("consent.recorded", extra={"scope": scope.value, "action": action.value, "via": via.value})
        return await self.state(user_id)

    def forget(self, user_id: int) -> None:
        """Drop what is cached about an erased person."""
        self._invalidate(user_id)
        self._generation.pop(user_id, None)

    def _invalidate(self, user_id: int) -> None:
        self._cache.pop(user_id, None)
        self._generation[user_id] = self._generation.get(user_id, 0) + 1
