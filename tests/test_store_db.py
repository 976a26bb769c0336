"""The SQLite file: pragmas, recorded migrations, re-opening, and transactions that lock and nest."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from sqlalchemy import create_engine, text

from openvid.errors import OpenvidError
from openvid.store import migrations, open_database, read_transaction, write_transaction
from openvid.store.db import migrate
from openvid.store.schema import metadata


def raw(home) -> sqlite3.Connection:
    return contextlib.closing(sqlite3.connect(home / "openvid.db", timeout=0))


def test_pragmas(tmp_path):
    engine = open_database(tmp_path / "new" / "home")  # the home folder is created
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_migrations_are_recorded_and_reopening_is_a_no_op(tmp_path):
    engine = open_database(tmp_path)
    with raw(tmp_path) as conn:
        rows = conn.execute("SELECT version, name, applied_at FROM schema_migrations").fetchall()
    assert [(v, n) for v, n, _ in rows] == [(i + 1, m.__name__) for i, m in enumerate(migrations.MIGRATIONS)]
    assert rows[0][1] == "m0001_prompt_sets" and rows[0][2].endswith("+00:00")
    assert migrate(engine) == []
    open_database(tmp_path)
    with raw(tmp_path) as conn:
        assert conn.execute("SELECT version, name, applied_at FROM schema_migrations").fetchall() == rows


def test_schema_py_matches_what_the_migrations_build(tmp_path):
    open_database(tmp_path)
    with raw(tmp_path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        assert tables == set(metadata.tables)
        for table in metadata.sorted_tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table.name})")]
            assert columns == [c.name for c in table.columns], table.name


def test_a_later_migration_applies_once_and_a_failed_one_leaves_nothing(tmp_path, monkeypatch):
    open_database(tmp_path)
    released = list(migrations.MIGRATIONS)
    applied = list(range(1, len(released) + 1))

    def m0002_example(conn):
        conn.exec_driver_sql("CREATE TABLE example (id INTEGER PRIMARY KEY)")

    def m0003_broken(conn):
        conn.exec_driver_sql("CREATE TABLE half (id INTEGER PRIMARY KEY)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*released, m0002_example, m0003_broken])
    with pytest.raises(RuntimeError):
        open_database(tmp_path)
    with raw(tmp_path) as conn:  # one transaction: the DDL before the failure is rolled back too
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == applied
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name IN ('example', 'half')").fetchall()
    monkeypatch.setattr(migrations, "MIGRATIONS", [*released, m0002_example])
    assert migrate(open_database(tmp_path)) == []  # open_database applied the example already
    with raw(tmp_path) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [*applied, len(applied) + 1]


def test_a_file_from_a_newer_openvid_is_refused(tmp_path):
    open_database(tmp_path)
    with raw(tmp_path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'm0099_future', '2030-01-01T00:00:00+00:00')")
        conn.commit()
    with pytest.raises(OpenvidError, match="schema version 99, newer than this openvid knows.*upgrade"):
        open_database(tmp_path)


def test_write_transaction_holds_the_lock_from_its_start(tmp_path):
    engine = open_database(tmp_path)
    with write_transaction(engine):
        with raw(tmp_path) as other, pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        with raw(tmp_path) as reader:  # WAL: readers are not blocked
            assert reader.execute("SELECT count(*) FROM taxonomies").fetchone() == (0,)
    with raw(tmp_path) as other:
        other.execute("BEGIN IMMEDIATE")
        other.rollback()


def test_opening_and_reading_do_not_wait_for_a_writer(tmp_path):
    open_database(tmp_path)
    with raw(tmp_path) as writer:
        writer.execute("BEGIN IMMEDIATE")
        engine = open_database(tmp_path)  # a new connection: pragmas and the migration check only read
        with read_transaction(engine) as conn:
            assert conn.execute(text("SELECT count(*) FROM labels")).scalar() == 0
        writer.rollback()


def test_write_transactions_nest_as_savepoints(tmp_path):
    engine = open_database(tmp_path)
    insert = text("INSERT INTO text_embeddings VALUES (:i, 't', 1, x'00000000')")
    with write_transaction(engine) as conn:
        conn.execute(insert, {"i": "outer"})
        with pytest.raises(RuntimeError), write_transaction(conn):
            conn.execute(insert, {"i": "inner"})
            raise RuntimeError("undo the inner block only")
        with write_transaction(conn):
            conn.execute(insert, {"i": "inner-kept"})
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        conn.execute(insert, {"i": "rolled back"})
        raise RuntimeError
    with engine.connect() as conn, write_transaction(conn):  # a plain connection gets BEGIN IMMEDIATE too
        conn.execute(insert, {"i": "on a connection"})
    with read_transaction(engine) as conn:
        rows = conn.execute(text("SELECT identity FROM text_embeddings ORDER BY identity")).scalars().all()
    assert rows == ["inner-kept", "on a connection", "outer"]


def test_unwritable_home_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OpenvidError, match="cannot create the home folder"):
        open_database(blocker / "home")


def test_commit_watch_changes_with_every_commit_from_this_process_or_another(tmp_path):
    from openvid.store.db import CommitWatch

    engine = open_database(tmp_path)
    watch = CommitWatch.of(engine)
    first = watch.version()
    with read_transaction(engine) as conn:  # reads commit nothing
        conn.exec_driver_sql("SELECT count(*) FROM taxonomies").scalar()
    assert watch.version() == first
    with write_transaction(engine) as conn:  # this process, through the pool
        conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
    second = watch.version()
    assert second != first and watch.version() == second
    with raw(tmp_path) as other:  # another connection, as another process would be
        other.execute("INSERT INTO probe VALUES (1)")
        other.commit()
    assert watch.version() != second
    watch.close()
    assert CommitWatch.of(create_engine("sqlite://")) is None  # in memory: nothing to watch


def test_commit_watch_opens_a_home_whose_name_has_uri_characters(tmp_path):
    from openvid.store.db import CommitWatch

    engine = open_database(tmp_path / "clips #2 ?draft")
    watch = CommitWatch.of(engine)
    assert watch is not None
    first = watch.version()
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
    assert watch.version() != first
    watch.close()
