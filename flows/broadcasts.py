"""Broadcast policy (issue #8, first part): who may receive a marketing broadcast right now, and if not, why.

Pure and cheap, because the engine asks it for every recipient at send time (not only when the audience is
drawn): consent can be withdrawn, a frequency cap reached or quiet hours begun while a broadcast runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEK = 7 * 86_400.0
FREE_BROADCAST_RATE = 30
"""Telegram's free broadcast limit, messages per second overall."""
STARS_PER_PAID_MESSAGE = 0.1
"""What `allow_paid_broadcast` costs per message, in Telegram Stars (Bot API: "a fee of 0.1 Telegram
Stars per message")."""


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


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this system knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


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


# --- the plan a marketer proposes and a second person approves ---------------------------------------------


class ContentKind(StrEnum):
    TEMPLATE = "template"
    """A marketing text from the catalog's [templates]."""
    OFFER = "offer"
    """An approved offer (catalog or runtime), sent as its card with a verification code."""


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    STOPPED = "stopped"
    """Ended early because its content stopped being valid (an offer expired or was withdrawn)."""


LIVE = frozenset({Status.PENDING, Status.APPROVED, Status.RUNNING})
"""Statuses a broadcast can still be cancelled from."""


class State(StrEnum):
    """One recipient's progress; it only moves forward, so a recipient is sent to at most once."""

    QUEUED = "queued"
    SENDING = "sending"
    """Claimed and about to be (or being) sent; found so after a crash, it becomes UNCERTAIN."""
    SENT = "sent"
    EXCLUDED = "excluded"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    """The send may or may not have reached them (the process died, or the network failed, mid-call): it is
    never repeated, because a duplicate is worse than a gap, and the report says how many."""
    CANCELLED = "cancelled"


COUNTS_AS_SENT = (State.SENDING, State.SENT, State.UNCERTAIN)
"""What counts towards the weekly cap: anything that may have reached the person."""


@dataclass(frozen=True)
class Plan:
    """What a broadcast sends, to whom and when. Canonical, so an approval can bind to its digest."""

    kind: ContentKind
    key: str
    """The template id, or the offer key (catalog id or `runtime:N`)."""
    content_digest: str
    """The approved content's own digest at proposal time: changed content is not what was approved."""
    locales: frozenset[str] = frozenset()
    """Empty: every language."""
    tags: frozenset[str] = frozenset()
    """Empty: everyone; otherwise customers with at least one of these tags."""
    send_at: float = 0.0
    coupons: bool = False
    """Offers only: each recipient gets their own code minted from the offer's."""

    def canonical(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "content_digest": self.content_digest,
            "locales": sorted(self.locales),
            "tags": sorted(self.tags),
            "send_at": int(self.send_at),
            "coupons": self.coupons,
        }

    @property
    def digest(self) -> str:
        body = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()

    @classmethod
    def from_canonical(cls, value: Mapping[str, object]) -> Plan:
        locales, tags = value.get("locales", []), value.get("tags", [])
        send_at = value.get("send_at", 0.0)
        if (
            not isinstance(locales, list)
            or not isinstance(tags, list)
            or not isinstance(send_at, int | float)
        ):
            raise ValueError("malformed broadcast plan")
        return cls(
            kind=ContentKind(str(value["kind"])),
            key=str(value["key"]),
            content_digest=str(value["content_digest"]),
            locales=frozenset(str(item) for item in locales),
            tags=frozenset(str(item) for item in tags),
            send_at=float(send_at),
            coupons=bool(value.get("coupons", False)),
        )


_TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def parse_tags(text: str) -> frozenset[str] | None:
    """`vip, berlin` → {"vip", "berlin"}: lower-case words of a-z, 0-9, _ and -; None if any is not."""
    tags = frozenset(part.strip().lower() for part in text.replace(";", ",").split(",") if part.strip())
    return tags if all(_TAG.fullmatch(tag) for tag in tags) else None


def tags_column(tags: Iterable[str]) -> str:
    """How tags are stored: ",a,b," (so one tag matches as ",tag,")."""
    ordered = sorted(set(tags))
    return f",{','.join(ordered)}," if ordered else ""


def tags_of(column: str | None) -> frozenset[str]:
    return frozenset(tag for tag in (column or "").split(",") if tag)


def in_audience(plan: Plan, *, locale: str, tags: frozenset[str]) -> bool:
    """Whether a customer is in the audience the broadcast was narrowed to (language, tag)."""
    return (not plan.locales or locale in plan.locales) and (not plan.tags or bool(plan.tags & tags))


def parse_send_time(text: str, now: float, zone_name: str, *, max_days: int = 90) -> float | None:
    """`now`, or a local date and time `2026-12-01 10:00` in `zone_name`; None if unreadable, in the past
    (more than a minute ago) or more than `max_days` ahead."""
    text = text.strip()
    if text.lower() in ("now", "jetzt", "сейчас"):
        return float(int(now))
    try:
        local = datetime.fromisoformat(text.replace("T", " "))
    except ValueError:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone(zone_name, "UTC"))
    at = local.timestamp()
    if at < now - 60 or at > now + max_days * 86_400:
        return None
    return at


# --- what the dry run and the report show ------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """Who would receive a broadcast if it went now, and who not and why."""

    audience: int
    """Customers in the narrowed audience (language, tag)."""
    receiving: int
    excluded: Mapping[Exclusion, int]
    deferred: int
    """In their quiet hours at the send time: sent when those end (counted in `receiving`)."""
    seconds: float
    stars: float | None
    """The paid-broadcast cost, when paid broadcasts are on."""


def dry_run(
    plan: Plan,
    people: Iterable[tuple[Recipient, frozenset[str]]],
    *,
    now: float,
    rate: float,
    paid: bool,
    max_per_week: int,
    quiet: QuietHours,
    default_zone: str,
) -> DryRun:
    """Count the outcome for each customer as the engine would decide it at `plan.send_at` (or now)."""
    at = max(now, plan.send_at)
    audience = receiving = deferred = 0
    excluded: dict[Exclusion, int] = {}
    for who, tags in people:
        if not in_audience(plan, locale=who.locale, tags=tags):
            continue
        audience += 1
        why = exclusion(
            who,
            now=at,
            locales=frozenset(),
            max_per_week=max_per_week,
            quiet=quiet,
            default_zone=default_zone,
        )
        if why is Exclusion.QUIET_HOURS:
            deferred += 1
            why = None
        if why is None:
            receiving += 1
        else:
            excluded[why] = excluded.get(why, 0) + 1
    return DryRun(
        audience=audience,
        receiving=receiving,
        excluded=excluded,
        deferred=deferred,
        seconds=duration_seconds(receiving, rate),
        stars=round(receiving * STARS_PER_PAID_MESSAGE, 1) if paid else None,
    )


@dataclass(frozen=True)
class Progress:
    """Live counts of a started broadcast (its report, once nothing is left)."""

    sent: int
    excluded: Mapping[str, int]
    failed: int
    uncertain: int
    remaining: int
    cancelled: int

    @property
    def done(self) -> bool:
        return self.remaining == 0

    def eta_seconds(self, rate: float) -> float:
        return duration_seconds(self.remaining, rate)

    @classmethod
    def from_counts(cls, counts: Mapping[tuple[str, str | None], int]) -> Progress:
        """From (state, reason) → count, as the store reports them."""
        excluded: dict[str, int] = {}
        totals: dict[str, int] = {}
        for (state, reason), count in counts.items():
            totals[state] = totals.get(state, 0) + count
            if state == State.EXCLUDED:
                excluded[reason or "other"] = excluded.get(reason or "other", 0) + count
        return cls(
            sent=totals.get(State.SENT, 0),
            excluded=excluded,
            failed=totals.get(State.FAILED, 0),
            uncertain=totals.get(State.UNCERTAIN, 0),
            remaining=totals.get(State.QUEUED, 0) + totals.get(State.SENDING, 0),
            cancelled=totals.get(State.CANCELLED, 0),
        )
