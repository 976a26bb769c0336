"""The one SQLite file, `<home>/openvid.db`: opening it, migrating it, and transactions.

Several processes may use the file at once (a CLI edit while a server classifies). Three things
make that safe:

- WAL journal mode: readers never block the writer, nor the writer readers.
- `busy_timeout` (30 s): a process that finds the write lock taken waits its turn instead of
  failing with "database is locked".
- `write_transaction` begins with `BEGIN IMMEDIATE`, taking the write lock before it reads, so a
  read-modify-write (a version bump) never interleaves with another process's.

Python's sqlite3 driver (before 3.12's `autocommit` attribute) issues BEGIN itself, lazily and
only before DML. Following SQLAlchemy's documented recipe ("Serializable isolation / Savepoints /
Transactional DDL", now "Transactions with SQLite and the sqlite3 driver"), the driver's own
BEGIN is switched off (`isolation_level = None`) and SQLAlchemy's `begin` event emits ours:
plain `BEGIN` for reads, `BEGIN IMMEDIATE` for writes. DDL in migrations is then transactional
too, and `Connection.begin_nested()` (SAVEPOINT) nests inside a write transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event, text

from openvid.errors import OpenvidError, opt

DB_FILENAME = "openvid.db"
BUSY_TIMEOUT_S = 30.0
_BEGIN_OPTION = "openvid_begin"


def database_path(home: Path) -> Path:
    return Path(home).expanduser() / DB_FILENAME


def open_database(home: Path) -> Engine:
    """An Engine on `<home>/openvid.db` (home is created), migrated to the current schema."""
    path = database_path(home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OpenvidError(f"cannot create the home folder {path.parent}: {exc}; pick another with "
                           f"{opt('home', 'DIR')} or OPENVID_HOME") from exc
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    try:
        migrate(engine)
    except Exception:
        engine.dispose()
        raise
    return engine


def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None  # the driver emits no BEGIN of its own; _on_begin does
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys = ON")
    _use_wal(cursor)
    cursor.close()


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the file to WAL (persistent: once per file). The switch needs the file to itself and
    SQLite answers "locked" at once instead of calling the busy handler, so a process that opens a
    new file while another is creating it retries here, within the same 30 s."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not ("locked" in str(exc) or "busy" in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def _on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(target: Engine | Connection) -> Iterator[Connection]:
    """A connection inside a transaction that holds the write lock from its first statement.

    Commits when the block ends, rolls back if it raises. Given a Connection already inside a
    transaction (nesting), the block runs in a SAVEPOINT of it: an error rolls back only the block.
    Nest inside write transactions only; a plain read transaction cannot take the lock late safely.
    """
    if isinstance(target, Connection):
        if target.in_transaction():
            with target.begin_nested():
                yield target
            return
        previous = target.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        target.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        try:
            with target.begin():
                yield target
        finally:
            target.execution_options(**{_BEGIN_OPTION: previous})
        return
    with target.connect() as connection:
        connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a plain (deferred) transaction: one consistent snapshot for all its reads."""
    with engine.connect() as connection, connection.begin():
        yield connection


class CommitWatch:
    """Whether anything was committed to the file since the last look, for the cost of one PRAGMA.

    SQLite's `PRAGMA data_version` changes on a connection whenever another connection (of this
    process or any other) has committed to the file since; it exists for caches like the
    searchers' (`openvid.archive.readers`), which would otherwise query the catalog on every search
    to learn that nothing changed. The watch keeps one read-only connection of its own, which never
    writes, so every commit counts.
    """

    def __init__(self, path: str | Path) -> None:
        # as_uri percent-encodes the path: a folder named with '?' or '#' would otherwise end the file name
        self._connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True,
                                           check_same_thread=False)
        self._lock = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> "CommitWatch | None":
        """A watch on the file behind `engine`; None for a database that is not a file."""
        database = engine.url.database
        if not database or database == ":memory:" or not Path(database).is_file():
            return None
        try:
            return cls(database)
        except sqlite3.Error:  # cannot be opened read-only here: callers then check the catalog each time
            return None

    def version(self) -> int:
        """A number that differs from the last one read whenever something was committed in between."""
        with self._lock:
            return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# ---- migrations ---------------------------------------------------------------------------------


def _applied_versions(connection: Connection) -> set[int]:
    exists = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")).first()
    if not exists:
        return set()
    return {row[0] for row in connection.execute(text("SELECT version FROM schema_migrations"))}


def migrate(engine: Engine) -> list[int]:
    """Apply the migrations this file lacks, in order, each recorded in `schema_migrations`.

    Returns the versions applied now (empty when the file was current: re-opening is a no-op).
    A file written by a newer openvid (versions this one does not know) is refused.
    """
    from openvid.store.migrations import MIGRATIONS

    known = set(range(1, len(MIGRATIONS) + 1))
    with read_transaction(engine) as connection:
        applied = _applied_versions(connection)
    _refuse_newer(engine, applied, known)
    if known <= applied:
        return []
    done: list[int] = []
    with write_transaction(engine) as connection:
        connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        applied = _applied_versions(connection)  # again, under the lock: another process may have won
        _refuse_newer(engine, applied, known)
        for version, step in enumerate(MIGRATIONS, start=1):
            if version in applied:
                continue
            step(connection)
            connection.execute(
                text("INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :at)"),
                {"v": version, "n": step.__name__, "at": utcnow().isoformat()},
            )
            done.append(version)
    return done


def _refuse_newer(engine: Engine, applied: set[int], known: set[int]) -> None:
    unknown = sorted(applied - known)
    if unknown:
        raise OpenvidError(
            f"{engine.url.database} has schema version {max(unknown)}, newer than this openvid knows "
            f"({len(known)}); upgrade openvid (pip install -U openvid) or use another home folder "
            f"({opt('home', 'DIR')})"
        )


__all__ = ["DB_FILENAME", "CommitWatch", "database_path", "migrate", "open_database", "read_transaction", "write_transaction"]
