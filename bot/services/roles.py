"""Who holds which staff role, kept in memory for the per-update check, persisted and audited."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.storage import Repository, RoleGrant
from flows.roles import Role, effective_roles

log = logging.getLogger("guardbot.roles")


class RoleBook:
    def __init__(self, repository: Repository, audit: AuditTrail, clock: Clock) -> None:
        self._repository = repository
        self._audit = audit
        self._clock = clock
        self._granted: dict[int, set[str]] = {}

    async def load(self, configured: Mapping[str, Sequence[int]]) -> None:
        """Apply the `*_IDS` settings (they are authoritative for settings-sourced grants) and cache."""
        changes = await self._repository.sync_configured_roles(configured, self._clock.now())
        for action, user_id, role in changes:
            await self._changed(action, user_id, role, actor=None, source="settings")
        await self._reload()

    async def _reload(self) -> None:
        granted: dict[int, set[str]] = {}
        for grant in await self._repository.role_grants():
            granted.setdefault(grant.user_id, set()).add(grant.role)
        self._granted = granted

    def roles_of(self, user_id: int) -> frozenset[Role]:
        return effective_roles(self._granted.get(user_id, ()))

    def holders(self, role: Role) -> list[int]:
        """Everyone who may act in `role` (admins included), for notifications."""
        return sorted(user for user, names in self._granted.items() if role in effective_roles(names))

    async def grants(self) -> list[RoleGrant]:
        return await self._repository.role_grants()

    async def grant(self, user_id: int, role: Role, *, actor: int) -> bool:
        changed = await self._repository.grant_role(
            user_id, role.value, source="command", actor=actor, now=self._clock.now()
        )
        if changed:
            self._granted.setdefault(user_id, set()).add(role.value)
            await self._changed("grant", user_id, role.value, actor=actor, source="command")
        return changed

    async def revoke(self, user_id: int, role: Role, *, actor: int) -> bool:
        changed = await self._repository.revoke_role(user_id, role.value, actor=actor, now=self._clock.now())
        if changed:
            self._granted.get(user_id, set()).discard(role.value)
            await self._changed("revoke", user_id, role.value, actor=actor, source="command")
        return changed

    async def _changed(self, action: str, user_id: int, role: str, *, actor: int | None, source: str) -> None:
        log.info("roles.changed", extra={"action": action, "role": role, "source": source})
        await self._audit.record(
            "role.changed",
            actor=actor if actor is not None else "system",
            about=user_id,
            data={"action": action, "role": role, "source": source},
            critical=True,
        )
