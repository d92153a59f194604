"""The store's own error: misuse of its API (a duplicate experiment name, an unknown id); and the
database errors worth trying again."""

from __future__ import annotations

from sqlalchemy import exc

__all__ = ["TRANSIENT_ERRORS", "StoreError"]

# A database that may answer in a moment (locked or busy, connection lost, pool exhausted), as
# opposed to one that refuses the data: a write failing so is worth trying again.
TRANSIENT_ERRORS = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


class StoreError(Exception):
    """Raised by `Store` methods when a request cannot be carried out as asked: creating an
    experiment whose name is taken, renaming or deleting an experiment that does not exist, a store
    URL that names no supported database, or a database whose schema is newer than this version."""
