"""The store's own error: misuse of its API (a duplicate experiment name, an unknown id); and the
database errors worth trying again."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc

__all__ = ["TRANSIENT_ERRORS", "StoreError", "worth_waiting_for"]

# A database that may take the data later (locked or busy, connection lost, pool exhausted, a
# full disk, a file made read-only), as opposed to one that refuses the data itself: a write
# failing so is worth trying again.
TRANSIENT_ERRORS = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


def worth_waiting_for(error: BaseException) -> bool:
    """Whether trying again within seconds may succeed: a SQLite file locked by another writer, a
    PostgreSQL server away; not a full disk or a read-only file, which a retry only waits out."""
    if not isinstance(error, TRANSIENT_ERRORS):
        return False
    cause = getattr(error, "orig", None)
    if isinstance(cause, sqlite3.Error):
        message = str(cause)
        return "locked" in message or "busy" in message
    return True


class StoreError(Exception):
    """Raised by `Store` methods when a request cannot be carried out as asked: creating an
    experiment whose name is taken, renaming or deleting an experiment that does not exist, a store
    URL that names no supported database, or a database whose schema is newer than this version."""
