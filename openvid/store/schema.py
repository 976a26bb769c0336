"""SQLAlchemy Core tables: how the code sees the schema that `migrations.py` builds.

JSON columns hold lists and mappings; times are ISO 8601 text in UTC (read back as aware
datetimes); vectors are little-endian float32 blobs.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as ISO text in UTC (sorts as text in time order)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; the store keeps times in UTC")
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")

    def process_result_value(self, value: str | None, dialect) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(timezone.utc)


metadata = MetaData()

taxonomies = Table(
    "taxonomies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("description", String, nullable=False, default=""),
    Column("templates", JSON, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("taxonomy_id", Integer, ForeignKey("taxonomies.id", ondelete="CASCADE"), nullable=False),
    Column("name", String, nullable=False),
    Column("description", String, nullable=True),
    Column("parent_id", Integer, ForeignKey("labels.id", deferrable=True, initially="DEFERRED"), nullable=True),
    Column("prompts", JSON, nullable=False),
    Column("synonyms", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("taxonomy_id", "name"),
)

taxonomy_history = Table(
    "taxonomy_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("taxonomy_id", Integer, ForeignKey("taxonomies.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("who", String, nullable=False),
    Column("action", String, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("snapshot", JSON, nullable=False),
    UniqueConstraint("taxonomy_id", "version"),
)

text_embeddings = Table(
    "text_embeddings",
    metadata,
    Column("identity", String, primary_key=True),
    Column("text", String, primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("applied_at", String, nullable=False),
)

__all__ = ["labels", "metadata", "schema_migrations", "taxonomies", "taxonomy_history", "text_embeddings"]
