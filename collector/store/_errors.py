"""The store's own error: misuse of its API (a duplicate experiment name, an unknown id)."""

from __future__ import annotations

__all__ = ["StoreError"]


class StoreError(Exception):
    """Raised by `Store` methods when a request cannot be carried out as asked: creating an
    experiment whose name is taken, renaming or deleting an experiment that does not exist, a store
    URL that names no supported database, or a database whose schema is newer than this version."""
