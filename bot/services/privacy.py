"""Data-subject rights: the export of everything stored about a person (GDPR Art. 15) and erasure (Art. 17).

The export is assembled from the stores themselves (profile row, consent ledger, the person's decrypted
audit contents), not from a copy kept for the purpose, so it shows what is really held. Erasure deletes the
operational rows, then crypto-shreds the audit contents by destroying the person's key; the pseudonymous,
hash-chained audit entries stay (with the fact of the erasure), as the law allows.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.services.consent import ConsentBook
from bot.services.customers import CustomerDirectory
from bot.services.offers import OfferBook
from bot.services.secure_links import SecureLinks
from flows.broadcasts import tags_of
from flows.consent import Marketing, marketing_expiry

log = logging.getLogger("guardbot.privacy")

EXPORT_FORMAT = "guardbot.mydata/1"
EXPORT_FILENAME = "my-data.json"
CONFIRM_SECONDS = 600.0
ERASED_TABLES = (
    "users",
    "consent_events",
    "offer_deliveries",
    "customer_identifiers",
    "secure_links",
    "form_submissions",
    "broadcast_recipients",
)

_DIRECTIONS = {"in.update": "from_you", "out.call": "to_you", "gate.refused": "blocked_before_sending"}


def iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


class BroadcastHistory(Protocol):
    """Which broadcasts a person was in (the repository provides it): the export must show them too."""

    async def broadcasts_to(self, user_id: int) -> list[tuple[int, str, str | None, float | None]]: ...


class PrivacyDesk:
    def __init__(
        self,
        customers: CustomerDirectory,
        consent: ConsentBook,
        offers: OfferBook,
        audit: AuditTrail,
        clock: Clock,
        export_interval_minutes: int,
        forms: SecureLinks | None = None,
        broadcasts: BroadcastHistory | None = None,  # the repository; without it, no broadcasts are listed
    ) -> None:
        self._forms = forms
        self._broadcasts = broadcasts
        self._customers = customers
        self._consent = consent
        self._offers = offers
        self._audit = audit
        self._clock = clock
        self._interval = export_interval_minutes * 60.0

    async def minutes_until_export(self, user_id: int) -> int:
        """0 when the person may have an export now; otherwise how long to wait (rounded up)."""
        profile = await self._customers.profile(user_id)
        if profile is None or profile.last_export_at is None:
            return 0
        left = profile.last_export_at + self._interval - self._clock.now()
        return max(0, math.ceil(left / 60.0))

    async def confirmation_valid(self, user_id: int, asked: float) -> bool:
        """An erasure confirmation counts for `CONFIRM_SECONDS` after it was asked, and never for a
        person who started afresh since (an old button must not erase their new account)."""
        now = self._clock.now()
        if not now - CONFIRM_SECONDS <= asked <= now + 1:
            return False
        profile = await self._customers.profile(user_id)
        return profile is not None and profile.first_seen <= asked + 1

    async def export(self, user_id: int) -> bytes:
        """Everything stored about the person, as JSON; the request itself is audited and rate-limited."""
        await self._audit.record("privacy.exported", actor=user_id, about=user_id, critical=True)
        await self._customers.exported(user_id)
        document = await self.collect(user_id)
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")

    async def collect(self, user_id: int) -> dict[str, Any]:
        profile = await self._customers.profile(user_id)
        history = await self._consent.history(user_id)
        state = await self._consent.state(user_id)
        marketing = self._consent.marketing(state)
        notice = self._consent.notice
        items = await self._audit.history(user_id)
        offers_sent = await self._offers.sent_to(user_id)
        identifiers = await self._customers.identifiers_of(user_id)
        forms = await self._forms.masked_submissions(user_id, viewer=user_id) if self._forms else []
        broadcasts = await self._broadcasts.broadcasts_to(user_id) if self._broadcasts else []
        return {
            "format": EXPORT_FORMAT,
            "generated_at": iso(self._clock.now()),
            "profile": None
            if profile is None
            else {
                "telegram_user_id": profile.user_id,
                "language_code": profile.language_code,
                "first_seen": iso(profile.first_seen),
                "last_seen": iso(profile.last_seen),
                "blocked_bot_at": iso(profile.blocked_at),
                "last_export_at": iso(profile.last_export_at),
                # Imported by the operator from their CRM (`guardbot customers import`), for broadcasts.
                "time_zone": profile.time_zone,
                "tags": sorted(tags_of(profile.tags)),
                "identifiers": [{"kind": kind, "value": value} for kind, value in identifiers],
            },
            "consent": {
                "current_notice_version": notice.version,
                "notice_accepted": state.accepted(notice.version),
                "marketing": marketing.value,
                "marketing_valid_until": iso(marketing_expiry(state.marketing, self._consent.max_age_days))
                if state.marketing is not None and marketing is Marketing.GRANTED
                else None,
                "history": [
                    {
                        "scope": row.event.scope.value,
                        "action": row.event.action.value,
                        "notice_version": row.event.notice_version,
                        "notice_digest": row.notice_digest,
                        "at": iso(row.event.at),
                        "via": row.event.via.value,
                        "detail": row.event.detail,
                        "message_id": row.event.message_id,
                        "audit_entry": row.audit_seq,
                    }
                    for row in history
                ],
            },
            "messages": [
                {
                    "audit_entry": item.seq,
                    "at": iso(item.time),
                    "direction": _DIRECTIONS.get(item.type, item.type),
                    # What the gate stopped is kept as evidence, but never handed out: it may be exactly
                    # what must not reach this person (another customer's data, an unapproved promise).
                    "content": None if item.type == "gate.refused" else item.content,
                }
                for item in items
            ],
            # Kept by later capabilities; listed so the export names every category Guardbot stores.
            "tickets": [],
            "offers_sent": [
                {
                    "offer": sent.offer_key,
                    "offer_version": sent.offer_digest,
                    "verification_code": sent.code,
                    "at": iso(sent.sent_at),
                }
                for sent in offers_sent
            ],
            "secure_form_submissions": [
                {"form": row.form, "submitted_at": iso(row.submitted_at), "fields": values}
                for row, values in forms
            ],
            "broadcasts": [
                {"broadcast": broadcast, "state": state, "reason": reason, "sent_at": iso(sent_at)}
                for broadcast, state, reason, sent_at in broadcasts
            ],
        }

    async def forget(self, user_id: int) -> dict[str, int]:
        """Erase the person: log it first (audit first), then delete the operational rows, then destroy
        their key and content. Each step can be repeated: a crash between them leaves a state that a second
        /forget completes (the log shows the erasure was asked for)."""
        await self._audit.record(
            "privacy.erasure",
            actor=user_id,
            about=user_id,
            data={"tables": list(ERASED_TABLES)},
            critical=True,
        )
        deleted = await self._customers.erase(user_id)  # the profile, consent ledger, offers sent
        self._consent.forget(user_id)
        await self._audit.erase(user_id, actor=user_id)
        log.info("privacy.erased", extra={"tables": sorted(deleted)})
        return deleted
