"""The store's writes in a process of their own.

A server process receives, decodes and prepares spans in Python; writing a prepared batch is
database work (SQLite's B-trees, PostgreSQL's COPY) that would otherwise share one GIL with all
of that. In a child process the two run on separate cores: the server's writer thread sends a
prepared batch (pickled by the preparing thread) over a pipe and waits for the count of new
spans, or for the exception the write raised, which it then handles exactly as if the write had
run in-process (retry, one by one).

The child ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group): it writes until
the server closes the pipe, so a draining server never loses its writer. If the child dies, the
write that was running is retried in a new one.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from traceglass.collector.store import PreparedSpans

from ._gc import tune_for_serving

__all__ = ["WriterProcess", "WriterUnavailable"]

_log = logging.getLogger("traceglass.server")
_STARTUP_TIMEOUT = 60.0


class WriterUnavailable(Exception):
    """The writer process died or could not start; the batch was not written (retry it)."""


class WriterProcess:
    """`write_prepared(batch)` as `Store.write_prepared` does it, in a child process."""

    def __init__(self, store_url: str) -> None:
        self._store_url = store_url
        self._context = multiprocessing.get_context("spawn")  # a fork would copy the server's threads' locks
        self._process: Any = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(self._store_url, child), name="traceglass-store-writer",
                                        daemon=True)
        process.start()
        child.close()
        if not parent.poll(_STARTUP_TIMEOUT):
            process.kill()
            raise WriterUnavailable("the writer process did not start in time")
        try:
            status, detail = parent.recv()
        except EOFError as exc:
            raise WriterUnavailable("the writer process exited during startup") from exc
        if status != "ready":
            process.join(5)
            raise WriterUnavailable(f"the writer process could not open the store: {detail}")
        self._process, self._connection = process, parent

    @staticmethod
    def pack(prepared: PreparedSpans) -> bytes:
        """A batch as it goes down the pipe: pickling it ahead of `write_prepared` keeps that
        Python work off the time the child waits for its next batch."""
        return pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL)

    def write_prepared(self, prepared: PreparedSpans | bytes) -> int:
        """Write a batch (prepared, or packed by `pack`) in the child; its count of new spans."""
        packed = prepared if isinstance(prepared, bytes) else self.pack(prepared)
        with self._lock:
            if self._connection is None:
                self._restart()
            assert self._connection is not None
            try:
                self._connection.send_bytes(packed)
                status, detail = self._connection.recv()
            except (EOFError, OSError) as exc:
                self._connection = None
                raise WriterUnavailable(f"the writer process stopped ({self._exit_reason()})") from exc
        if status == "ok":
            return detail
        raise detail

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.send(None)
                except OSError:
                    pass
                self._connection.close()
                self._connection = None
            if self._process is not None:
                self._process.join(10)
                if self._process.is_alive():
                    self._process.kill()
                self._process = None

    def _restart(self) -> None:
        if self._process is not None:
            self._process.join(1)
        _log.warning("traceglass server: restarting the store writer process")
        self.start()

    def _exit_reason(self) -> str:
        if self._process is None:
            return "not started"
        self._process.join(1)
        code = self._process.exitcode
        return "still running" if code is None else f"exit code {code}"


def _serve(store_url: str, connection: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from traceglass.collector.store import Store

    try:
        store = Store.open(store_url)
    except Exception as exc:
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    connection.send(("ready", None))
    tune_for_serving()
    try:
        while True:
            try:
                prepared = connection.recv()
            except EOFError:
                return  # the server is gone
            if prepared is None:
                return
            try:
                connection.send(("ok", store.write_prepared(prepared)))
            except Exception as exc:
                connection.send(("error", _picklable(exc)))
    finally:
        store.close()


def _picklable(error: Exception) -> Exception:
    """The exception itself when it survives pickling (the server classifies it by type), else a
    RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
