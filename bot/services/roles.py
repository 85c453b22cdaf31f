"""Who holds which staff role, kept in memory for the per-update check and persisted in the repository."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from bot.clock import Clock
from bot.storage import Repository, RoleGrant
from flows.roles import Role, effective_roles

log = logging.getLogger("guardbot.roles")


class RoleBook:
    def __init__(self, repository: Repository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock
        self._granted: dict[int, set[str]] = {}

    async def load(self, configured: Mapping[str, Sequence[int]]) -> None:
        """Apply the `*_IDS` settings (they are authoritative for settings-sourced grants) and cache."""
        changes = await self._repository.sync_configured_roles(configured, self._clock.now())
        for action, user_id, role in changes:
            log.info(
                "roles.changed",
                extra={"action": action, "user_id": user_id, "role": role, "source": "settings"},
            )
        await self._reload()

    async def _reload(self) -> None:
        granted: dict[int, set[str]] = {}
        for grant in await self._repository.role_grants():
            granted.setdefault(grant.user_id, set()).add(grant.role)
        self._granted = granted

    def roles_of(self, user_id: int) -> frozenset[Role]:
        return effective_roles(self._granted.get(user_id, ()))

    async def grants(self) -> list[RoleGrant]:
        return await self._repository.role_grants()

    async def grant(self, user_id: int, role: Role, *, actor: int) -> bool:
        changed = await self._repository.grant_role(
            user_id, role.value, source="command", actor=actor, now=self._clock.now()
        )
        if changed:
            self._granted.setdefault(user_id, set()).add(role.value)
            log.info(
                "roles.changed",
                extra={"action": "grant", "user_id": user_id, "role": role.value, "actor": actor},
            )
        return changed

    async def revoke(self, user_id: int, role: Role, *, actor: int) -> bool:
        changed = await self._repository.revoke_role(user_id, role.value, actor=actor, now=self._clock.now())
        if changed:
            self._granted.get(user_id, set()).discard(role.value)
            log.info(
                "roles.changed",
                extra={"action": "revoke", "user_id": user_id, "role": role.value, "actor": actor},
            )
        return changed
