"""The broadcast queries of the repository: broadcasts, their recipients' progress, and the audience.

Part of `SqliteRepository` (a mixin, to keep each file about one thing); the same lock and connection, so
the one-method-one-transaction rule holds. The engine's hot path is two statements per batch: claim the
next recipients (and settle the previous batch) in one transaction, then read the next due ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import aiosqlite

from flows.broadcasts import COUNTS_AS_SENT, State, Status, tags_column
from flows.consent import Action, ConsentEvent, Scope, Via


@dataclass(frozen=True)
class BroadcastRow:
    id: int
    author: int
    plan: str
    digest: str
    status: str
    created_at: float
    decided_by: int | None
    decided_at: float | None
    reason: str | None
    started_at: float | None
    finished_at: float | None
    reported: bool


@dataclass(frozen=True)
class AudienceRow:
    """What the audience is drawn and a recipient judged by (no names: nothing personal is needed)."""

    user_id: int
    language_code: str | None
    time_zone: str | None
    tags: str
    blocked: bool


@dataclass(frozen=True)
class Due:
    """A queued recipient whose turn has come."""

    broadcast: int
    user_id: int
    attempts: int
    language_code: str | None
    time_zone: str | None


@dataclass(frozen=True)
class Outcome:
    """Where one recipient ends up after a send attempt (or a decision not to send, or to wait)."""

    broadcast: int
    user_id: int
    state: State
    reason: str | None = None
    not_before: float = 0.0
    """QUEUED again: not before this moment (quiet hours, a retry's backoff)."""
    attempts: int = 0
    message_id: int | None = None


@dataclass(frozen=True)
class Delivery:
    """An offer card sent in a broadcast, recorded as an offer delivery (the customer's /mydata lists it)."""

    broadcast: int
    user_id: int
    offer_key: str
    offer_digest: str
    code: str
    at: float


_BROADCAST_COLUMNS = (
    "id, author, plan, digest, status, created_at, decided_by, decided_at, reason, started_at, "
    "finished_at, reported"
)


def _broadcast(row: Sequence[object]) -> BroadcastRow:
    values = list(row)
    values[-1] = bool(values[-1])
    return BroadcastRow(*values)  # type: ignore[arg-type]


class BroadcastRepository(Protocol):
    async def add_broadcast(self, author: int, plan: str, digest: str, now: float) -> int: ...

    async def broadcast(self, broadcast_id: int) -> BroadcastRow | None: ...

    async def broadcasts(self, *, status: str | None = None) -> list[BroadcastRow]: ...

    async def decide_broadcast(
        self, broadcast_id: int, *, digest: str, status: str, decider: int, now: float, reason: str | None
    ) -> bool:
        """Approve or reject a pending broadcast still bound to `digest`; False if not (any more) pending."""
        ...

    async def cancel_broadcast(
        self, broadcast_id: int, now: float, *, status: str = Status.CANCELLED
    ) -> bool:
        """End a pending, approved or running broadcast: its queued recipients are cancelled (never sent)."""
        ...

    async def start_broadcast(self, broadcast_id: int, recipients: Sequence[int], now: float) -> bool:
        """Approved → running, with its recipients queued, in one transaction; False if not approved."""
        ...

    async def audience(self) -> list[AudienceRow]: ...

    async def consent_events(self, user_ids: Sequence[int] | None = None) -> dict[int, list[ConsentEvent]]:
        """The consent ledgers of these customers (of all, with None), oldest event first: the dry run and
        the engine judge many people at once."""
        ...

    async def due_recipients(self, now: float, limit: int) -> list[Due]: ...

    async def settle_and_claim(
        self,
        outcomes: Sequence[Outcome],
        deliveries: Sequence[Delivery],
        claims: Sequence[tuple[int, int]],
        now: float,
    ) -> list[tuple[int, int]]:
        """Record finished recipients and claim the next ones (queued → sending) in one transaction; the
        claims that succeeded (a recipient cancelled meanwhile is not claimed)."""
        ...

    async def sent_since(self, user_ids: Iterable[int], since: float) -> dict[int, list[float]]:
        """When marketing may have reached each of these customers since `since` (the weekly cap)."""
        ...

    async def recipient_counts(self, broadcast_id: int) -> dict[tuple[str, str | None], int]: ...

    async def finish_broadcasts(self, now: float) -> list[int]:
        """Running broadcasts with nobody left queued or sending → done; their ids."""
        ...

    async def interrupted_sends(self) -> dict[int, int]:
        """After a crash: recipients left 'sending' become 'uncertain' (never resent); count per broadcast."""
        ...

    async def mark_reported(self, broadcast_id: int) -> bool: ...

    async def unreported_broadcasts(self) -> list[BroadcastRow]:
        """Ended broadcasts (done, cancelled, stopped) whose final report has not been made."""
        ...

    async def broadcasts_to(self, user_id: int) -> list[tuple[int, str, str | None, float | None]]:
        """The broadcasts this customer was in: (broadcast, state, reason, sent_at), for their export."""
        ...

    async def set_customer_attributes(
        self, user_id: int, *, time_zone: str | None, tags: Iterable[str], now: float
    ) -> None:
        """Set a customer's time zone and tags (creating their row if the bot has not met them yet)."""
        ...


class SqliteBroadcastQueries:
    """Mixed into `SqliteRepository`, which provides the connection guards."""

    def _exclusive(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        """The connection for single statements (`SqliteRepository` holds its lock around it)."""
        raise NotImplementedError

    def _transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def add_broadcast(self, author: int, plan: str, digest: str, now: float) -> int:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "INSERT INTO broadcasts (author, plan, digest, status, created_at) VALUES (?, ?, ?, ?, ?)",
                (author, plan, digest, Status.PENDING.value, now),
            )
            return int(cursor.lastrowid or 0)

    async def broadcast(self, broadcast_id: int) -> BroadcastRow | None:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_BROADCAST_COLUMNS} FROM broadcasts WHERE id = ?",  # noqa: S608
                (broadcast_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return _broadcast(row) if row else None

    async def broadcasts(self, *, status: str | None = None) -> list[BroadcastRow]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_BROADCAST_COLUMNS} FROM broadcasts "  # noqa: S608
                "WHERE ?1 IS NULL OR status = ?1 ORDER BY id",
                (status,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [_broadcast(row) for row in rows]

    async def decide_broadcast(
        self, broadcast_id: int, *, digest: str, status: str, decider: int, now: float, reason: str | None
    ) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET status = ?, decided_by = ?, decided_at = ?, reason = ? "
                "WHERE id = ? AND status = 'pending' AND digest = ?",
                (status, decider, now, reason, broadcast_id, digest),
            )
            return cursor.rowcount == 1

    async def cancel_broadcast(
        self, broadcast_id: int, now: float, *, status: str = Status.CANCELLED
    ) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET status = ?, finished_at = ? "
                "WHERE id = ? AND status IN ('pending', 'approved', 'running')",
                (status, now, broadcast_id),
            )
            if cursor.rowcount != 1:
                return False
            await conn.execute(
                "UPDATE broadcast_recipients SET state = 'cancelled' "
                "WHERE broadcast = ? AND state = 'queued'",
                (broadcast_id,),
            )
            return True

    async def start_broadcast(self, broadcast_id: int, recipients: Sequence[int], now: float) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET status = 'running', started_at = ? "
                "WHERE id = ? AND status = 'approved'",
                (now, broadcast_id),
            )
            if cursor.rowcount != 1:
                return False
            await conn.executemany(
                "INSERT INTO broadcast_recipients (broadcast, user_id, state) VALUES (?, ?, 'queued') "
                "ON CONFLICT DO NOTHING",
                [(broadcast_id, user_id) for user_id in recipients],
            )
            return True

    async def audience(self) -> list[AudienceRow]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT user_id, language_code, time_zone, tags, blocked_at IS NOT NULL "
                "FROM users ORDER BY user_id"
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [AudienceRow(int(r[0]), r[1], r[2], str(r[3] or ""), bool(r[4])) for r in rows]

    async def consent_events(self, user_ids: Sequence[int] | None = None) -> dict[int, list[ConsentEvent]]:
        query = (
            "SELECT user_id, scope, action, notice_version, at, via, detail, message_id FROM consent_events"
        )
        chunks: list[Sequence[int]] = (
            [()] if user_ids is None else [user_ids[i : i + 500] for i in range(0, len(user_ids), 500)]
        )
        events: dict[int, list[ConsentEvent]] = {}
        async with self._exclusive() as conn:
            for chunk in chunks:
                where = f" WHERE user_id IN ({','.join('?' * len(chunk))})" if user_ids is not None else ""
                cursor = await conn.execute(f"{query}{where} ORDER BY id", tuple(chunk))
                for row in await cursor.fetchall():
                    events.setdefault(int(row[0]), []).append(
                        ConsentEvent(
                            Scope(row[1]), Action(row[2]), row[3], row[4], Via(row[5]), row[6], row[7]
                        )
                    )
                await cursor.close()
        return events

    async def due_recipients(self, now: float, limit: int) -> list[Due]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT r.broadcast, r.user_id, r.attempts, u.language_code, u.time_zone "
                "FROM broadcasts AS b JOIN broadcast_recipients AS r ON r.broadcast = b.id "
                "LEFT JOIN users AS u ON u.user_id = r.user_id "
                "WHERE b.status = 'running' AND r.state = 'queued' AND r.not_before <= ? "
                "ORDER BY b.id, r.not_before, r.user_id LIMIT ?",
                (now, limit),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [Due(int(r[0]), int(r[1]), int(r[2]), r[3], r[4]) for r in rows]

    async def settle_and_claim(
        self,
        outcomes: Sequence[Outcome],
        deliveries: Sequence[Delivery],
        claims: Sequence[tuple[int, int]],
        now: float,
    ) -> list[tuple[int, int]]:
        claimed: list[tuple[int, int]] = []
        async with self._transaction() as conn:
            if outcomes:
                # Back to the queue (a retry, a pause) only while the broadcast runs; cancelled otherwise.
                await conn.executemany(
                    "UPDATE broadcast_recipients SET "
                    "state = CASE WHEN ?1 = 'queued' AND (SELECT status FROM broadcasts WHERE id = ?6) "
                    "!= 'running' THEN 'cancelled' ELSE ?1 END, "
                    "reason = ?2, not_before = ?3, attempts = ?4, message_id = coalesce(?5, message_id) "
                    "WHERE broadcast = ?6 AND user_id = ?7 AND state IN ('queued', 'sending')",
                    [
                        (
                            o.state.value,
                            o.reason,
                            o.not_before,
                            o.attempts,
                            o.message_id,
                            o.broadcast,
                            o.user_id,
                        )
                        for o in outcomes
                    ],
                )
            if deliveries:
                # Only for a recipient still on record: one erased while the send was in flight stays erased.
                await conn.executemany(
                    "INSERT INTO offer_deliveries (user_id, offer_key, offer_digest, code, sent_at) "
                    "SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM broadcast_recipients "
                    "WHERE broadcast = ?6 AND user_id = ?1)",
                    [(d.user_id, d.offer_key, d.offer_digest, d.code, d.at, d.broadcast) for d in deliveries],
                )
            by_broadcast: dict[int, list[int]] = {}
            for broadcast, user_id in claims:
                by_broadcast.setdefault(broadcast, []).append(user_id)
            for broadcast, users in by_broadcast.items():
                for start in range(0, len(users), 400):  # one statement per 400 (SQLite's variable limit)
                    chunk = users[start : start + 400]
                    # `+state`: find each row by its key. Without statistics SQLite would walk the index by
                    # state instead, every queued row of the broadcast for each claim (7 ms at 10,000).
                    cursor = await conn.execute(
                        "UPDATE broadcast_recipients SET state = 'sending', sent_at = ? "  # noqa: S608 - placeholders
                        f"WHERE broadcast = ? AND user_id IN ({','.join('?' * len(chunk))}) "
                        "AND +state = 'queued' RETURNING broadcast, user_id",
                        (now, broadcast, *chunk),
                    )
                    claimed += [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]
                    await cursor.close()
        return claimed

    async def sent_since(self, user_ids: Iterable[int], since: float) -> dict[int, list[float]]:
        wanted = list(dict.fromkeys(user_ids))
        found: dict[int, list[float]] = {}
        states = ",".join(f"'{state.value}'" for state in COUNTS_AS_SENT)
        async with self._exclusive() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                cursor = await conn.execute(
                    # By person, always: without statistics SQLite picks the index by state, which walks
                    # every recipient ever sent to (2 ms a round at 10,000 sent, growing for ever).
                    "SELECT user_id, sent_at FROM broadcast_recipients "  # noqa: S608 - constants only
                    "INDEXED BY broadcast_recipients_by_user "
                    f"WHERE user_id IN ({','.join('?' * len(chunk))}) "
                    f"AND state IN ({states}) AND sent_at >= ?",
                    (*chunk, since),
                )
                for user_id, sent_at in await cursor.fetchall():
                    found.setdefault(int(user_id), []).append(float(sent_at))
                await cursor.close()
        return found

    async def recipient_counts(self, broadcast_id: int) -> dict[tuple[str, str | None], int]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT state, reason, count(*) FROM broadcast_recipients WHERE broadcast = ? "
                "GROUP BY state, reason",
                (broadcast_id,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return {(str(r[0]), r[1]): int(r[2]) for r in rows}

    async def finish_broadcasts(self, now: float) -> list[int]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET status = 'done', finished_at = ? "
                "WHERE status = 'running' AND NOT EXISTS "
                "(SELECT 1 FROM broadcast_recipients AS r WHERE r.broadcast = broadcasts.id "
                "AND r.state IN ('queued', 'sending')) RETURNING id",
                (now,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return sorted(int(r[0]) for r in rows)

    async def interrupted_sends(self) -> dict[int, int]:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "SELECT broadcast, count(*) FROM broadcast_recipients "
                "WHERE state = 'sending' GROUP BY broadcast"
            )
            counts = {int(r[0]): int(r[1]) for r in await cursor.fetchall()}
            await cursor.close()
            await conn.execute(
                "UPDATE broadcast_recipients SET state = 'uncertain', reason = 'interrupted' "
                "WHERE state = 'sending'"
            )
        return counts

    async def unreported_broadcasts(self) -> list[BroadcastRow]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                f"SELECT {_BROADCAST_COLUMNS} FROM broadcasts "  # noqa: S608
                "WHERE status IN ('done', 'cancelled', 'stopped') AND reported = 0 ORDER BY id"
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [_broadcast(row) for row in rows]

    async def mark_reported(self, broadcast_id: int) -> bool:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET reported = 1 WHERE id = ? AND reported = 0", (broadcast_id,)
            )
            return cursor.rowcount == 1

    async def broadcasts_to(self, user_id: int) -> list[tuple[int, str, str | None, float | None]]:
        async with self._exclusive() as conn:
            cursor = await conn.execute(
                "SELECT broadcast, state, reason, sent_at FROM broadcast_recipients WHERE user_id = ? "
                "ORDER BY broadcast",
                (user_id,),
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return [(int(r[0]), str(r[1]), r[2], r[3]) for r in rows]

    async def set_customer_attributes(
        self, user_id: int, *, time_zone: str | None, tags: Iterable[str], now: float
    ) -> None:
        async with self._exclusive() as conn:
            await conn.execute(
                "INSERT INTO users (user_id, first_seen, last_seen, time_zone, tags) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET time_zone = excluded.time_zone, tags = excluded.tags",
                (user_id, now, now, time_zone, tags_column(tags)),
            )
