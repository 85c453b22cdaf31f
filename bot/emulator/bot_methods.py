"""Bot API methods about the bot itself: identity, session, webhook settings and commands."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.emulator import serialize
from bot.emulator.errors import bad_request
from bot.emulator.params import Params, opt_bool, opt_int, opt_list, opt_object, opt_str
from bot.emulator.state import EmulatorState, WebhookConfig

_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


@dataclass(frozen=True)
class Described:
    """A successful result that also carries Telegram's `description` (setWebhook does this)."""

    result: Any
    description: str


def get_me(state: EmulatorState, params: Params) -> dict[str, Any]:
    return {
        **serialize.bot_user(state.bot),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def log_out(state: EmulatorState, params: Params) -> bool:
    return True


def close(state: EmulatorState, params: Params) -> bool:
    return True


def set_webhook(state: EmulatorState, params: Params) -> Described:
    url = opt_str(params, "url") or ""
    if not url:
        return delete_webhook(state, params)
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = opt_str(params, "secret_token")
    if secret is not None and not _SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = opt_list(params, "allowed_updates", "allowed updates")
    already = state.webhook is not None and state.webhook.url == url
    state.webhook = WebhookConfig(
        url=url,
        secret_token=secret,
        max_connections=opt_int(params, "max_connections") or 40,
        ip_address=opt_str(params, "ip_address"),
    )
    if allowed is not None:
        state.updates.allowed_updates = [str(kind) for kind in allowed]
    if opt_bool(params, "drop_pending_updates"):
        state.updates.clear()
    state.touch()
    return Described(True, "Webhook is already set" if already else "Webhook was set")


def delete_webhook(state: EmulatorState, params: Params) -> Described:
    existed = state.webhook is not None
    state.webhook = None
    if opt_bool(params, "drop_pending_updates"):
        state.updates.clear()
    state.touch()
    return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")


def get_webhook_info(state: EmulatorState, params: Params) -> dict[str, Any]:
    info: dict[str, Any] = {
        "url": state.webhook.url if state.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }
    hook = state.webhook
    if hook is not None:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if state.updates.allowed_updates:
            info["allowed_updates"] = list(state.updates.allowed_updates)
    return info


def set_my_commands(state: EmulatorState, params: Params) -> bool:
    commands = opt_list(params, "commands", "bot commands") or []
    if len(commands) > 100:
        raise bad_request("too many commands")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        description = command.get("description")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = commands_key(params)
    if commands:
        state.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
    else:
        state.commands.pop(key, None)
    state.touch()
    return True


def get_my_commands(state: EmulatorState, params: Params) -> list[dict[str, Any]]:
    return list(state.commands.get(commands_key(params), []))


def delete_my_commands(state: EmulatorState, params: Params) -> bool:
    state.commands.pop(commands_key(params), None)
    state.touch()
    return True


def commands_key(params: Params) -> tuple[str, str]:
    """Commands are stored per (scope, language_code), as Telegram does."""
    scope = opt_object(params, "scope", "bot command scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), opt_str(params, "language_code") or ""
