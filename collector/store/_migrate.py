"""Bring a database's schema to the newest revision with Alembic, configured in code.

The script location is this package's `migrations` directory, found from the installed files,
so it works the same from a source checkout, an editable install or a wheel. Opening a store
that is already at head costs one query of `alembic_version` and imports no Alembic module.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from ._engine import WRITE
from ._errors import StoreError
from .migrations.versions import HEAD

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["alembic_config", "head_revision", "refuse_foreign", "upgrade"]

_SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
# Any constant works: it serialises concurrent first opens of one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x7472_6163_6567_6C61  # "tracegla"
_MIGRATION_WAIT_MS = 120_000
_log = logging.getLogger("traceglass")
_STORE_REVISION = re.compile(r"[0-9]{4}")


def alembic_config() -> Config:
    """Alembic's configuration for the store's migrations (set `attributes["connection"]` to run
    a command on an open connection)."""
    from alembic.config import Config

    config = Config()
    # Config is an INI parser: a literal % in the path must be doubled.
    config.set_main_option("script_location", str(_SCRIPT_LOCATION).replace("%", "%%"))
    return config


def head_revision() -> str:
    return HEAD


def upgrade(engine: Engine) -> None:
    """Upgrade to head unless already there. Concurrent callers are serialised (the write lock on
    SQLite, an advisory lock on PostgreSQL), so two processes opening a new store both succeed."""
    head = head_revision()
    if _current_revision(engine) == head:
        return
    with engine.connect().execution_options(**{WRITE: True}) as connection, _patient(connection), connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        current = _read_version(connection)
        if current == head:
            return
        refuse_foreign(inspect(connection).get_table_names(), current, engine.url.render_as_string(hide_password=True))
        if current is not None and current not in _known_revisions():
            raise StoreError(
                f"The store's schema is at revision {current!r}, which this version of traceglass does not "
                f"know (its newest is {head!r}): upgrade traceglass to open it."
            )
        with _quiet("alembic"):
            from alembic import command

            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    _log.info("traceglass: %s the schema of the store %s (revision %s)",
              "created" if current is None else f"upgraded from revision {current}",
              engine.url.render_as_string(hide_password=True), head)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Alembic's INFO lines (its plugins, each revision's description) would reach an app that logs
    at INFO on every new store: one line of ours says what happened instead."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _patient(connection: Connection) -> Iterator[None]:
    """On SQLite, wait for the write lock as long as another opener's migration takes (creating a
    store on a busy machine can take longer than the usual busy timeout), then restore it."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    (usual,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute(f"PRAGMA busy_timeout={_MIGRATION_WAIT_MS}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(usual)}")


def refuse_foreign(tables: list[str], revision: str | None, url: str) -> None:
    """StoreError, before anything in it changes, for a database that belongs to something else:
    tables but no store revision (the store's tables would be added among them), or another
    application's Alembic revision (MLflow's databases have an alembic_version table too). The
    store's revisions are four digits, newer ones included."""
    if revision is not None:
        if _STORE_REVISION.fullmatch(revision) is None:
            raise StoreError(
                f"The database {url} is not a traceglass store: its schema is another application's (Alembic "
                f"revision {revision!r}; an MLflow database, perhaps). Name another database for traceglass."
            )
        return
    tables = [table for table in tables if table != "alembic_version"]  # a store downgraded to base keeps it
    if tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise StoreError(
            f"The database {url} is not a traceglass store: it holds other tables ({shown}). A store is "
            "created only in an empty database; name another one."
        )


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _read_version(connection)


def _read_version(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@functools.lru_cache(maxsize=1)
def _known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())
