"""Schema migrations, in order. Version N is `MIGRATIONS[N - 1]`; never edit or reorder a released one.

To change the schema, append a function that takes the open write-transaction `Connection` and
runs its DDL (and any data moves), then make `schema.py` describe the result. Each migration is
written as literal SQL, frozen in time, so it means the same thing on a file created long ago as
on a new one; `tests/test_store_db.py` checks that `schema.py` matches what the migrations build.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import Connection


def m0001_prompt_sets(connection: Connection) -> None:
    """Taxonomies, their labels, their history (with a full snapshot per version), text-vector cache."""
    statements = [
        """CREATE TABLE taxonomies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            templates JSON NOT NULL,
            settings JSON NOT NULL,
            version INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            taxonomy_id INTEGER NOT NULL REFERENCES taxonomies (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            description TEXT,
            parent_id INTEGER REFERENCES labels (id) DEFERRABLE INITIALLY DEFERRED,
            prompts JSON NOT NULL DEFAULT '[]',
            synonyms JSON NOT NULL DEFAULT '[]',
            enabled BOOLEAN NOT NULL DEFAULT 1,
            position INTEGER NOT NULL,
            UNIQUE (taxonomy_id, name)
        )""",
        "CREATE INDEX ix_labels_parent_id ON labels (parent_id)",
        """CREATE TABLE taxonomy_history (
            id INTEGER PRIMARY KEY,
            taxonomy_id INTEGER NOT NULL REFERENCES taxonomies (id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            action TEXT NOT NULL,
            detail JSON NOT NULL,
            snapshot JSON NOT NULL,
            UNIQUE (taxonomy_id, version)
        )""",
        """CREATE TABLE text_embeddings (
            identity TEXT NOT NULL,
            text TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (identity, text)
        )""",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)


def m0002_video_catalog(connection: Connection) -> None:
    """Video indexes: which videos (by content hash) and segments each holds, with their vectors.

    A segment's id is its FAISS id. AUTOINCREMENT keeps ids from ever being reused, so a
    tombstoned id in an approximate FAISS index can never hide a newer segment. Vectors are kept
    here as well as in FAISS: SQLite commits a video atomically, and the FAISS file is rebuilt or
    patched from these rows after a crash, so the two always agree on opening.
    """
    statements = [
        """CREATE TABLE video_indexes (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            model TEXT NOT NULL,
            encoder TEXT NOT NULL,
            dim INTEGER NOT NULL,
            window_s REAL NOT NULL,
            stride_s REAL NOT NULL,
            frames INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE videos (
            id INTEGER PRIMARY KEY,
            index_id INTEGER NOT NULL REFERENCES video_indexes (id) ON DELETE CASCADE,
            content_hash TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            duration_s REAL NOT NULL,
            indexed_at TEXT NOT NULL,
            UNIQUE (index_id, content_hash)
        )""",
        "CREATE INDEX ix_videos_path ON videos (index_id, path)",
        """CREATE TABLE segments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
            start_s REAL NOT NULL,
            end_s REAL NOT NULL,
            vector BLOB NOT NULL
        )""",
        "CREATE INDEX ix_segments_video_id ON segments (video_id)",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)


def m0003_head_label_maps(connection: Connection) -> None:
    """Explicit overrides of how a closed-set head's labels map onto a taxonomy's labels.

    One row per (taxonomy, head, head label). `label_id` is the taxonomy label it votes for, or
    NULL when the user said to ignore that head label. Keyed by label id, so renaming a taxonomy
    label keeps its overrides and removing it drops them. Head labels without a row are mapped
    automatically by text similarity.
    """
    statements = [
        """CREATE TABLE head_label_maps (
            taxonomy_id INTEGER NOT NULL REFERENCES taxonomies (id) ON DELETE CASCADE,
            head TEXT NOT NULL,
            head_label TEXT NOT NULL,
            label_id INTEGER REFERENCES labels (id) ON DELETE CASCADE,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (taxonomy_id, head, head_label)
        )""",
        "CREATE INDEX ix_head_label_maps_label_id ON head_label_maps (label_id)",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)


def m0004_fewshot_examples(connection: Connection) -> None:
    """Few-shot examples (a clip's vector, per encoder) for a taxonomy's labels, and fitted probes.

    An example row is one clip (a file, optionally a time range) embedded by one encoder: the same
    clip has a row per encoder identity, so switching models re-embeds the clips instead of
    mixing vector spaces. Keyed by label id: renaming a label keeps its examples and removing it
    drops them. A probe is one linear classifier per (taxonomy, encoder), over the label names it
    was fitted on (JSON, in row order) at the taxonomy version it was fitted at.
    """
    statements = [
        """CREATE TABLE fewshot_examples (
            id INTEGER PRIMARY KEY,
            taxonomy_id INTEGER NOT NULL REFERENCES taxonomies (id) ON DELETE CASCADE,
            label_id INTEGER NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
            encoder TEXT NOT NULL,
            source_path TEXT NOT NULL,
            start_s REAL,
            end_s REAL,
            vector BLOB NOT NULL,
            dim INTEGER NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX ix_fewshot_examples_taxonomy ON fewshot_examples (taxonomy_id, encoder)",
        "CREATE INDEX ix_fewshot_examples_label_id ON fewshot_examples (label_id)",
        """CREATE TABLE fewshot_probes (
            taxonomy_id INTEGER NOT NULL REFERENCES taxonomies (id) ON DELETE CASCADE,
            encoder TEXT NOT NULL,
            labels JSON NOT NULL,
            taxonomy_version INTEGER NOT NULL,
            dim INTEGER NOT NULL,
            weight BLOB NOT NULL,
            bias BLOB NOT NULL,
            meta JSON NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (taxonomy_id, encoder)
        )""",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)


MIGRATIONS: list[Callable[[Connection], None]] = [
    m0001_prompt_sets,
    m0002_video_catalog,
    m0003_head_label_maps,
    m0004_fewshot_examples,
]
