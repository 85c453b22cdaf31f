"""Broadcasts: proposing one, four-eyes approval, the dry run, starting it, judging each recipient at send
time, cancelling, and its progress. Knows nothing of Telegram; `bot.telegram.broadcasting` sends.

Every step that changes what may be sent (proposed, approved, rejected, refused for being one's own,
started, cancelled, stopped, finished) is a critical audit entry, written before it takes effect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.content.catalog import Template
from bot.services.consent import ConsentBook
from bot.services.customers import CustomerDirectory
from bot.services.offers import Decision, OfferBook
from bot.services.roles import RoleBook
from bot.storage import Repository
from bot.storage.broadcasts import BroadcastRow, Due, Outcome
from flows.broadcasts import (
    LIVE,
    WEEK,
    ContentKind,
    DryRun,
    Exclusion,
    Plan,
    Progress,
    QuietHours,
    Recipient,
    State,
    Status,
    dry_run,
    exclusion,
    in_audience,
    tags_of,
    zone,
)
from flows.consent import ConsentEvent, ConsentState
from flows.offers import Offer, eligible, may_decide

log = logging.getLogger("guardbot.broadcasts")

STOPPED = "content no longer approved or valid"


@dataclass(frozen=True)
class Limits:
    """The deployment's marketing limits (settings), in one place for the desk, the dry run and the engine."""

    rate: float
    paid: bool
    max_per_week: int
    quiet: QuietHours
    default_zone: str


@dataclass(frozen=True)
class Verdicts:
    """A batch of due recipients, judged: whom to send to now, and where the others go."""

    send: list[Due]
    outcomes: list[Outcome]
    excluded: dict[int, dict[str, int]]
    """Per broadcast: how many were excluded, by reason."""


Content = Template | Offer


class BroadcastDesk:
    def __init__(
        self,
        repository: Repository,
        audit: AuditTrail,
        clock: Clock,
        *,
        templates: dict[str, Template],
        offers: OfferBook,
        consent: ConsentBook,
        customers: CustomerDirectory,
        roles: RoleBook,
        locale_of: Callable[[str | None], str],
        limits: Limits,
    ) -> None:
        self._repository = repository
        self._audit = audit
        self._clock = clock
        self._templates = templates
        self._offers = offers
        self._consent = consent
        self._customers = customers
        self._roles = roles
        self._locale_of = locale_of
        self.limits = limits
        self._deciding = asyncio.Lock()
        self._cancelled: set[int] = set()
        """Broadcasts cancelled or stopped in this process: the engine asks before every single send, so a
        cancel takes effect at once, not only at its next round."""
        self.wake = asyncio.Event()
        """Set when there may be something new for the engine to do (an approval, a cancel)."""

    def is_cancelled(self, broadcast_id: int) -> bool:
        return broadcast_id in self._cancelled

    # --- what may be broadcast ----------------------------------------------------------------------------

    def templates(self) -> list[Template]:
        return sorted(self._templates.values(), key=lambda template: template.id)

    def offers(self) -> list[Offer]:
        """Approved offers valid now that may go to people who agreed to marketing."""
        now = self._clock.now()
        return [offer for offer in self._offers.in_force() if offer.terms.valid_at(now)]

    def plan_for(self, kind: ContentKind, key: str) -> Plan | None:
        """A plan for this content as it is approved now (bound to its digest); None if there is none."""
        content = self._current(kind, key)
        return None if content is None else Plan(kind, key, content.digest)

    def _current(self, kind: ContentKind, key: str) -> Content | None:
        if kind is ContentKind.TEMPLATE:
            return self._templates.get(key)
        offer = self._offers.in_force_by_key(key)
        return offer if offer is not None and offer.terms.valid_at(self._clock.now()) else None

    def content(self, plan: Plan) -> Content | None:
        """The approved content the plan names, if it is still exactly what was approved and valid now."""
        content = self._current(plan.kind, plan.key)
        return content if content is not None and content.digest == plan.content_digest else None

    # --- four eyes ---------------------------------------------------------------------------------------

    async def propose(self, author: int, plan: Plan) -> int:
        payload = json.dumps(plan.canonical(), sort_keys=True, ensure_ascii=False)
        broadcast_id = await self._repository.add_broadcast(author, payload, plan.digest, self._clock.now())
        await self._audit.record(
            "broadcast.proposed",
            actor=author,
            data={"broadcast": broadcast_id, "plan": plan.canonical(), "digest": plan.digest},
            critical=True,
        )
        return broadcast_id

    async def get(self, broadcast_id: int) -> BroadcastRow | None:
        return await self._repository.broadcast(broadcast_id)

    async def pending(self) -> list[BroadcastRow]:
        return await self._repository.broadcasts(status=Status.PENDING)

    async def decide(
        self, broadcast_id: int, decider: int, *, approve: bool, reason: str | None = None
    ) -> Decision:
        async with self._deciding:
            row = await self._repository.broadcast(broadcast_id)
            if row is None:
                return Decision.NOT_FOUND
            if row.status != Status.PENDING:
                return Decision.NOT_PENDING
            data: dict[str, object] = {"broadcast": broadcast_id, "digest": row.digest}
            if not may_decide(row.author, decider):
                await self._audit.record("broadcast.refused_own", actor=decider, data=data, critical=True)
                return Decision.OWN
            status = Status.APPROVED if approve else Status.REJECTED
            await self._audit.record(
                f"broadcast.{status.value}",
                actor=decider,
                data=data,
                content={"reason": reason} if reason else None,
                about=decider if reason else None,
                critical=True,
            )
            decided = await self._repository.decide_broadcast(
                broadcast_id,
                digest=row.digest,
                status=status.value,
                decider=decider,
                now=self._clock.now(),
                reason=reason,
            )
            if not decided:  # cancelled while the decision was being logged
                return Decision.NOT_PENDING
        self.wake.set()
        return Decision.DONE

    async def cancel(self, broadcast_id: int, actor: int) -> Decision:
        """Stop a broadcast (pending, approved or running): nothing more is sent from the moment this is
        called. Marketing staff and compliance may cancel any broadcast: stopping needs no second pair of
        eyes."""
        async with self._deciding:  # not while an approval of it is being logged
            row = await self._repository.broadcast(broadcast_id)
            if row is None:
                return Decision.NOT_FOUND
            if row.status not in LIVE:
                return Decision.NOT_PENDING
            self._cancelled.add(broadcast_id)
            await self._audit.record(
                "broadcast.cancelled", actor=actor, data={"broadcast": broadcast_id}, critical=True
            )
            if not await self._repository.cancel_broadcast(broadcast_id, self._clock.now()):
                return Decision.NOT_PENDING
        self.wake.set()
        return Decision.DONE

    # --- the audience ------------------------------------------------------------------------------------

    async def _people(self) -> list[tuple[int, str, str | None, frozenset[str], bool]]:
        """Every customer (staff left out): id, locale, time zone, tags, blocked."""
        return [
            (row.user_id, self._locale_of(row.language_code), row.time_zone, tags_of(row.tags), row.blocked)
            for row in await self._repository.audience()
            if not self._roles.roles_of(row.user_id)
        ]

    async def dry_run(self, plan: Plan) -> DryRun:
        """Who would receive it, who not and why, how long it takes and what it costs (at its send time)."""
        people = await self._people()
        now = self._clock.now()
        events = await self._repository.consent_events()
        states = {user_id: self._consent_state(history) for user_id, history in events.items()}
        sent = await self._repository.sent_since([p[0] for p in people], now - WEEK)
        offer = self.content(plan) if plan.kind is ContentKind.OFFER else None
        judged = []
        for user_id, locale, time_zone, tags, blocked in people:
            marketing = states.get(user_id, "never")
            if isinstance(offer, Offer) and not offer.terms.serves(locale):
                continue
            who = Recipient(user_id, locale, marketing, blocked, time_zone, sent.get(user_id, ()))
            judged.append((who, tags))
        limits = self.limits
        return dry_run(
            plan,
            judged,
            now=now,
            rate=limits.rate,
            paid=limits.paid,
            max_per_week=limits.max_per_week,
            quiet=limits.quiet,
            default_zone=limits.default_zone,
        )

    def _consent_state(self, history: Sequence[ConsentEvent]) -> str:
        return self._consent.marketing(ConsentState.derive(history)).value

    # --- running (asked by the engine) -------------------------------------------------------------------

    async def start_due(self) -> list[tuple[int, int]]:
        """Start approved broadcasts whose time has come: draw the audience (language, tag; staff never) and
        queue it. Consent and the rest are judged per recipient when their turn comes. A broadcast whose
        content is no longer what was approved (an offer withdrawn or expired) is stopped instead.
        Returns (broadcast, recipients queued) for each started."""
        started = []
        now = self._clock.now()
        for row in await self._repository.broadcasts(status=Status.APPROVED):
            plan = plan_of(row)
            if plan.send_at > now or row.id in self._cancelled:
                continue
            content = self.content(plan)
            if content is None:
                await self.stop(row.id, STOPPED)
                continue
            people = [
                user_id
                for user_id, locale, _zone, tags, _blocked in await self._people()
                if in_audience(plan, locale=locale, tags=tags)
            ]
            await self._audit.record(
                "broadcast.started",
                data={"broadcast": row.id, "digest": row.digest, "recipients": len(people)},
                critical=True,
            )
            if await self._repository.start_broadcast(row.id, people, self._clock.now()):
                started.append((row.id, len(people)))
        return started

    async def stop(self, broadcast_id: int, reason: str) -> None:
        """End a broadcast whose content stopped being valid: nobody else gets it."""
        self._cancelled.add(broadcast_id)
        await self._audit.record(
            "broadcast.stopped", data={"broadcast": broadcast_id, "reason": reason}, critical=True
        )
        await self._repository.cancel_broadcast(broadcast_id, self._clock.now(), status=Status.STOPPED)

    async def judge(self, due: Sequence[Due], plans: dict[int, Plan]) -> Verdicts:
        """Decide for each due recipient, now: send, exclude (and why), or wait (quiet hours)."""
        now = self._clock.now()
        users = [d.user_id for d in due]
        states = await self._consent.states(users)
        sent = await self._repository.sent_since(users, now - WEEK)
        limits = self.limits
        send: list[Due] = []
        outcomes: list[Outcome] = []
        excluded: dict[int, dict[str, int]] = {}
        for item in due:
            locale = self._locale_of(item.language_code)
            who = Recipient(
                item.user_id,
                locale,
                self._consent.marketing_now(item.user_id, states[item.user_id]).value,
                self._customers.unreachable(item.user_id),
                item.time_zone,
                sent.get(item.user_id, ()),
            )
            why = exclusion(
                who,
                now=now,
                locales=frozenset(),
                max_per_week=limits.max_per_week,
                quiet=limits.quiet,
                default_zone=limits.default_zone,
            )
            content = self.content(plans[item.broadcast])
            if (
                why is None
                and isinstance(content, Offer)
                and not eligible(content, locale=locale, marketing=True, now=now)
            ):
                why = Exclusion.LANGUAGE
            if why is Exclusion.QUIET_HOURS:
                local = zone(item.time_zone, limits.default_zone)
                ends = limits.quiet.ends_after(datetime.fromtimestamp(now, UTC).astimezone(local))
                outcomes.append(
                    Outcome(
                        item.broadcast,
                        item.user_id,
                        State.QUEUED,
                        "quiet_hours",
                        ends.timestamp(),
                        item.attempts,
                    )
                )
            elif why is not None:
                outcomes.append(
                    Outcome(item.broadcast, item.user_id, State.EXCLUDED, why.value, 0.0, item.attempts)
                )
                counts = excluded.setdefault(item.broadcast, {})
                counts[why.value] = counts.get(why.value, 0) + 1
            else:
                send.append(item)
                # Two broadcasts may reach the same person in one round: the second sees the first.
                sent.setdefault(item.user_id, []).append(now)
        await self._audit.warm([item.user_id for item in send])  # each send is logged about its recipient
        return Verdicts(send, outcomes, excluded)

    async def consent_exclusion(self, user_id: int) -> Exclusion:
        """Why the gate found no marketing consent at the last moment: an opt-out, or none at all."""
        state = (await self._consent.states([user_id]))[user_id]
        withdrawn = self._consent.marketing_now(user_id, state).value == "withdrawn"
        return Exclusion.OPTED_OUT if withdrawn else Exclusion.NO_CONSENT

    async def progress(self, broadcast_id: int) -> Progress:
        return Progress.from_counts(await self._repository.recipient_counts(broadcast_id))

    # --- the record ---------------------------------------------------------------------------------------

    async def audit_excluded(self, broadcast_id: int, counts: dict[str, int]) -> None:
        """Who was left out in a round, by reason (counts only: each person's own record says the rest)."""
        await self._audit.record("broadcast.excluded", data={"broadcast": broadcast_id, "excluded": counts})

    async def audit_uncertain(self, broadcast_id: int, count: int) -> None:
        await self._audit.record(
            "broadcast.uncertain",
            data={"broadcast": broadcast_id, "recipients": count, "why": "interrupted; never resent"},
            critical=True,
        )

    async def unreported(self) -> list[BroadcastRow]:
        """Ended broadcasts whose final report has not gone out yet."""
        return await self._repository.unreported_broadcasts()

    async def finished(self, row: BroadcastRow, progress: Progress) -> bool:
        """Log the final counts of an ended broadcast, once (False if already logged, or if sends are still
        in flight)."""
        if progress.remaining:
            return False
        # Logged first: a crash before it is marked logs it twice, never not at all.
        await self._audit.record(
            "broadcast.finished",
            data={
                "broadcast": row.id,
                "status": row.status,
                "sent": progress.sent,
                "excluded": dict(progress.excluded),
                "failed": progress.failed,
                "uncertain": progress.uncertain,
                "cancelled": progress.cancelled,
            },
            critical=True,
        )
        return await self._repository.mark_reported(row.id)


def plan_of(row: BroadcastRow) -> Plan:
    return Plan.from_canonical(json.loads(row.plan))
