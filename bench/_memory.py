"""Memory phase of bench/overhead.py: does instrumented chat calling grow memory without bound?

Two runs on the same instrumented client, both reading the growth over their *second half*
(the first half may still fill caches, pools and the span queue):

* RSS run: ``calls`` calls at full speed, RSS from /proc/self/statm sampled 20 times, live
  gc-tracked objects counted after gc.collect() at start, middle and end. No tracemalloc here.
* tracemalloc run: ``traced_calls`` calls with tracemalloc on (it slows calls ~3x), memory still
  allocated by Python code compared after flush + gc at middle and end, with the top sites.

RSS alone is a weak leak signal: glibc/pymalloc keep the high-water mark of the
BatchSpanProcessor queue (up to 2048 spans waiting for the export thread), so it can step up
once in a while and never come down. The traced-memory and gc-object figures say whether
anything is actually kept alive per call.
"""

from __future__ import annotations

import gc
import os
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

MAX_TRACED_GROWTH = 64 * 1024  # bytes over the second half
MAX_OBJECTS_PER_CALL = 0.01  # live gc objects per call over the second half
RSS_WARN = 8 * 1024 * 1024  # bytes over the second half


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_run(fn: Callable[[], Any], settle: Callable[[], None], calls: int) -> dict:
    def snapshot() -> tuple[int, int]:
        settle()
        objs = len(gc.get_objects())  # before reading RSS: the list it builds must not count as growth
        return _rss(), objs

    rss0, objs0 = snapshot()
    every = max(1, calls // 20)
    series = [(0, rss0)]
    rss_mid = objs_mid = 0
    t0 = time.process_time()
    for i in range(1, calls + 1):
        fn()
        if i % every == 0:
            series.append((i, _rss()))
        if i == calls // 2:
            rss_mid, objs_mid = snapshot()
    cpu = time.process_time() - t0
    rss1, objs1 = snapshot()
    return {"calls": calls, "cpu_s": round(cpu, 2), "rss_start": rss0, "rss_mid": rss_mid, "rss_end": rss1,
            "rss_growth_total": rss1 - rss0, "rss_growth_second_half": rss1 - rss_mid,
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "gc_objects_growth_total": objs1 - objs0, "gc_objects_growth_second_half": objs1 - objs_mid,
            "series": series}


def traced_run(fn: Callable[[], Any], settle: Callable[[], None], calls: int) -> dict:
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]

    def snapshot() -> tuple[int, tracemalloc.Snapshot]:
        settle()
        return tracemalloc.get_traced_memory()[0], tracemalloc.take_snapshot().filter_traces(ignore)

    tracemalloc.start()
    try:
        for _ in range(calls // 2):
            fn()
        mem_mid, snap_mid = snapshot()
        for _ in range(calls - calls // 2):
            fn()
        mem_end, snap_end = snapshot()
    finally:
        tracemalloc.stop()
    top = [f"{st.traceback[0].filename.split('site-packages/')[-1]}:{st.traceback[0].lineno} "
           f"{st.size_diff:+,} B ({st.count_diff:+,} blocks)"
           for st in snap_end.compare_to(snap_mid, "lineno")[:5] if st.size_diff > 0]
    return {"calls": calls, "traced_growth_second_half": mem_end - mem_mid, "top_growth_sites": top}


def memory_phase(fn: Callable[[], Any], settle: Callable[[], None], calls: int, traced_calls: int) -> dict:
    """``fn``: one instrumented chat call (already warmed up); ``settle``: flush telemetry + gc."""
    out: dict[str, Any] = {"rss": rss_run(fn, settle, calls)}
    if traced_calls:
        out["traced"] = traced_run(fn, settle, traced_calls)
    rss = out["rss"]
    second = calls - calls // 2
    out["objects_ok"] = rss["gc_objects_growth_second_half"] <= MAX_OBJECTS_PER_CALL * second
    out["traced_ok"] = out.get("traced", {}).get("traced_growth_second_half", 0) <= MAX_TRACED_GROWTH
    out["rss_ok"] = rss["rss_growth_second_half"] <= RSS_WARN
    out["pass"] = out["objects_ok"] and out["traced_ok"] and out["rss_ok"]
    return out
