"""The store's own error: misuse of its API (a duplicate experiment name, an unknown id); and the
database errors worth trying again."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc

__all__ = ["TRANSIENT_ERRORS", "StoreError", "keep_for_later", "worth_waiting_for"]

# The errors of a database that may take the data later (locked or busy, away, full, read-only),
# among which the data itself may also be what it refused: `keep_for_later` tells them apart.
TRANSIENT_ERRORS = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)

# PostgreSQL's SQLSTATEs (or classes) of a server that is away, busy or out of room, as opposed
# to one refusing the data (classes 22, 23, 54: a value too long for an index, say).
_PG_WAIT = ("08", "57P", "40001", "40P01", "55P03", "53300")  # connection, shutdown, conflicts, too many clients
_PG_KEEP = (*_PG_WAIT, "53", "25006")  # and out of disk or memory, a read-only server
_SQLITE_WAIT = ("locked", "busy")
_SQLITE_KEEP = (*_SQLITE_WAIT, "full", "readonly", "read-only", "disk i/o", "unable to open")


def _matches(error: BaseException, sqlite_words: tuple[str, ...], pg_states: tuple[str, ...]) -> bool:
    if not isinstance(error, TRANSIENT_ERRORS):
        return False
    cause = getattr(error, "orig", None)
    if isinstance(cause, sqlite3.Error):
        message = str(cause).lower()
        return any(word in message for word in sqlite_words)
    state = getattr(cause, "sqlstate", None)
    return state is None or state.startswith(pg_states)  # None: no answer from a server at all


def keep_for_later(error: BaseException) -> bool:
    """Whether a write failing so may succeed later, when the database is free, back, or has
    room again; not when it refuses the data itself."""
    return _matches(error, _SQLITE_KEEP, _PG_KEEP)


def worth_waiting_for(error: BaseException) -> bool:
    """Whether trying again within seconds may succeed: a SQLite file locked by another writer, a
    PostgreSQL server away or in conflict; not a full disk or a read-only file, which a retry
    only waits out."""
    return _matches(error, _SQLITE_WAIT, _PG_WAIT)


class StoreError(Exception):
    """Raised by `Store` methods when a request cannot be carried out as asked: creating an
    experiment whose name is taken, renaming or deleting an experiment that does not exist, a store
    URL that names no supported database, or a database whose schema is newer than this version."""
