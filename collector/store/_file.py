"""The SQLite file of a store, watched: deleted or replaced while the store is open, it is
opened again (a new store created there) instead of its connections writing on into a file
nobody can read any more."""

from __future__ import annotations

import logging
import os
import threading

from sqlalchemy import Engine

from ._engine import sqlite_file
from ._migrate import upgrade

__all__ = ["StoreFile"]

_log = logging.getLogger("traceglass")


def _identity(path: os.PathLike[str]) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


class StoreFile:
    """The file an engine's connections have open, as (device, inode) when the store opened."""

    def __init__(self, engine: Engine) -> None:
        self._path = sqlite_file(engine.url.database)
        self._identity = None if self._path is None else _identity(self._path)
        self._lock = threading.Lock()

    def replaced(self) -> bool:
        """Whether the file is no longer the one opened: one stat, the cost of each check."""
        return self._path is not None and _identity(self._path) != self._identity

    def reopened(self, engine: Engine) -> bool:
        """After `replaced()`: drop the engine's connections to the old file and migrate the one
        now there (which creates a store in a new file), once for all the threads that noticed.
        True for the thread that did it."""
        assert self._path is not None
        with self._lock:
            if _identity(self._path) == self._identity:
                return False  # another thread has already
            engine.dispose()  # connections in use are closed when given back
            self._path.parent.mkdir(parents=True, exist_ok=True)
            upgrade(engine)
            self._identity = _identity(self._path)
        _log.warning("traceglass: the store file %s was deleted or replaced while in use; spans are recorded "
                     "in the store now there (a new one if it was deleted).", self._path)
        return True
