"""Storage: the only package that speaks SQL. Services depend on the `Repository` protocol."""

from bot.storage.database import open_database
from bot.storage.migrations import MIGRATIONS, Migration, apply_migrations
from bot.storage.repository import (
    CustomerRow,
    OfferDelivery,
    ProposalRow,
    ReplyReviewRow,
    Repository,
    RoleGrant,
    SealedIdentifier,
    SecureLinkRow,
    SqliteRepository,
    StoredConsent,
    SubmissionRow,
    TicketRow,
)

__all__ = [
    "MIGRATIONS",
    "CustomerRow",
    "Migration",
    "OfferDelivery",
    "ProposalRow",
    "ReplyReviewRow",
    "Repository",
    "RoleGrant",
    "SealedIdentifier",
    "SecureLinkRow",
    "SqliteRepository",
    "StoredConsent",
    "SubmissionRow",
    "TicketRow",
    "apply_migrations",
    "open_database",
]
