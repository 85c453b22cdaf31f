"""Injected failures: rate limits, server errors and slowness, so tests can exercise the bot's
error handling against the same HTTP answers real Telegram gives."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

_DEFAULT_DESCRIPTIONS = MappingProxyType(
    {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict",
        413: "Request Entity Too Large",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
)


@dataclass(frozen=True)
class Fault:
    """A failure to apply to matching calls.

    `method` None matches every method except getUpdates (long polls would otherwise eat the
    fault); `chat_id` None matches any chat. `status` None means "no error" (use with `delay`
    to simulate a slow Bot API). `times` None means forever.
    """

    method: str | None = None
    status: int | None = None
    retry_after: int | None = None
    times: int | None = 1
    chat_id: int | None = None
    delay: float = 0.0
    description: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"a fault status must be an HTTP error (400..599), not {self.status}")
        if self.status is None and self.delay <= 0:
            raise ValueError("a fault needs an error status, a delay, or both")
        if self.delay < 0:
            raise ValueError("a fault delay cannot be negative")

    def error_description(self) -> str:
        """The description Telegram would use for this status."""
        if self.description is not None:
            return self.description
        if self.status == 429:
            return f"Too Many Requests: retry after {self.effective_retry_after()}"
        if self.status is None:
            return ""
        if self.status >= 500:
            return _DEFAULT_DESCRIPTIONS.get(self.status, "Internal Server Error")
        return _DEFAULT_DESCRIPTIONS.get(self.status, "Bad Request")

    def effective_retry_after(self) -> int:
        return self.retry_after if self.retry_after is not None else 1

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method is None:
            if method.lower() == "getupdates":
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id


class FaultBook:
    """Active faults with their remaining counts; a fault disappears once used up."""

    def __init__(self) -> None:
        self._active: list[tuple[Fault, int | None]] = []

    def add(self, fault: Fault) -> None:
        if fault.times is not None and fault.times <= 0:
            return
        self._active.append((fault, fault.times))

    def clear(self) -> None:
        self._active.clear()

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        """Return the first matching fault, consuming one of its uses."""
        for index, (fault, remaining) in enumerate(self._active):
            if not fault.matches(method, chat_id):
                continue
            if remaining is None:
                return fault
            if remaining <= 1:
                del self._active[index]
            else:
                self._active[index] = (fault, remaining - 1)
            return fault
        return None

    @property
    def active(self) -> list[Fault]:
        return [fault for fault, _ in self._active]
