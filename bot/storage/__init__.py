"""Storage: the only package that speaks SQL. Services depend on the `Repository` protocol."""

from bot.storage.database import open_database
from bot.storage.migrations import MIGRATIONS, Migration, apply_migrations
from bot.storage.repository import Repository, RoleGrant, SqliteRepository

__all__ = [
    "MIGRATIONS",
    "Migration",
    "Repository",
    "RoleGrant",
    "SqliteRepository",
    "apply_migrations",
    "open_database",
]
