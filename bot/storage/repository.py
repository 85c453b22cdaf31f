"""The repository: every query Guardbot runs, behind one interface.

Services type against the `Repository` protocol; `SqliteRepository` is today's implementation and a
PostgreSQL one can follow without touching a service. Methods are named for what they mean to the business
(`claim_update`, `grant_role`), and each is one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import aiosqlite

from bot.storage.broadcasts import BroadcastRepository, SqliteBroadcastQueries
from flows.consent import Action, ConsentEvent, Scope, Via


@dataclass(frozen=True)
class RoleGrant:
    user_id: int
    role: str
    source: str
    granted_by: int | None
    granted_at: float


@dataclass(frozen=True)
class CustomerRow:
    """What the users table holds about a person (all of it goes into their data export)."""

    user_id: int
    language_code: str | None
    first_seen: float
    last_seen: float
    blocked_at: float | None
    last_export_at: float | None
    time_zone: str | None = None
    """IANA name, imported by the operator (`guardbot customers import`): Telegram does not tell a bot."""
    tags: str = ""
    """Imported audience tags, stored as ",a,b," (`flows.broadcasts.tags_of` reads them)."""


@dataclass(frozen=True)
class SealedIdentifier:
    """An identifier as stored: its kind in clear, its value sealed under the owner's content key."""

    user_id: int
    kind: str
    sealed: bytes


@dataclass(frozen=True)
class StoredConsent:
    """A consent ledger row: the event, the notice text's digest it referred to, and its audit entry."""

    event: ConsentEvent
    notice_digest: str
    audit_seq: int


@dataclass(frozen=True)
class ProposalRow:
    id: int
    kind: str
    payload: str
    digest: str
    author: int
    created_at: float
    status: str
    decided_by: int | None
    decided_at: float | None
    reason: str | None
    approved_digest: str | None


@dataclass(frozen=True)
class OfferDelivery:
    user_id: int
    offer_key: str
    offer_digest: str
    code: str
    sent_at: float


@dataclass(frozen=True)
class SecureLinkRow:
    token_hash: str
    user_id: int
    form: str
    issued_by: int | None
    issued_at: float
    expires_at: float
    opened_at: float | None = None
    used_at: float | None = None
    revoked_at: float | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class SubmissionRow:
    user_id: int
    form: str
    link_hash: str
    fields: str
    sealed: bytes
    wrapped_key: bytes
    key_id: str
    submitted_at: float
    purge_after: float
    id: int | None = None


_LINK_COLUMNS = (
    "token_hash, user_id, form, issued_by, issued_at, expires_at, opened_at, used_at, revoked_at, message_id"
)
_SUBMISSION_COLUMNS = (
    "user_id, form, link_hash, fields, sealed, wrapped_key, key_id, submitted_at, purge_after, id"
)


@dataclass(frozen=True)
class TicketRow:
    id: int
    customer: int
    status: str
    agent: int | None
    opened_at: float
    assigned_at: float | None
    closed_at: float | None
    closed_by: int | None
    last_activity: float


@dataclass(frozen=True)
class ReplyReviewRow:
    id: int
    ticket: int
    agent: int
    customer: int
    sealed: bytes
    digest: str
    status: str
    created_at: float
    decided_by: int | None
    decided_at: float | None


_REVIEW_COLUMNS = "id, ticket, agent, customer, sealed, digest, status, created_at, decided_by, decided_at"

_TICKET_COLUMNS = "id, customer, status, agent, opened_at, assigned_at, closed_at, closed_by, last_activity"

_PROPOSAL_COLUMNS = (
    "id, kind, payload, digest, author, created_at, status, decided_by, decided_at, reason, approved_digest"
)


class Repository(BroadcastRepository, Protocol):
    async def claim_update(self, bot_id: int, update_id: int, now: float) -> bool:
        """Record an update as taken; False if it was already taken (a redelivery)."""
        ...

    async def forget_updates_before(self, cutoff: float) -> int: ...

    async def touch_user(self, user_id: int, language_code: str | None, now: float) -> None:
        """Create the user on first contact, else refresh their language and last-seen time."""
        ...

    async def add_identifier(self, identifier: SealedIdentifier, now: float) -> None: ...

    async def identifiers(self, user_id: int | None = None) -> list[SealedIdentifier]:
        """The stored identifiers of one person, or everyone's (for the gate's index at start)."""
        ...

    async def mark_blocked(self, user_id: int, now: float) -> None:
        """Note that the user blocked the bot (Telegram answered 403)."""
        ...

    async def is_blocked(self, user_id: int) -> bool: ...

    async def blocked_users(self) -> list[int]:
        """Everyone currently marked as having blocked the bot."""
        ...

    async def customer(self, user_id: int) -> CustomerRow | None: ...

    async def note_export(self, user_id: int, now: float) -> None:
        """Remember when the person last received their data export (for rate limiting)."""
        ...

    async def add_consent(
        self, user_id: int, event: ConsentEvent, notice_digest: str, audit_seq: int
    ) -> None:
        """Append one event to the person's consent ledger."""
        ...

    async def consent_history(self, user_id: int) -> list[StoredConsent]:
        """The person's consent ledger, oldest first."""
        ...

    async def erase_customer(self, user_id: int) -> dict[str, int]:
        """Delete everything this database holds about the person; returns rows deleted per table."""
        ...

    async def add_proposal(self, kind: str, payload: str, digest: str, author: int, now: float) -> int: ...

    async def proposal(self, proposal_id: int) -> ProposalRow | None: ...

    async def proposals(self, *, status: str | None = None, kind: str | None = None) -> list[ProposalRow]: ...

    async def decide_proposal(
        self, proposal_id: int, *, digest: str, status: str, decider: int, now: float, reason: str | None
    ) -> bool:
        """Approve or reject a pending proposal whose digest is still `digest`; False if it was not (any
        more) pending with that digest — a concurrent decision or edit won."""
        ...

    async def revise_proposal(self, proposal_id: int, *, payload: str, digest: str, author: int) -> bool:
        """New terms for a proposal: it becomes pending again, whatever it was (an approval bound to the
        old digest no longer holds); `author` is now the reviser. False if there is no such proposal."""
        ...

    async def withdraw_proposal(self, proposal_id: int, *, actor: int, now: float) -> bool:
        """Take a pending or approved proposal out of service for good; False if it was neither."""
        ...

    async def add_secure_link(self, link: SecureLinkRow) -> int:
        """Store a new link and revoke the person's earlier open links to the same form (one live link per
        form); returns how many were revoked."""
        ...

    async def secure_link(self, token_hash: str) -> SecureLinkRow | None: ...

    async def link_opened(self, token_hash: str, now: float) -> bool:
        """Note the first opening; False if it was opened before."""
        ...

    async def link_message(self, token_hash: str, message_id: int) -> None: ...

    async def revoke_links(self, user_id: int, now: float) -> int: ...

    async def submit_through_link(self, row: SubmissionRow, now: float) -> bool:
        """Consume the link and store what came through it, in one transaction: False (nothing stored) if
        the link was not open any more."""
        ...

    async def forget_links_before(self, cutoff: float) -> int:
        """Delete links that ended (expired, used, revoked) before `cutoff`; how many."""
        ...

    async def submissions(self, user_id: int) -> list[SubmissionRow]: ...

    async def purge_submissions(self, now: float) -> int:
        """Delete submissions past their form's retention; how many."""
        ...

    async def submission_keys(self) -> list[tuple[int, bytes, str]]:
        """(id, wrapped data key, master key id) of every submission: what a master-key rotation rewraps."""
        ...

    async def rewrap_submissions(self, keys: Sequence[tuple[int, bytes, str]]) -> None:
        """Store new wrappings (id, wrapped key, master key id), all in one transaction."""
        ...

    async def open_ticket(self, customer: int, now: float) -> tuple[TicketRow, bool]:
        """The customer's live ticket, opened now unless one is open or assigned; (ticket, newly opened)."""
        ...

    async def ticket(self, ticket_id: int) -> TicketRow | None: ...

    async def tickets(self, *, status: str | None = None, agent: int | None = None) -> list[TicketRow]: ...

    async def take_ticket(self, ticket_id: int, agent: int, now: float) -> bool:
        """Assign an open ticket; False if someone else took it first (or it is not open)."""
        ...

    async def release_ticket(self, ticket_id: int, agent: int, now: float) -> bool: ...

    async def close_ticket(self, ticket_id: int, by: int | None, now: float) -> bool: ...

    async def touch_ticket(self, ticket_id: int, now: float) -> None: ...

    async def transfer_ticket(self, ticket_id: int, from_agent: int, to_agent: int, now: float) -> bool: ...

    async def release_tickets_of(self, agent: int, now: float) -> list[int]:
        """Every ticket the agent holds back to the queue (they lost the role); the ticket ids."""
        ...

    async def add_reply_review(
        self, ticket: int, agent: int, customer: int, sealed: bytes, digest: str, now: float
    ) -> int: ...

    async def reply_review(self, review_id: int) -> ReplyReviewRow | None: ...

    async def reply_reviews(self, status: str) -> list[ReplyReviewRow]: ...

    async def decide_reply_review(self, review_id: int, *, status: str, decider: int, now: float) -> bool:
        """Approve or reject a pending reply; False if it was not pending any more."""
        ...

    async def add_offer_delivery(self, delivery: OfferDelivery) -> None: ...

    async def offer_deliveries(self, user_id: int) -> list[OfferDelivery]: ...

    async def offer_delivery_by_code(self, code: str) -> OfferDelivery | None: ...

    async def role_grants(self) -> list[RoleGrant]: ...

    async def grant_role(
        self, user_id: int, role: str, *, source: str, actor: int | None, now: float
    ) -> bool:
        """Grant a role; False if the user already had it."""
        ...

    async def revoke_role(self, user_id: int, role: str, *, actor: int | None, now: float) -> bool:
        """Revoke a role; False if the user did not have it."""
        ...

    async def sync_configured_roles(
        self, configured: Mapping[str, Sequence[int]], now: float
    ) -> list[tuple[str, int, str]]:
        """Make settings-sourced grants equal `configured`; return the (action, user, role) changes."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot answer."""
        ...

    async def close(self) -> None: ...


class SqliteRepository(SqliteBroadcastQueries):
    """`Repository` over one aiosqlite connection in autocommit mode.

    Every update is handled in its own task, and all of them share this connection; a statement run while
    another task's transaction is open would silently join (and roll back with) that transaction. So every
    method holds `_lock` for its whole duration: one method at a time, each one atomic.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for single statements, with no other task's transaction open."""
        async with self._lock:
            yield self._conn

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def claim_update(self, bot_id: int, update_id: int, now: float) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "INSERT INTO processed_updates (bot_id, update_id, received_at) VALUES (?, ?, ?) "
                "ON CONFLICT (bot_id, update_id) DO NOTHING",
                (bot_id, update_id, now),
            )
            return cursor.rowcount == 1

    async def forget_updates_before(self, cutoff: float) -> int:
        async with self._exclusive() as conn:
            cursor = await conn.execute("DELETE FROM processed_updates WHERE received_at < ?", (cutoff,))
            return cursor.rowcount

    async def touch_user(self, user_id: int, language_code: str | None, now: float) -> None:
        async with self._exclusive() as conn:
            await conn.execute(
                "INSERT INTO users (user_id, language_code, first_seen, last_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET language_code = excluded.language_code, "
                "last_seen = excluded.last_seen, blocked_at = NULL",
                (user_id, language_code, now, now),
            )

    async def add_identifier(self, identifier: SealedIdentifier, now: float) -> None:
        async with self._exclusive() as conn:
            await conn.execute(
                "INSERT INTO customer_identifiers (user_id, kind, sealed, added_at) VALUES (?, ?, ?, ?)",
                (identifier.user_id, identifier.kind, identifier.sealed, now),
            )

    async def identifiers(self, user_id: int | None = None) -> list[SealedIdentifier]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT user_id, kind, sealed FROM customer_identifiers "
                "WHERE ?1 IS NULL OR user_id = ?1 ORDER BY id",
                (user_id,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [SealedIdentifier(int(row[0]), str(row[1]), bytes(row[2])) for row in rows]

    async def mark_blocked(self, user_id: int, now: float) -> None:
        async with self._exclusive() as conn:
            await conn.execute("UPDATE users SET blocked_at = ? WHERE user_id = ?", (now, user_id))

    async def is_blocked(self, user_id: int) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT blocked_at IS NOT NULL FROM users WHERE user_id = ?", (user_id,)
            )
            row = await cursor.fetchone()
            await cursor.close()
        return bool(row and row[0])

    async def blocked_users(self) -> list[int]:
        async with self._exclusive() as conn:
            cursor = await conn.execute("SELECT user_id FROM users WHERE blocked_at IS NOT NULL")
            rows = await cursor.fetchall()
            await cursor.close()
        return [int(row[0]) for row in rows]

    async def customer(self, user_id: int) -> CustomerRow | None:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT user_id, language_code, first_seen, last_seen, blocked_at, last_export_at, "
                "time_zone, tags FROM users WHERE user_id = ?",
                (user_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return CustomerRow(*row) if row else None

    async def note_export(self, user_id: int, now: float) -> None:
        async with self._exclusive() as conn:
            await conn.execute("UPDATE users SET last_export_at = ? WHERE user_id = ?", (now, user_id))

    async def add_consent(
        self, user_id: int, event: ConsentEvent, notice_digest: str, audit_seq: int
    ) -> None:
        async with self._exclusive() as conn:
            await conn.execute(
                "INSERT INTO consent_events (user_id, scope, action, notice_version, notice_digest, at, via, "
                "detail, message_id, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    event.scope.value,
                    event.action.value,
                    event.notice_version,
                    notice_digest,
                    event.at,
                    event.via.value,
                    event.detail,
                    event.message_id,
                    audit_seq,
                ),
            )

    async def consent_history(self, user_id: int) -> list[StoredConsent]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT scope, action, notice_version, at, via, detail, message_id, notice_digest, audit_seq "
                "FROM consent_events WHERE user_id = ? ORDER BY id",
                (user_id,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [
            StoredConsent(
                ConsentEvent(Scope(row[0]), Action(row[1]), row[2], row[3], Via(row[4]), row[5], row[6]),
                row[7],
                row[8],
            )
            for row in rows
        ]

    async def erase_customer(self, user_id: int) -> dict[str, int]:
        deleted: dict[str, int] = {}
        async with self._transaction() as conn:
            for table in (
                "consent_events",
                "offer_deliveries",
                "customer_identifiers",
                "secure_links",
                "form_submissions",
                "broadcast_recipients",
                "users",
            ):
                cursor = await conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))  # noqa: S608
                deleted[table] = cursor.rowcount
        async with self._exclusive() as conn:  # secure_delete overwrote the pages; leave no copy in the WAL
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    async def add_proposal(self, kind: str, payload: str, digest: str, author: int, now: float) -> int:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "INSERT INTO proposals (kind, payload, digest, author, created_at, status) "
                "VALUES (?, ?, ?, ?, ?, 'pending')",
                (kind, payload, digest, author, now),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    async def proposal(self, proposal_id: int) -> ProposalRow | None:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE id = ?",  # noqa: S608 - fixed columns
                (proposal_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return ProposalRow(*row) if row else None

    async def proposals(self, *, status: str | None = None, kind: str | None = None) -> list[ProposalRow]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_PROPOSAL_COLUMNS} FROM proposals "  # noqa: S608 - fixed columns
                "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR kind = ?2) ORDER BY id",
                (status, kind),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [ProposalRow(*row) for row in rows]

    async def decide_proposal(
        self, proposal_id: int, *, digest: str, status: str, decider: int, now: float, reason: str | None
    ) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?, reason = ?, "
                "approved_digest = CASE WHEN ? = 'approved' THEN digest END "
                "WHERE id = ? AND status = 'pending' AND digest = ?",
                (status, decider, now, reason, status, proposal_id, digest),
            )
            return cursor.rowcount == 1

    async def revise_proposal(self, proposal_id: int, *, payload: str, digest: str, author: int) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE proposals SET payload = ?, digest = ?, author = ?, status = 'pending', "
                "decided_by = NULL, decided_at = NULL, reason = NULL, approved_digest = NULL WHERE id = ?",
                (payload, digest, author, proposal_id),
            )
            return cursor.rowcount == 1

    async def withdraw_proposal(self, proposal_id: int, *, actor: int, now: float) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE proposals SET status = 'withdrawn', decided_by = ?, decided_at = ? "
                "WHERE id = ? AND status IN ('pending', 'approved')",
                (actor, now, proposal_id),
            )
            return cursor.rowcount == 1

    async def add_secure_link(self, link: SecureLinkRow) -> int:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "UPDATE secure_links SET revoked_at = ? WHERE user_id = ? AND form = ? AND used_at IS NULL "
                "AND revoked_at IS NULL AND expires_at > ?",
                (link.issued_at, link.user_id, link.form, link.issued_at),
            )
            revoked = cursor.rowcount
            await conn.execute(
                f"INSERT INTO secure_links ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (
                    link.token_hash,
                    link.user_id,
                    link.form,
                    link.issued_by,
                    link.issued_at,
                    link.expires_at,
                    link.opened_at,
                    link.used_at,
                    link.revoked_at,
                    link.message_id,
                ),
            )
        return revoked

    async def secure_link(self, token_hash: str) -> SecureLinkRow | None:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_LINK_COLUMNS} FROM secure_links WHERE token_hash = ?",  # noqa: S608
                (token_hash,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return SecureLinkRow(*row) if row else None

    async def link_opened(self, token_hash: str, now: float) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE secure_links SET opened_at = ? WHERE token_hash = ? AND opened_at IS NULL",
                (now, token_hash),
            )
            return cursor.rowcount == 1

    async def link_message(self, token_hash: str, message_id: int) -> None:
        async with self._exclusive() as conn:
            await conn.execute(
                "UPDATE secure_links SET message_id = ? WHERE token_hash = ?", (message_id, token_hash)
            )

    async def revoke_links(self, user_id: int, now: float) -> int:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE secure_links SET revoked_at = ? WHERE user_id = ? AND used_at IS NULL "
                "AND revoked_at IS NULL",
                (now, user_id),
            )
            return cursor.rowcount

    async def submit_through_link(self, row: SubmissionRow, now: float) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "UPDATE secure_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
                "AND revoked_at IS NULL AND expires_at > ?",
                (now, row.link_hash, now),
            )
            if cursor.rowcount != 1:
                return False
            await conn.execute(
                "INSERT INTO form_submissions (user_id, form, link_hash, fields, sealed, wrapped_key, "
                "key_id, submitted_at, purge_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.user_id,
                    row.form,
                    row.link_hash,
                    row.fields,
                    row.sealed,
                    row.wrapped_key,
                    row.key_id,
                    row.submitted_at,
                    row.purge_after,
                ),
            )
        return True

    async def forget_links_before(self, cutoff: float) -> int:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "DELETE FROM secure_links WHERE coalesce(used_at, revoked_at, expires_at) < ? "
                "AND (used_at IS NOT NULL OR revoked_at IS NOT NULL OR expires_at < ?)",
                (cutoff, cutoff),
            )
            return cursor.rowcount

    async def submissions(self, user_id: int) -> list[SubmissionRow]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_SUBMISSION_COLUMNS} FROM form_submissions WHERE user_id = ? ORDER BY id",  # noqa: S608
                (user_id,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [SubmissionRow(*row) for row in rows]

    async def submission_keys(self) -> list[tuple[int, bytes, str]]:
        async with self._exclusive() as conn:
            cursor = await conn.execute("SELECT id, wrapped_key, key_id FROM form_submissions ORDER BY id")
            rows = await cursor.fetchall()
            await cursor.close()
        return [(int(row[0]), bytes(row[1]), str(row[2])) for row in rows]

    async def rewrap_submissions(self, keys: Sequence[tuple[int, bytes, str]]) -> None:
        async with self._transaction() as conn:
            for submission_id, wrapped, key_id in keys:
                await conn.execute(
                    "UPDATE form_submissions SET wrapped_key = ?, key_id = ? WHERE id = ?",
                    (wrapped, key_id, submission_id),
                )

    async def purge_submissions(self, now: float) -> int:
        async with self._exclusive() as conn:
            cursor = await conn.execute("DELETE FROM form_submissions WHERE purge_after <= ?", (now,))
            deleted = cursor.rowcount
            if deleted:
                await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return deleted

    async def open_ticket(self, customer: int, now: float) -> tuple[TicketRow, bool]:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE customer = ? AND status != 'closed'",  # noqa: S608
                (customer,),
            )
            live = await cursor.fetchone()
            await cursor.close()
            if live is not None:
                return TicketRow(*live), False
            cursor = await conn.execute(
                "INSERT INTO tickets (customer, status, opened_at, last_activity) VALUES (?, 'open', ?, ?)",
                (customer, now, now),
            )
            assert cursor.lastrowid is not None
            return TicketRow(cursor.lastrowid, customer, "open", None, now, None, None, None, now), True

    async def ticket(self, ticket_id: int) -> TicketRow | None:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE id = ?",  # noqa: S608
                (ticket_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return TicketRow(*row) if row else None

    async def tickets(self, *, status: str | None = None, agent: int | None = None) -> list[TicketRow]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_TICKET_COLUMNS} FROM tickets "  # noqa: S608
                "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR agent = ?2) ORDER BY id",
                (status, agent),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [TicketRow(*row) for row in rows]

    async def take_ticket(self, ticket_id: int, agent: int, now: float) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE tickets SET status = 'assigned', agent = ?, assigned_at = ?, last_activity = ? "
                "WHERE id = ? AND status = 'open'",
                (agent, now, now, ticket_id),
            )
            return cursor.rowcount == 1

    async def release_ticket(self, ticket_id: int, agent: int, now: float) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE tickets SET status = 'open', agent = NULL, assigned_at = NULL, last_activity = ? "
                "WHERE id = ? AND status = 'assigned' AND agent = ?",
                (now, ticket_id, agent),
            )
            return cursor.rowcount == 1

    async def close_ticket(self, ticket_id: int, by: int | None, now: float) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE tickets SET status = 'closed', closed_at = ?, closed_by = ?, last_activity = ? "
                "WHERE id = ? AND status != 'closed'",
                (now, by, now, ticket_id),
            )
            return cursor.rowcount == 1

    async def touch_ticket(self, ticket_id: int, now: float) -> None:
        async with self._exclusive() as conn:
            await conn.execute("UPDATE tickets SET last_activity = ? WHERE id = ?", (now, ticket_id))

    async def transfer_ticket(self, ticket_id: int, from_agent: int, to_agent: int, now: float) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE tickets SET agent = ?, assigned_at = ?, last_activity = ? "
                "WHERE id = ? AND status = 'assigned' AND agent = ?",
                (to_agent, now, now, ticket_id, from_agent),
            )
            return cursor.rowcount == 1

    async def release_tickets_of(self, agent: int, now: float) -> list[int]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE tickets SET status = 'open', agent = NULL, assigned_at = NULL, last_activity = ? "
                "WHERE status = 'assigned' AND agent = ? RETURNING id",
                (now, agent),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [int(row[0]) for row in rows]

    async def add_reply_review(
        self, ticket: int, agent: int, customer: int, sealed: bytes, digest: str, now: float
    ) -> int:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "INSERT INTO reply_reviews (ticket, agent, customer, sealed, digest, status, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                (ticket, agent, customer, sealed, digest, now),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    async def reply_review(self, review_id: int) -> ReplyReviewRow | None:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_REVIEW_COLUMNS} FROM reply_reviews WHERE id = ?",  # noqa: S608
                (review_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return ReplyReviewRow(*row) if row else None

    async def reply_reviews(self, status: str) -> list[ReplyReviewRow]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_REVIEW_COLUMNS} FROM reply_reviews WHERE status = ? ORDER BY id",  # noqa: S608
                (status,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [ReplyReviewRow(*row) for row in rows]

    async def decide_reply_review(self, review_id: int, *, status: str, decider: int, now: float) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE reply_reviews SET status = ?, decided_by = ?, decided_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (status, decider, now, review_id),
            )
            return cursor.rowcount == 1

    async def add_offer_delivery(self, delivery: OfferDelivery) -> None:
        async with self._exclusive() as conn:
            await conn.execute(
                "INSERT INTO offer_deliveries (user_id, offer_key, offer_digest, code, sent_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    delivery.user_id,
                    delivery.offer_key,
                    delivery.offer_digest,
                    delivery.code,
                    delivery.sent_at,
                ),
            )

    async def offer_deliveries(self, user_id: int) -> list[OfferDelivery]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT user_id, offer_key, offer_digest, code, sent_at FROM offer_deliveries "
                "WHERE user_id = ? ORDER BY id",
                (user_id,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [OfferDelivery(*row) for row in rows]

    async def offer_delivery_by_code(self, code: str) -> OfferDelivery | None:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT user_id, offer_key, offer_digest, code, sent_at FROM offer_deliveries "
                "WHERE code = ? ORDER BY id LIMIT 1",
                (code,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return OfferDelivery(*row) if row else None

    async def role_grants(self) -> list[RoleGrant]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT user_id, role, source, granted_by, granted_at FROM roles ORDER BY user_id, role"
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [RoleGrant(*row) for row in rows]

    @staticmethod
    async def _log_role_event(
        conn: aiosqlite.Connection,
        user_id: int,
        role: str,
        action: str,
        source: str,
        actor: int | None,
        now: float,
    ) -> None:
        await conn.execute(
            "INSERT INTO role_events (user_id, role, action, source, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, role, action, source, actor, now),
        )

    async def grant_role(
        self, user_id: int, role: str, *, source: str, actor: int | None, now: float
    ) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO roles (user_id, role, source, granted_by, granted_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, role) DO NOTHING",
                (user_id, role, source, actor, now),
            )
            if cursor.rowcount != 1:
                return False
            await self._log_role_event(conn, user_id, role, "grant", source, actor, now)
        return True

    async def revoke_role(self, user_id: int, role: str, *, actor: int | None, now: float) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM roles WHERE user_id = ? AND role = ? RETURNING source", (user_id, role)
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                return False
            await self._log_role_event(conn, user_id, role, "revoke", row[0], actor, now)
        return True

    async def sync_configured_roles(
        self, configured: Mapping[str, Sequence[int]], now: float
    ) -> list[tuple[str, int, str]]:
        wanted = {(user_id, role) for role, ids in configured.items() for user_id in ids}
        changes: list[tuple[str, int, str]] = []
        async with self._transaction() as conn:
            cursor = await conn.execute("SELECT user_id, role, source FROM roles")
            existing = {(row[0], row[1]): row[2] for row in await cursor.fetchall()}
            await cursor.close()
            for user_id, role in sorted(wanted - existing.keys()):
                await conn.execute(
                    "INSERT INTO roles (user_id, role, source, granted_by, granted_at) "
                    "VALUES (?, ?, 'settings', NULL, ?)",
                    (user_id, role, now),
                )
                await self._log_role_event(conn, user_id, role, "grant", "settings", None, now)
                changes.append(("grant", user_id, role))
            for (user_id, role), source in sorted(existing.items()):
                if source == "settings" and (user_id, role) not in wanted:
                    await conn.execute("DELETE FROM roles WHERE user_id = ? AND role = ?", (user_id, role))
                    await self._log_role_event(conn, user_id, role, "revoke", "settings", None, now)
                    changes.append(("revoke", user_id, role))
        return changes

    async def ping(self) -> None:
        async with self._exclusive() as conn:
            cursor = await conn.execute("SELECT 1")
            await cursor.fetchone()
            await cursor.close()

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()
