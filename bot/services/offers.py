"""Offers: the deployed ones, runtime proposals under four-eyes approval, what may be served now, and the
verification codes that let a customer prove an offer message is genuine and theirs.

Every step (proposed, approved, rejected, refused for being one's own) is a critical audit entry, written
before the decision takes effect. Decisions are serialised in this process, so the check "still pending,
same digest, not the author" and the update are one step.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.gate.content import ApprovedClaims, claims_in
from bot.storage import OfferDelivery, ProposalRow, Repository
from flows.offers import Offer, OfferTerms, Status, eligible, may_decide

log = logging.getLogger("guardbot.offers")

KIND = "offer"
_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class Decision(StrEnum):
    DONE = "done"
    NOT_FOUND = "not_found"
    NOT_PENDING = "not_pending"
    OWN = "own"
    """The decider is the author: four eyes means someone else."""


class Verdict(StrEnum):
    GENUINE = "genuine"
    """Issued to this customer, and in force now."""
    EXPIRED = "expired"
    """Issued to this customer, but expired or withdrawn."""
    NOT_YOURS = "not_yours"
    """Issued by us, but to someone else."""
    UNKNOWN = "unknown"
    """Not a code we issued: the message did not come from us, or the code was changed."""


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    offer: Offer | None = None


def derive_code_key(master: bytes) -> bytes:
    """The MAC key for verification codes, derived from the master data key (never used for anything else)."""
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"guardbot offer verification v1").derive(master)


def normalize_code(text: str) -> str:
    """`v-7kq2 mx9d-p3ta` → `V-7KQ2-MX9D-P3TA`; anything that cannot be a code → ""."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(raw) != 13 or raw[0] != "V" or any(ch not in _CODE_ALPHABET for ch in raw[1:]):
        return ""
    return f"V-{raw[1:5]}-{raw[5:9]}-{raw[9:13]}"


class OfferBook:
    def __init__(
        self,
        repository: Repository,
        audit: AuditTrail,
        clock: Clock,
        catalog_offers: Mapping[str, Offer],
        code_key: bytes,
    ) -> None:
        self._repository = repository
        self._audit = audit
        self._clock = clock
        self._catalog = {offer.key: offer for offer in catalog_offers.values()}
        self._code_key = code_key
        self._runtime: dict[str, Offer] = {}
        self._ever_approved: dict[str, Offer] = {}
        self._deciding = asyncio.Lock()
        self._claims: tuple[frozenset[str], ApprovedClaims] | None = None

    async def load(self) -> None:
        """Read the runtime offers in force: approved, and with terms still equal to what was approved."""
        runtime: dict[str, Offer] = {}
        ever: dict[str, Offer] = {}
        for row in await self._repository.proposals(kind=KIND):
            if row.approved_digest is None:
                continue
            offer = Offer(f"runtime:{row.id}", terms_of(row))
            ever[offer.key] = offer
            if row.status == Status.APPROVED and offer.digest == row.approved_digest == row.digest:
                runtime[offer.key] = offer
            elif row.status == Status.APPROVED:
                log.error("offers.digest_mismatch", extra={"proposal": row.id})  # edited behind our back
        self._runtime, self._ever_approved = runtime, ever

    # --- serving -----------------------------------------------------------------------------------------

    def in_force(self) -> list[Offer]:
        return [*self._catalog.values(), *self._runtime.values()]

    def eligible_for(self, *, locale: str, marketing: bool) -> list[Offer]:
        now = self._clock.now()
        return [o for o in self.in_force() if eligible(o, locale=locale, marketing=marketing, now=now)]

    def approved_claims(self) -> ApprovedClaims:
        """What offers valid right now state (the gate refuses any other discount, price or code). Cached
        until the set of valid offers changes, so the gate's per-call cost is one pass over the offers."""
        now = self._clock.now()
        valid = [offer for offer in self.in_force() if offer.terms.valid_at(now)]
        key = frozenset(offer.digest for offer in valid)
        if self._claims is None or key != self._claims[0]:
            percents: set[int] = set()
            amounts: set[str] = set()
            codes: set[str] = set()
            for offer in valid:
                percents.add(offer.terms.discount)
                codes.add(offer.terms.code)
                for text in offer.terms.texts.values():
                    found = claims_in(text)
                    percents |= found.percents
                    amounts |= found.amounts
                    codes |= found.codes
            self._claims = (key, ApprovedClaims(frozenset(percents), frozenset(amounts), frozenset(codes)))
        return self._claims[1]

    def code_for(self, offer: Offer, user_id: int) -> str:
        """The verification code for this offer version and this customer: a MAC, so it can be neither
        guessed nor moved to another customer or another offer."""
        mac = hmac.new(self._code_key, f"{offer.key}\n{offer.digest}\n{user_id}".encode(), "sha256").digest()
        letters = base64.b32encode(mac).decode()[:12]
        return f"V-{letters[:4]}-{letters[4:8]}-{letters[8:]}"

    def in_force_by_key(self, key: str) -> Offer | None:
        """The offer with this key if it is deployed or approved now (whether or not valid today)."""
        return self._catalog.get(key) or self._runtime.get(key)

    def coupon_for(self, offer: Offer, user_id: int) -> str:
        """A code minted from the offer's own for one customer (a broadcast with coupons): the offer's code
        followed by a MAC, so it is personal, cannot be guessed, and the gate lets it go to that customer
        only."""
        mac = hmac.new(self._code_key, f"coupon\n{offer.key}\n{offer.digest}\n{user_id}".encode(), "sha256")
        suffix = base64.b32encode(mac.digest()).decode()[:6]
        return f"{offer.terms.code[:14]}{suffix}"

    def personal_codes(self, user_id: int | None) -> frozenset[str]:
        """The coupons minted for this customer from the offers valid now (what the gate also accepts for
        them, and for nobody else)."""
        if user_id is None:
            return frozenset()
        now = self._clock.now()
        return frozenset(
            self.coupon_for(offer, user_id) for offer in self.in_force() if offer.terms.valid_at(now)
        )

    async def issue(self, offer: Offer, user_id: int) -> str:
        """Record that the offer is about to be sent to the customer (their /mydata lists it); its code."""
        code = self.code_for(offer, user_id)
        await self._repository.add_offer_delivery(
            OfferDelivery(user_id, offer.key, offer.digest, code, self._clock.now())
        )
        return code

    async def sent_to(self, user_id: int) -> list[OfferDelivery]:
        return await self._repository.offer_deliveries(user_id)

    async def verify(self, code: str, user_id: int) -> Check:
        wanted = normalize_code(code)
        if not wanted:
            return Check(Verdict.UNKNOWN)
        now = self._clock.now()
        in_force = {offer.key for offer in self.in_force()}
        for offer in [*self._catalog.values(), *self._ever_approved.values()]:
            if hmac.compare_digest(self.code_for(offer, user_id), wanted):
                valid = offer.key in in_force and offer.terms.valid_at(now)
                return Check(Verdict.GENUINE if valid else Verdict.EXPIRED, offer)
        # Not computable now (the offer's terms changed, or the key was rotated since): what was issued.
        delivered = await self._repository.offer_delivery_by_code(wanted)
        if delivered is None:
            return Check(Verdict.UNKNOWN)
        if delivered.user_id != user_id:
            return Check(Verdict.NOT_YOURS)
        for offer in self.in_force():
            if (offer.key, offer.digest) == (delivered.offer_key, delivered.offer_digest):
                return Check(Verdict.GENUINE if offer.terms.valid_at(now) else Verdict.EXPIRED, offer)
        return Check(Verdict.EXPIRED)

    # --- proposals and four eyes ---------------------------------------------------------------------------

    async def propose(self, author: int, terms: OfferTerms) -> int:
        payload = json.dumps(terms.canonical(), sort_keys=True, ensure_ascii=False)
        proposal_id = await self._repository.add_proposal(
            KIND, payload, terms.digest, author, self._clock.now()
        )
        await self._record_terms("proposal.created", proposal_id, author, terms)
        return proposal_id

    async def _record_terms(self, event: str, proposal_id: int, author: int, terms: OfferTerms) -> None:
        """The terms go into the author's encrypted content; their digest is in the clear, for approvals."""
        await self._audit.record(
            event,
            actor=author,
            about=author,
            data={"kind": KIND, "proposal": proposal_id, "digest": terms.digest},
            content={"terms": terms.canonical()},
            critical=True,
        )

    async def revise(self, proposal_id: int, author: int, terms: OfferTerms) -> bool:
        """Edit a proposal (pending or approved): it is pending again and out of service until someone
        other than `author` approves the new terms. False if there is no such offer proposal."""
        async with self._deciding:
            if await self.proposal(proposal_id) is None:
                return False
            await self._record_terms("proposal.revised", proposal_id, author, terms)
            payload = json.dumps(terms.canonical(), sort_keys=True, ensure_ascii=False)
            revised = await self._repository.revise_proposal(
                proposal_id, payload=payload, digest=terms.digest, author=author
            )
            await self.load()
            return revised

    async def withdraw(self, proposal_id: int, actor: int) -> Decision:
        """Take an offer out of service at once (anyone in marketing or compliance may: stopping an offer
        needs no second pair of eyes). Its verification codes then answer "expired or withdrawn"."""
        async with self._deciding:
            row = await self.proposal(proposal_id)
            if row is None:
                return Decision.NOT_FOUND
            if row.status not in (Status.PENDING, Status.APPROVED):
                return Decision.NOT_PENDING
            await self._audit.record(
                "proposal.withdrawn",
                actor=actor,
                data={"kind": KIND, "proposal": proposal_id, "digest": row.digest},
                critical=True,
            )
            withdrawn = await self._repository.withdraw_proposal(
                proposal_id, actor=actor, now=self._clock.now()
            )
            assert withdrawn, "decisions are serialised"
            await self.load()
            return Decision.DONE

    async def pending(self) -> list[ProposalRow]:
        return await self._repository.proposals(status=Status.PENDING, kind=KIND)

    async def proposal(self, proposal_id: int) -> ProposalRow | None:
        row = await self._repository.proposal(proposal_id)
        return row if row is not None and row.kind == KIND else None

    async def decide(
        self, proposal_id: int, decider: int, *, approve: bool, reason: str | None = None
    ) -> Decision:
        async with self._deciding:
            row = await self.proposal(proposal_id)
            if row is None:
                return Decision.NOT_FOUND
            if row.status != Status.PENDING:
                return Decision.NOT_PENDING
            data: dict[str, object] = {"kind": KIND, "proposal": proposal_id, "digest": row.digest}
            if not may_decide(row.author, decider):
                await self._audit.record("proposal.refused_own", actor=decider, data=data, critical=True)
                return Decision.OWN
            status = Status.APPROVED if approve else Status.REJECTED
            await self._audit.record(
                f"proposal.{status.value}",
                actor=decider,
                data=data,
                content={"reason": reason} if reason else None,
                about=decider if reason else None,
                critical=True,
            )
            decided = await self._repository.decide_proposal(
                proposal_id,
                digest=row.digest,
                status=status.value,
                decider=decider,
                now=self._clock.now(),
                reason=reason,
            )
            assert decided, "decisions are serialised; a pending proposal cannot have changed"
            await self.load()
            log.info("proposal.decided", extra={"proposal": proposal_id, "status": status.value})
            return Decision.DONE


def terms_of(row: ProposalRow) -> OfferTerms:
    return OfferTerms.from_canonical(json.loads(row.payload))
