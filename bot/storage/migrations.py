"""Versioned schema migrations, applied in order at start.

Rules that keep upgrades safe: a released migration is never edited, only followed by a new one; each runs
in one `BEGIN IMMEDIATE` transaction together with its row in `schema_migrations`, so a crash or a second
process starting at the same moment leaves the database either before or after it, never half-way.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.errors import SchemaError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "updates and users",
        (
            """CREATE TABLE processed_updates (
                bot_id INTEGER NOT NULL,
                update_id INTEGER NOT NULL,
                received_at REAL NOT NULL,
                PRIMARY KEY (bot_id, update_id)
            )""",
            "CREATE INDEX processed_updates_received ON processed_updates (received_at)",
            """CREATE TABLE users (
                user_id INTEGER PRIMARY KEY,
                language_code TEXT,
                first_seen REAL NOT NULL,
                last_seen REAL NOT NULL,
                blocked_at REAL
            )""",
        ),
    ),
    Migration(
        2,
        "staff roles",
        (
            """CREATE TABLE roles (
                user_id INTEGER NOT NULL,
                role TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('settings', 'command')),
                granted_by INTEGER,
                granted_at REAL NOT NULL,
                PRIMARY KEY (user_id, role)
            )""",
            """CREATE TABLE role_events (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL,
                role TEXT NOT NULL,
                action TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
                source TEXT NOT NULL,
                actor INTEGER,
                at REAL NOT NULL
            )""",
        ),
    ),
    Migration(
        3,
        "consent ledger",
        (
            # Append-only: the current state is derived from the history, never edited in place. Rows
            # are deleted only when the customer's data is erased (/forget).
            """CREATE TABLE consent_events (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL,
                scope TEXT NOT NULL CHECK (scope IN ('notice', 'marketing')),
                action TEXT NOT NULL CHECK (action IN ('grant', 'withdraw')),
                notice_version TEXT NOT NULL,
                notice_digest TEXT NOT NULL,
                at REAL NOT NULL,
                via TEXT NOT NULL CHECK (via IN ('button', 'command', 'keyword')),
                detail TEXT NOT NULL,
                message_id INTEGER,
                audit_seq INTEGER NOT NULL
            )""",
            "CREATE INDEX consent_events_by_user ON consent_events (user_id, id)",
            """CREATE TRIGGER consent_events_append_only BEFORE UPDATE ON consent_events
            BEGIN SELECT RAISE(ABORT, 'consent events are append-only'); END""",
            "ALTER TABLE users ADD COLUMN last_export_at REAL",
        ),
    ),
    Migration(
        4,
        "proposals, offers sent, customer identifiers",
        (
            # Anything proposed at run time that needs a second person's approval (offers now; broadcasts
            # and reviewed agent replies later). `approved_digest` is the digest the approval bound to:
            # an item is in force only while its `digest` still equals it.
            """CREATE TABLE proposals (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('offer')),
                payload TEXT NOT NULL,
                digest TEXT NOT NULL,
                author INTEGER NOT NULL,
                created_at REAL NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
                decided_by INTEGER,
                decided_at REAL,
                reason TEXT,
                approved_digest TEXT
            )""",
            "CREATE INDEX proposals_by_status ON proposals (status, kind)",
            """CREATE TABLE offer_deliveries (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL,
                offer_key TEXT NOT NULL,
                offer_digest TEXT NOT NULL,
                code TEXT NOT NULL,
                sent_at REAL NOT NULL
            )""",
            "CREATE INDEX offer_deliveries_by_user ON offer_deliveries (user_id)",
            "CREATE INDEX offer_deliveries_by_code ON offer_deliveries (code)",
            # What the business knows about a customer that must never reach another customer (a phone
            # from a form, an order reference), sealed under the person's own content key: readable only
            # by the bot, and shredded with that key on erasure.
            """CREATE TABLE customer_identifiers (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('phone', 'email', 'order')),
                sealed BLOB NOT NULL,
                added_at REAL NOT NULL
            )""",
            "CREATE INDEX customer_identifiers_by_user ON customer_identifiers (user_id)",
        ),
    ),
    Migration(
        5,
        "secure links and form submissions",
        (
            # A link is stored only as the SHA-256 of its token: the database never yields a usable link.
            """CREATE TABLE secure_links (
                token_hash TEXT PRIMARY KEY,
                user_id INTEGER NOT NULL,
                form TEXT NOT NULL,
                issued_by INTEGER,
                issued_at REAL NOT NULL,
                expires_at REAL NOT NULL,
                opened_at REAL,
                used_at REAL,
                revoked_at REAL,
                message_id INTEGER
            )""",
            "CREATE INDEX secure_links_by_user ON secure_links (user_id, form)",
            # Envelope encryption: each submission has its own data key, wrapped by the master key (key id
            # kept for rotation); field names in clear for the person's export, values never.
            """CREATE TABLE form_submissions (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL,
                form TEXT NOT NULL,
                link_hash TEXT NOT NULL,
                fields TEXT NOT NULL,
                sealed BLOB NOT NULL,
                wrapped_key BLOB NOT NULL,
                key_id TEXT NOT NULL,
                submitted_at REAL NOT NULL,
                purge_after REAL NOT NULL
            )""",
            "CREATE INDEX form_submissions_by_user ON form_submissions (user_id)",
            "CREATE INDEX form_submissions_by_purge ON form_submissions (purge_after)",
        ),
    ),
    Migration(
        6,
        "handoff tickets",
        (
            # A customer's request for a person. Its words are in the audit log (encrypted), not here.
            """CREATE TABLE tickets (
                id INTEGER PRIMARY KEY,
                customer INTEGER NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'closed')),
                agent INTEGER,
                opened_at REAL NOT NULL,
                assigned_at REAL,
                closed_at REAL,
                closed_by INTEGER,
                last_activity REAL NOT NULL
            )""",
            "CREATE INDEX tickets_by_status ON tickets (status, id)",
            "CREATE INDEX tickets_by_customer ON tickets (customer, status)",
        ),
    ),
    Migration(
        7,
        "agent replies under review",
        (
            # AGENT_FREE_TEXT=review: an agent's own text waits here for a compliance officer. The words are
            # sealed under the customer's content key (they are about and for that customer).
            """CREATE TABLE reply_reviews (
                id INTEGER PRIMARY KEY,
                ticket INTEGER NOT NULL,
                agent INTEGER NOT NULL,
                customer INTEGER NOT NULL,
                sealed BLOB NOT NULL,
                digest TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
                created_at REAL NOT NULL,
                decided_by INTEGER,
                decided_at REAL
            )""",
            "CREATE INDEX reply_reviews_by_status ON reply_reviews (status, id)",
        ),
    ),
    Migration(
        8,
        "broadcasts and customer attributes",
        (
            # What a broadcast is narrowed by and scheduled in: the customer's time zone (IANA name) and
            # tags (",vip,berlin,": commas around each, so one tag can be found as ",tag,").
            "ALTER TABLE users ADD COLUMN time_zone TEXT",
            "ALTER TABLE users ADD COLUMN tags TEXT NOT NULL DEFAULT ''",
            # The plan (content, audience, send time, coupons) as canonical JSON; an approval binds to its
            # digest, which also covers the approved content's own digest.
            """CREATE TABLE broadcasts (
                id INTEGER PRIMARY KEY,
                author INTEGER NOT NULL,
                plan TEXT NOT NULL,
                digest TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN
                    ('pending', 'approved', 'rejected', 'running', 'done', 'cancelled', 'stopped')),
                created_at REAL NOT NULL,
                decided_by INTEGER,
                decided_at REAL,
                reason TEXT,
                started_at REAL,
                finished_at REAL,
                reported INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX broadcasts_by_status ON broadcasts (status, id)",
            # One row per customer in a started broadcast: queued -> sending -> sent | failed | uncertain,
            # or queued -> excluded | cancelled; sending -> queued only when Telegram said the message was
            # not sent (a 429, a server error) and the broadcast still runs. A row found 'sending' after a
            # crash becomes 'uncertain' and is never sent again (at most once).
            """CREATE TABLE broadcast_recipients (
                broadcast INTEGER NOT NULL REFERENCES broadcasts (id),
                user_id INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN
                    ('queued', 'sending', 'sent', 'excluded', 'failed', 'uncertain', 'cancelled')),
                reason TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                not_before REAL NOT NULL DEFAULT 0,
                sent_at REAL,
                message_id INTEGER,
                PRIMARY KEY (broadcast, user_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX broadcast_recipients_due ON broadcast_recipients (state, broadcast, not_before)",
            "CREATE INDEX broadcast_recipients_by_user ON broadcast_recipients (user_id, sent_at)",
        ),
    ),
)


async def _applied_versions(conn: aiosqlite.Connection) -> set[int]:
    async with conn.execute("SELECT version FROM schema_migrations") as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def apply_migrations(
    conn: aiosqlite.Connection,
    now: float,
    migrations: tuple[Migration, ...] = MIGRATIONS,
) -> list[int]:
    """Bring the schema up to date; return the versions applied by this call.

    The connection must be in autocommit mode (`isolation_level=None`) so transactions are explicit.
    """
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at REAL NOT NULL
        )"""
    )
    known = {m.version for m in migrations}
    newer = {v for v in await _applied_versions(conn) if v not in known}
    if newer:
        raise SchemaError(
            f"the database has schema version {max(newer)}, newer than this Guardbot knows "
            f"({max(known)}); upgrade Guardbot or restore a matching backup"
        )
    applied: list[int] = []
    for migration in migrations:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            if migration.version in await _applied_versions(conn):
                await conn.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, now),
            )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
