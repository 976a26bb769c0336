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
    Float,
    ForeignKey,
    Index,
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

video_indexes = Table(
    "video_indexes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("model", String, nullable=False),
    Column("encoder", String, nullable=False),
    Column("dim", Integer, nullable=False),
    Column("window_s", Float, nullable=False),
    Column("stride_s", Float, nullable=False),
    Column("frames", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

videos = Table(
    "videos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("index_id", Integer, ForeignKey("video_indexes.id", ondelete="CASCADE"), nullable=False),
    Column("content_hash", String, nullable=False),
    Column("path", String, nullable=False),
    Column("size", Integer, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("indexed_at", UTCDateTime, nullable=False),
    UniqueConstraint("index_id", "content_hash"),
    Index("ix_videos_path", "index_id", "path"),
)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("video_id", Integer, ForeignKey("videos.id", ondelete="CASCADE"), nullable=False),
    Column("start_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Index("ix_segments_video_id", "video_id"),
    sqlite_autoincrement=True,
)

head_label_maps = Table(
    "head_label_maps",
    metadata,
    Column("taxonomy_id", Integer, ForeignKey("taxonomies.id", ondelete="CASCADE"), primary_key=True),
    Column("head", String, primary_key=True),
    Column("head_label", String, primary_key=True),
    Column("label_id", Integer, ForeignKey("labels.id", ondelete="CASCADE"), nullable=True),
    Column("updated_at", String, nullable=False),
    Index("ix_head_label_maps_label_id", "label_id"),
)

fewshot_examples = Table(
    "fewshot_examples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("taxonomy_id", Integer, ForeignKey("taxonomies.id", ondelete="CASCADE"), nullable=False),
    Column("label_id", Integer, ForeignKey("labels.id", ondelete="CASCADE"), nullable=False),
    Column("encoder", String, nullable=False),
    Column("source_path", String, nullable=False),
    Column("start_s", Float, nullable=True),
    Column("end_s", Float, nullable=True),
    Column("vector", LargeBinary, nullable=False),
    Column("dim", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_fewshot_examples_taxonomy", "taxonomy_id", "encoder"),
    Index("ix_fewshot_examples_label_id", "label_id"),
)

fewshot_probes = Table(
    "fewshot_probes",
    metadata,
    Column("taxonomy_id", Integer, ForeignKey("taxonomies.id", ondelete="CASCADE"), primary_key=True),
    Column("encoder", String, primary_key=True),
    Column("labels", JSON, nullable=False),
    Column("taxonomy_version", Integer, nullable=False),
    Column("dim", Integer, nullable=False),
    Column("weight", LargeBinary, nullable=False),
    Column("bias", LargeBinary, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("applied_at", String, nullable=False),
)

__all__ = [
    "fewshot_examples",
    "fewshot_probes",
    "head_label_maps",
    "labels",
    "metadata",
    "schema_migrations",
    "segments",
    "taxonomies",
    "taxonomy_history",
    "text_embeddings",
    "video_indexes",
    "videos",
]
