"""`BotApiEmulator`: the one object tests and the local shell hold. It runs the HTTP server and
webhook delivery, creates users, injects faults and exposes what the bot did."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from bot.emulator import raw_updates, serialize
from bot.emulator.api import ApiCore, canonical_method
from bot.emulator.bot_methods import commands_key
from bot.emulator.faults import Fault
from bot.emulator.models import RecordedCall, StoredDocument, WebhookDelivery
from bot.emulator.server import EmulatorServer
from bot.emulator.state import EmulatorState
from bot.emulator.users import EmulatedUser
from bot.emulator.webhook import WebhookDeliverer

# How often test-facing waits re-evaluate predicates that no emulator event announces.
RECHECK_INTERVAL = 0.02


class BotApiEmulator:
    """A Telegram Bot API server on localhost, plus the controls to play users against it.

    `token` None accepts any token shaped like "<digits>:<chars>". Everything runs in the
    event loop that calls `start`; the synchronous user actions are safe to call from it.
    """

    def __init__(
        self,
        token: str | None = None,
        bot_username: str = "guardbot_test_bot",
        clock: Callable[[], float] = time.time,
        *,
        webhook_retry_initial: float = 0.05,
        webhook_retry_max: float = 1.0,
        webhook_timeout: float = 10.0,
    ) -> None:
        self._state = EmulatorState(token=token, bot_username=bot_username, clock=clock)
        self._core = ApiCore(self._state)
        self._server = EmulatorServer(self._core)
        self._webhook = WebhookDeliverer(
            self._core,
            retry_initial=webhook_retry_initial,
            retry_max=webhook_retry_max,
            timeout=webhook_timeout,
        )
        self._users: dict[int, EmulatedUser] = {}
        self._running = False

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._running:
            raise RuntimeError("the emulator is already running")
        self._state.closing = False
        await self._server.start(host, port)
        self._webhook.start()
        self._running = True

    async def stop(self) -> None:
        """Release long polls and delayed calls, stop webhook delivery and the server."""
        if not self._running:
            return
        self._running = False
        self._state.closing = True
        self._state.touch()
        await self._webhook.stop()
        await self._server.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For `TelegramAPIServer.from_base(emulator.base_url)`."""
        if self._server.base_url is None:
            raise RuntimeError("the emulator has not been started")
        return self._server.base_url

    # --- users and updates ---------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        language_code: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
        started: bool | None = None,
    ) -> EmulatedUser:
        """The user with this id (created on first use); given profile fields are updated, as
        a user can rename themselves.

        A new user has started the bot unless `started=False`: then the bot's messages to them
        fail with 403 "bot can't initiate conversation with a user" until they write. Ids never
        passed here (and never seen in a raw update) are "chat not found".
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        chat = self._state.chat(user_id, started=started is not False)
        if started is not None:
            chat.started = started
        profile = chat.profile
        if first_name is not None:
            profile.first_name = first_name
        if language_code is not None:
            profile.language_code = language_code
        if username is not None:
            profile.username = username
        if last_name is not None:
            profile.last_name = last_name
        if user_id not in self._users:
            self._users[user_id] = EmulatedUser(self._state, user_id)
        return self._users[user_id]

    def push_raw_update(self, update: dict[str, Any]) -> int:
        """Queue any update, even a malformed one; update_id is assigned if missing (a
        non-integer one is kept as given and ordered by an assigned id). Returns the id.
        Types outside the bot's allowed_updates are dropped, as Telegram does. A well-formed
        private message or callback query also registers its user, message or query id, so
        the bot can reply to or answer it as it would on Telegram."""
        update = dict(update)
        raw_updates.absorb(self._state, update)
        return self._state.push_update(update)

    @property
    def pending_updates(self) -> int:
        return len(self._state.updates)

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is waiting for updates."""
        return self._state.pollers_waiting > 0

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """While blocked, content methods to the user's chat answer 403."""
        self.user(user_id).block(notify=notify)

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        self.user(user_id).unblock(notify=notify)

    # --- observing -----------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        return list(self._state.calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        name = canonical_method(method) or method
        return [call for call in self._state.calls if call.method == name]

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return list(self._state.webhook_deliveries)

    @property
    def webhook_url(self) -> str | None:
        return self._state.webhook.url if self._state.webhook else None

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as a Telegram User object."""
        return serialize.bot_user(self._state.bot)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Commands set with setMyCommands for this scope and language."""
        params: dict[str, Any] = {"language_code": language_code}
        if scope is not None:
            params["scope"] = scope
        return list(self._state.commands.get(commands_key(params), []))

    def file(self, file_id: str) -> StoredDocument:
        return self._state.files[file_id]

    def add_listener(self, callback: Callable[[RecordedCall], None]) -> None:
        """Call `callback` after every recorded call (the shell prints bot messages this way)."""
        self._state.listeners.append(callback)

    def remove_listener(self, callback: Callable[[RecordedCall], None]) -> None:
        self._state.listeners.remove(callback)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - tests read better with a timeout argument
    ) -> None:
        """Wait until `predicate()` holds, re-checking on every state change and call (and every
        few milliseconds, for predicates about things outside the emulator such as logs)."""
        if not await self._state.changed.wait_until(predicate, timeout, recheck=RECHECK_INTERVAL):
            name = getattr(predicate, "__qualname__", repr(predicate))
            raise TimeoutError(f"condition {name} not met within {timeout}s; {self._state.recent_calls()}")

    # --- faults --------------------------------------------------------------------------------

    def inject_fault(self, fault: Fault) -> None:
        self._state.faults.add(fault)

    def clear_faults(self) -> None:
        self._state.faults.clear()

    @property
    def faults(self) -> list[Fault]:
        return self._state.faults.active
