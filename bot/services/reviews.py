"""AGENT_FREE_TEXT=review: an agent's own words to a customer wait for a compliance officer other than the
agent. The words are sealed under the customer's key; the approval, like everything else, is audited."""

from __future__ import annotations

import hashlib

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.services.offers import Decision
from bot.storage import ReplyReviewRow, Repository, TicketRow
from flows.offers import may_decide


class ReplyReviews:
    def __init__(self, repository: Repository, audit: AuditTrail, clock: Clock) -> None:
        self._repository = repository
        self._audit = audit
        self._clock = clock

    async def propose(self, ticket: TicketRow, agent: int, text: str) -> int:
        sealed = await self._audit.seal(ticket.customer, {"text": text})
        digest = hashlib.sha256(text.encode()).hexdigest()
        review_id = await self._repository.add_reply_review(
            ticket.id, agent, ticket.customer, sealed, digest, self._clock.now()
        )
        await self._audit.record(
            "reply.proposed",
            actor=agent,
            about=ticket.customer,
            data={"review": review_id, "ticket": ticket.id, "digest": digest},
            critical=True,
        )
        return review_id

    async def text_of(self, row: ReplyReviewRow) -> str | None:
        opened = await self._audit.unseal(row.customer, row.sealed)
        text = opened.get("text") if opened else None
        return text if isinstance(text, str) else None

    async def pending(self) -> list[tuple[ReplyReviewRow, str]]:
        shown = []
        for row in await self._repository.reply_reviews("pending"):
            text = await self.text_of(row)
            if text is not None:  # None: the customer was erased meanwhile
                shown.append((row, text))
        return shown

    async def decide(
        self, review_id: int, decider: int, *, approve: bool
    ) -> tuple[Decision, ReplyReviewRow | None, str | None]:
        row = await self._repository.reply_review(review_id)
        if row is None:
            return Decision.NOT_FOUND, None, None
        if row.status != "pending":
            return Decision.NOT_PENDING, row, None
        data = {"review": review_id, "ticket": row.ticket, "digest": row.digest}
        if not may_decide(row.agent, decider):
            await self._audit.record("reply.refused_own", actor=decider, data=data, critical=True)
            return Decision.OWN, row, None
        status = "approved" if approve else "rejected"
        await self._audit.record(
            f"reply.{status}", actor=decider, about=row.customer, data=data, critical=True
        )
        if not await self._repository.decide_reply_review(
            review_id, status=status, decider=decider, now=self._clock.now()
        ):
            return Decision.NOT_PENDING, row, None
        return Decision.DONE, row, await self.text_of(row)
