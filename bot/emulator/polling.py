"""getUpdates: long polling with Telegram's offset confirmation and its one-poller rule.

Only one getUpdates may wait at a time; a newer request terminates the older one with 409,
which is how Telegram reports two bot instances running with the same token.
"""

from __future__ import annotations

from typing import Any

from bot.emulator.errors import poll_conflict, webhook_conflict
from bot.emulator.params import Params, opt_int, opt_list
from bot.emulator.state import EmulatorState

_MAX_LIMIT = 100


async def get_updates(state: EmulatorState, params: Params) -> list[dict[str, Any]]:
    if state.webhook is not None:
        raise webhook_conflict()
    offset = opt_int(params, "offset") or 0
    limit = opt_int(params, "limit") or _MAX_LIMIT
    limit = min(max(limit, 1), _MAX_LIMIT)
    timeout = max(opt_int(params, "timeout") or 0, 0)
    allowed = opt_list(params, "allowed_updates", "allowed updates")
    if allowed is not None:
        state.updates.allowed_updates = [str(kind) for kind in allowed]
    state.updates.confirm(offset)

    state.poll_generation += 1
    generation = state.poll_generation

    def finished() -> bool:
        return (
            state.poll_generation != generation
            or state.webhook is not None
            or state.closing
            or len(state.updates) > 0
        )

    state.pollers_waiting += 1
    state.touch()  # wakes an older waiting poller, which then answers 409
    try:
        await state.changed.wait_until(finished, timeout)
    finally:
        state.pollers_waiting -= 1
    if state.poll_generation != generation:
        raise poll_conflict()
    if state.webhook is not None:
        raise webhook_conflict()
    return [update.payload for update in state.updates.take(limit)]
