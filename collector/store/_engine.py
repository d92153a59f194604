"""Engines for the two supported databases, configured the same way for every connection.

SQLite: 16 KiB pages for a new database, WAL (readers never block the writer),
synchronous=NORMAL (a commit writes the WAL without fsync: durable at each checkpoint, safe
against corruption, much faster than FULL), foreign keys on (deletes cascade), a busy timeout so
concurrent writers wait rather than fail, a larger page cache and less frequent checkpoints (see
_SQLITE_PRAGMAS). Write transactions start with BEGIN IMMEDIATE: a deferred transaction that later
needs the write lock can fail at once with "database is locked" whatever the busy timeout, while
IMMEDIATE waits for the lock up front.

PostgreSQL: `postgresql://` URLs use the psycopg 3 driver, with a connect timeout of
_PG_CONNECT_TIMEOUT seconds unless the URL sets `connect_timeout`: a host that drops packets would
otherwise hold the caller (an application's set_experiment(), its exit) for the system's TCP
timeout, minutes on Linux.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import StaticPool

from ._errors import StoreError

__all__ = ["WRITE", "make_engine", "sqlite_file"]

# Execution option marking a connection whose next transaction writes (see _begin).
WRITE = "traceglass_write"

_BUSY_TIMEOUT = 5.0  # seconds
_WAL = "PRAGMA journal_mode=WAL"
_SQLITE_PRAGMAS = (
    # First: switching a new database to WAL needs a lock that another opener may hold.
    f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}",
    # 16 KiB pages, for a new database only (before WAL writes its first page; an existing one
    # keeps its size): a span row with its attributes is 1-3 KB, a batch's commit writes a
    # quarter as many pages to the WAL, and a writer spent 10-15% less CPU per span.
    "PRAGMA page_size=16384",
    _WAL,
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    # Up to 64 MiB of pages in memory (allocated as used): the indexes a batch writes into stay
    # cached rather than being read back from the file at each batch.
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
    # SQLite's own checkpoint (copy the WAL into the database, with an fsync) only past 10,000
    # pages (160 MiB with 16 KiB pages): the store's checkpoint thread (see _checkpoint) copies
    # it sooner, beside the writer. The WAL file is truncated back to 64 MiB after a checkpoint.
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA journal_size_limit=67108864",
)


_PG_CONNECT_TIMEOUT = 10  # seconds


def make_engine(url: str) -> Engine:
    """An engine for a `sqlite:///path` or `postgresql://...` URL (parent directories of a SQLite
    file are created)."""
    parsed = _normalise(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": _PG_CONNECT_TIMEOUT}
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def _normalise(url: str) -> URL:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise StoreError(f"Invalid store URL {url!r}: expected sqlite:///path or postgresql://...") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend != "sqlite":
        raise StoreError(f"Unsupported store URL {url!r}: expected sqlite:///path or postgresql://...")
    path = sqlite_file(parsed.database)
    if path is not None:
        # Absolute: a relative path would name another file after the app changes directory.
        path = path.expanduser().absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    return parsed


def sqlite_file(database: str | None) -> Path | None:
    """The file a SQLite URL's database names; None for an in-memory or `file:` URI database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_engine(url: URL) -> Engine:
    _refuse_a_foreign_file(url)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if url.database in (None, "", ":memory:"):
        # An in-memory database lives as long as its connection: share one (a scratch store).
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin() decide when a transaction starts (pysqlite would otherwise open
        # deferred ones by itself before each DML statement).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            if pragma == _WAL:
                _switch_to_wal(cursor)
            else:
                cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _refuse_a_foreign_file(url: URL) -> None:
    """Before the first connection switches it to WAL: a SQLite file of another application
    (tables, no store revision) is refused untouched."""
    from ._migrate import refuse_foreign

    path = sqlite_file(url.database)
    if path is None or not path.is_file():
        return
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return  # the engine's own connection reports it
    try:
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revisions = ([revision for (revision,) in connection.execute("SELECT version_num FROM alembic_version")]
                     if "alembic_version" in names else [])
    except sqlite3.Error:
        return  # not a database: the engine's own connection says so
    finally:
        connection.close()
    tables = [name for name in names if not name.startswith("sqlite_")]
    refuse_foreign(tables, revisions[0] if revisions else None, url.render_as_string(hide_password=True))


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    # Connections switching a new database to WAL at the same moment: the losers get "database is
    # locked" at once, without the busy timeout's wait (one first open in ten, with three openers).
    # They try again, for as long as that timeout.
    deadline = time.monotonic() + _BUSY_TIMEOUT
    while True:
        try:
            cursor.execute(_WAL)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
