"""Copying SQLite's write-ahead log into the database beside the writer, not in its way.

SQLite checkpoints inside the commit that finds the log over `wal_autocheckpoint` pages: every few
batches the writer stopped for the copy and for the fsync that makes it durable (about a third of a
second for 180 MB of log, two thirds of it the fsync). Here a thread of the writing process does
it after the span writer's commits instead: PASSIVE, so it neither waits for nor blocks the writer,
which goes on appending to the log, and the log starts again from its beginning at the first
commit that finds it all copied. `wal_autocheckpoint` stays as the safety net (a checkpoint thread
that falls behind, another process writing).
"""

from __future__ import annotations

import logging
import threading
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.pool import StaticPool

__all__ = ["Checkpointer"]

_log = logging.getLogger("traceglass.store")

# Pause after a checkpoint: under a steady load of batches, one checkpoint per two or three of
# them, so that a page rewritten by each batch is copied once for several.
_PAUSE: Final = 0.5


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` in a daemon thread when asked, at most once per pause."""

    def __init__(self, engine: Engine, pause: float = _PAUSE) -> None:
        self._engine = engine
        self._pause = pause
        self._wanted = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @staticmethod
    def applies_to(engine: Engine) -> bool:
        """A SQLite file (an in-memory database shares one connection between threads, and has no log)."""
        return engine.dialect.name == "sqlite" and not isinstance(engine.pool, StaticPool)

    def request(self) -> None:
        """Ask for a checkpoint soon (after a commit); returns at once."""
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed.is_set():
                    self._thread = threading.Thread(target=self._run, name="traceglass-checkpoint", daemon=True)
                    self._thread.start()
        self._wanted.set()

    def close(self) -> None:
        """Stop the thread, after the checkpoint it may be running."""
        with self._lock:
            self._closed.set()
            self._wanted.set()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            if self._closed.is_set():
                return
            self._wanted.clear()
            self._checkpoint()
            if self._closed.wait(self._pause):
                return

    def _checkpoint(self) -> None:
        try:
            # The driver's connection: no BEGIN around the pragma (a checkpoint cannot run inside
            # a transaction that has read).
            connection = self._engine.raw_connection()
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                connection.close()
        except Exception:  # the next commit asks again; SQLite's own checkpoints remain
            _log.debug("traceglass store: background checkpoint failed", exc_info=True)
