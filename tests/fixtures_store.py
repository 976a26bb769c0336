"""Fixtures for the store: a fresh home folder and its TaxonomyStore, and a content dump."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from openvid.store import TaxonomyStore


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
