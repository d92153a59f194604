"""Garbage collection tuned for a process that only serves: the server's own, and its writer's.

A batch of spans is tens of thousands of small containers (records, attribute dicts, row tuples),
nearly all freed by reference counting, none in cycles. With the default thresholds the cyclic
collector ran every 700 allocations and kept re-walking the batches in flight: a quarter of the
receiving process's work (13 of 51 µs per span). Not for an application that embeds a server:
its collector is its own business.
"""

from __future__ import annotations

import gc

__all__ = ["tune_for_serving"]

# A young generation of 50,000 objects: a collection per few hundred spans rather than per ten.
# The oldest generation every 200 young collections (under a minute at full load), so that the
# few cycles a request leaves behind (the web framework's) do not pile up.
_THRESHOLDS = (50_000, 20, 10)


def tune_for_serving() -> None:
    """Raise the collector's thresholds, and leave everything allocated so far (modules, the web
    framework, the store's schema) out of every later collection."""
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)
