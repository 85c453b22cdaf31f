"""Staff roles and the rules for changing them (least privilege, invariant 6).

Every user is a customer; staff roles are granted on top. `admin` manages roles and may act in every staff
role, but four-eyes rules elsewhere still apply to admins (an author never approves their own item).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

_TELEGRAM_ID = re.compile(r"[0-9]{1,16}")  # ASCII digits only: str.isdigit() also accepts "²"
MAX_TELEGRAM_ID = 2**52
"""Telegram user ids fit in 52 bits."""


class Role(StrEnum):
    AGENT = "agent"
    MARKETING = "marketing"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


def effective_roles(granted: Iterable[str]) -> frozenset[Role]:
    """The roles a user may act in, given the role names granted to them."""
    roles = {Role(name) for name in granted if name in Role.__members__.values()}
    if Role.ADMIN in roles:
        return frozenset(Role)
    return frozenset(roles)


@dataclass(frozen=True)
class RoleChange:
    action: str  # "grant" or "revoke"
    user_id: int
    role: Role


def parse_role_change(arguments: str) -> RoleChange | None:
    """Parse `grant USER_ID ROLE` / `revoke USER_ID ROLE`; None when it is not that shape."""
    parts = arguments.split()
    if len(parts) != 3:
        return None
    action, user, role = parts[0].lower(), parts[1], parts[2].lower()
    if action not in ("grant", "revoke") or not _TELEGRAM_ID.fullmatch(user):
        return None
    if not 0 < int(user) < MAX_TELEGRAM_ID:
        return None
    if role not in Role.__members__.values():
        return None
    return RoleChange(action, int(user), Role(role))


def refuses_self_lockout(actor_id: int, change: RoleChange) -> bool:
    """An admin may not revoke their own admin role: the last admin would lock everyone out."""
    return change.action == "revoke" and change.role is Role.ADMIN and change.user_id == actor_id


COMMAND_ROLES: dict[str, Role] = {
    "roles": Role.ADMIN,
    "audit": Role.COMPLIANCE,
    "pending": Role.COMPLIANCE,
    "approve": Role.COMPLIANCE,
    "reject": Role.COMPLIANCE,
    "offer_new": Role.MARKETING,
    "offer_edit": Role.MARKETING,
    "offer_withdraw": Role.MARKETING,
    "broadcast_new": Role.MARKETING,
    "broadcast_status": Role.MARKETING,
    "broadcast_cancel": Role.MARKETING,
    "secure": Role.AGENT,
    "queue": Role.AGENT,
    "take": Role.AGENT,
    "release": Role.AGENT,
    "close": Role.AGENT,
    "submissions": Role.COMPLIANCE,
}
"""Staff commands and the role each needs; a command here used without the role is politely refused."""
