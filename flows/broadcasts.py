"""Broadcast policy (issue #8, first part): who may receive a marketing broadcast right now, and if not, why.

Pure and cheap, because the engine asks it for every recipient at send time (not only when the audience is
drawn): consent can be withdrawn, a frequency cap reached or quiet hours begun while a broadcast runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEK = 7 * 86_400.0


class Exclusion(StrEnum):
    """Why a customer does not get a broadcast (the dry run counts these; the report shows them)."""

    NO_CONSENT = "no_consent"
    """Never said yes, or the yes expired or was given under an older notice."""
    OPTED_OUT = "opted_out"
    FREQUENCY_CAP = "frequency_cap"
    QUIET_HOURS = "quiet_hours"
    UNREACHABLE = "unreachable"
    LANGUAGE = "language"
    """Outside the audience the broadcast was narrowed to."""


@dataclass(frozen=True)
class QuietHours:
    """A daily window (local time) in which no marketing is sent; it may wrap midnight (21:00–09:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """`21:00-09:00` (the QUIET_HOURS setting); ValueError otherwise."""
        first, sep, second = text.replace("–", "-").partition("-")
        if not sep:
            raise ValueError("expected HH:MM-HH:MM")
        return cls(time.fromisoformat(first.strip()), time.fromisoformat(second.strip()))

    def contains(self, moment: datetime) -> bool:
        now = moment.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """When the window that `moment` lies in ends (the next moment a message may go)."""
        end = datetime.combine(moment.date(), self.end, tzinfo=moment.tzinfo)
        return end if end > moment else end + timedelta(days=1)


def zone(name: str | None, default: str) -> ZoneInfo:
    """The customer's time zone, or the configured default when unknown or invalid."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class Recipient:
    """What the engine knows about one customer at send time."""

    user_id: int
    locale: str
    marketing: str
    """flows.consent.Marketing value: "granted", "never", "withdrawn", "old_notice" or "expired"."""
    unreachable: bool
    time_zone: str | None
    sent_this_week: Sequence[float]
    """When marketing was last sent to them (seconds since the epoch), for the frequency cap."""


def exclusion(
    who: Recipient,
    *,
    now: float,
    locales: frozenset[str],
    max_per_week: int,
    quiet: QuietHours,
    default_zone: str,
) -> Exclusion | None:
    """Why `who` must not get the broadcast now, or None. Consent first: it is the one that is law."""
    if who.marketing == "withdrawn":
        return Exclusion.OPTED_OUT
    if who.marketing != "granted":
        return Exclusion.NO_CONSENT
    if who.unreachable:
        return Exclusion.UNREACHABLE
    if locales and who.locale not in locales:
        return Exclusion.LANGUAGE
    if sum(1 for sent in who.sent_this_week if now - sent < WEEK) >= max_per_week:
        return Exclusion.FREQUENCY_CAP
    if quiet.contains(datetime.fromtimestamp(now, UTC).astimezone(zone(who.time_zone, default_zone))):
        return Exclusion.QUIET_HOURS
    return None


def duration_seconds(recipients: int, rate: float) -> float:
    """How long sending takes at `rate` messages per second overall (the dry run's estimate)."""
    return recipients / rate if rate > 0 else float("inf")
