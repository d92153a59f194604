"""Flushing the spans of multiprocessing children, which the interpreter's exit hooks miss.

A child started by fork or forkserver ends with os._exit(): atexit hooks do not run there, only
multiprocessing's own finalizers. And `Pool.terminate()`, which `with Pool() as pool:` calls on
leaving the block, ends the workers with SIGTERM, whose default action runs nothing at all: the
spans of every task they ran would be lost. `flush_children(at_exit)` makes each child run
`at_exit` in both cases; a terminated child then dies of the signal as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

__all__ = ["flush_children", "flushing"]

# How long a terminated child flushes before it ends: a store busy past this loses the child's
# last spans rather than holding up the pool's terminate().
_TERMINATE_FLUSH_SECONDS = 15.0

_flushing = threading.local()  # .depth: flushes under way in this thread
_deferred_signal: list[int] = []  # a termination signal that arrived during a flush
_at_exit: Callable[[], None] | None = None


class _ForkAnchor:
    """What multiprocessing's after-fork registry keys our hook by (it holds it weakly)."""


_fork_anchor = _ForkAnchor()


def flush_children(at_exit: Callable[[], None]) -> None:
    """Run `at_exit` in every multiprocessing child of this process (and in this one, if it is
    such a child) when it exits or is terminated."""
    global _at_exit
    _at_exit = at_exit
    from multiprocessing import parent_process, util

    # A child forked after this gets its hooks through the after-fork registry; a child that sets
    # the pipeline up itself gets them here.
    util.register_after_fork(_fork_anchor, _in_child)
    if parent_process() is not None:
        _in_child(_fork_anchor)
    elif "__mp_main__" in sys.modules:
        # A spawned child importing the app's main module, before multiprocessing knows it is a
        # child (and spawned children run no after-fork hook). It exits through sys.exit(), so
        # atexit flushes it; only a termination needs the handler.
        _flush_when_terminated()


@contextlib.contextmanager
def flushing() -> Iterator[None]:
    """Around a flush: a termination signal arriving during it waits for its end (flushing again
    from the signal handler would wait for this flush for ever)."""
    _flushing.depth = getattr(_flushing, "depth", 0) + 1
    try:
        yield
    finally:
        _flushing.depth -= 1
        if not _flushing.depth and _deferred_signal and threading.current_thread() is threading.main_thread():
            _die_of(_deferred_signal[0])


def _in_child(_anchor: object) -> None:
    from multiprocessing import util

    if _at_exit is not None:
        util.Finalize(None, _at_exit, exitpriority=10)
    _flush_when_terminated()


def _flush_when_terminated() -> None:
    # A handler the app set is kept.
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:  # a spawned child may hold it as a plain 0
        return
    signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    if getattr(_flushing, "depth", 0):
        # The signal interrupted a flush of this thread (a pool worker leaving by itself as the
        # pool terminates it): it ends the process once that flush is done.
        _deferred_signal.append(signum)
        return
    if _at_exit is not None:
        # In a thread of its own, bounded: an export this thread was in the middle of (outside a
        # flush) holds what a flush here would wait for.
        flusher = threading.Thread(target=_at_exit, name="traceglass-terminate-flush", daemon=True)
        flusher.start()
        flusher.join(_TERMINATE_FLUSH_SECONDS)
    _die_of(signum)


def _die_of(signum: int) -> None:
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
