"""The system texts the code renders, and the fields the code supplies to each.

The catalog must provide exactly these keys; an entry may use only the fields listed here. This is what
lets `content check` fail at deploy time instead of a handler failing in front of a customer.
"""

from __future__ import annotations

from collections.abc import Mapping

SYSTEM_TEXTS: Mapping[str, frozenset[str]] = {
    "start.greeting": frozenset({"first_name"}),
    "help.menu": frozenset(),
    "faq.fallback": frozenset(),
    "button.back_to_menu": frozenset(),
    "callback.expired": frozenset(),
    "message.unsupported": frozenset(),
    "error.generic": frozenset(),
    "staff.refused": frozenset(),
    "roles.list": frozenset({"grants"}),
    "roles.list_empty": frozenset(),
    "roles.usage": frozenset({"roles"}),
    "roles.granted": frozenset({"user_id", "role"}),
    "roles.revoked": frozenset({"user_id", "role"}),
    "roles.unchanged": frozenset({"user_id", "role"}),
    "roles.self_revoke": frozenset(),
    "command.start": frozenset(),
    "command.help": frozenset(),
}
