"""Fixtures for the store: a fresh home folder and its TaxonomyStore, and a content dump."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from openvid.store import TaxonomyStore


def committed_videos(engine) -> int | None:
    """Videos committed to the default index so far, read while an indexer runs (None: it holds the lock)."""
    import sqlalchemy.exc

    try:
        record = engine.catalog.find_index("default")
        return engine.catalog.counts(record.id)[0] if record else 0
    except sqlalchemy.exc.OperationalError as exc:  # the indexer holds the write lock: ask again
        assert "locked" in str(exc) or "busy" in str(exc), exc
        return None


def dump(home) -> str:
    """Every row of the database as SQL text: equal dumps mean equal content."""
    with contextlib.closing(sqlite3.connect(home / "openvid.db")) as conn:
        return "\n".join(conn.iterdump())


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def store(home):
    return TaxonomyStore(home)
