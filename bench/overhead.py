#!/usr/bin/env python3
"""CPU and memory overhead of traceglass's OpenAI instrumentor, in one process.

    python bench/overhead.py                        # all scenarios, default counts (~3 min)
    python bench/overhead.py --scenario chat --calls 300 --repeats 3 --memory-calls 0
    python bench/overhead.py --json /tmp/overhead.json

The real ``openai`` client talks to an in-process fake server (``httpx2.MockTransport``, see
``_workload.py``). Each scenario runs ``--repeats`` repeats; every repeat is split into
``--blocks`` blocks per mode, and the two modes (uninstrumented / instrumented) alternate block
by block (``instrument()`` / ``uninstrument()`` in between, same providers throughout), so
machine drift hits both alike.

Timing is ``time.process_time``: CPU of the whole process, background export threads included.
Each call is timed on its own (-> median per call), and each block's window also includes a
final ``force_flush`` of spans and logs (-> mean per call, with all export work).

Telemetry sink: TracerProvider + BatchSpanProcessor(counting no-op exporter), MeterProvider +
InMemoryMetricReader, LoggerProvider + BatchLogRecordProcessor(counting no-op exporter).
Instrumented with ``capture_content="SPAN_ONLY"``.

Checks: exactly one span per instrumented call and none once uninstrumented, the prompt (and
answer) really on the span, responses unaltered; then a memory phase (``--memory-calls`` chat
calls, instrumented) that tracks RSS and live gc objects, then ``--tracemalloc-calls`` more with
tracemalloc on, and reports the growth over the second half of each, which should be ~0.

Exit status: 0 all targets and checks pass, 1 something failed, 2 traceglass not installed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import traceback
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _workload as wl
from _memory import memory_phase
from _report import render
from contender import source_fingerprint

TARGET_PCT = {"chat": 15.0, "stream": 10.0, "tools": 15.0, "embeddings": 5.0}
DEFAULT_CALLS = {"chat": 1000, "stream": 160, "tools": 1000, "embeddings": 400}  # per mode per repeat
WARMUP = {"chat": 200, "stream": 20, "tools": 200, "embeddings": 40}
CAPTURE = "SPAN_ONLY"
INSTALL_HINT = "pip install -e '.[openai]'   (from the repository root)"


# ----------------------------------------------------------------------------- telemetry sink

class Sink:
    """SDK providers wired to exporters that only count (and, while ``keep`` is set, keep spans)."""

    def __init__(self) -> None:
        from opentelemetry import _logs, metrics, trace
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import (
            BatchLogRecordProcessor,
            LogRecordExporter,
            LogRecordExportResult,
        )
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        sink = self
        self.spans = self.logs = 0
        self.keep = False
        self.kept: list[Any] = []

        class CountingSpanExporter(SpanExporter):
            def export(self, spans):
                sink.spans += len(spans)
                if sink.keep:
                    sink.kept.extend(spans)
                return SpanExportResult.SUCCESS

        class CountingLogExporter(LogRecordExporter):
            def export(self, batch):
                sink.logs += len(batch)
                return LogRecordExportResult.SUCCESS

            def shutdown(self):
                pass

            def force_flush(self, timeout_millis: int = 30000) -> bool:
                return True

        resource = Resource.create({"service.name": "traceglass-bench"})
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(BatchSpanProcessor(CountingSpanExporter()))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.reader])
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(BatchLogRecordProcessor(CountingLogExporter()))
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        _logs.set_logger_provider(self.logger_provider)

    def flush(self) -> None:
        self.tracer_provider.force_flush()
        self.logger_provider.force_flush()

    def metric_names(self) -> list[str]:
        data = self.reader.get_metrics_data()
        rms = data.resource_metrics if data else []
        return sorted({m.name for rm in rms for sm in rm.scope_metrics for m in sm.metrics})


class Instrumentation:
    """instrument()/uninstrument() the OpenAI instrumentor against the sink, idempotently."""

    def __init__(self, sink: Sink) -> None:
        from traceglass.instrumentors.openai import OpenAIInstrumentor

        self.sink, self.inst, self.on = sink, OpenAIInstrumentor(), False

    def set(self, on: bool) -> None:
        if on and not self.on:
            sink = self.sink
            self.inst.instrument(tracer_provider=sink.tracer_provider, meter_provider=sink.meter_provider,
                                 logger_provider=sink.logger_provider, capture_content=CAPTURE)
            if getattr(self.inst, "_is_instrumented_by_opentelemetry", True) is False:
                raise RuntimeError("OpenAIInstrumentor().instrument() did not instrument "
                                   "(dependency conflict?)")
        elif not on and self.on:
            self.inst.uninstrument()
        self.on = on


def load_instrumentation(sink: Sink) -> Instrumentation | None:
    """None when traceglass (or its OpenAI instrumentor) is not installed; any other error propagates."""
    try:
        return Instrumentation(sink)
    except ImportError as e:
        ours = ("traceglass", "traceglass.instrumentors", "traceglass.instrumentors.openai")
        if not (isinstance(e, ModuleNotFoundError) and e.name in ours):
            traceback.print_exc()
            raise  # traceglass is there but its import is broken: show that, do not hide it
        print(f"\n*** traceglass's OpenAI instrumentor is not importable ({type(e).__name__}: {e}).\n"
              f"*** Install it first: {INSTALL_HINT}\n"
              "*** Measuring the uninstrumented client only: no overhead figures, no verdict.\n",
              file=sys.stderr, flush=True)
        return None


# ----------------------------------------------------------------------------- measurement

def run_block(sink: Sink, scenario: str, calls: int) -> dict:
    """One timed block on fresh clients: per-call CPU samples, plus the window incl. the final flush."""
    fn = wl.make_calls()[scenario]
    for _ in range(3):  # untimed: the first calls on a new client build its lazy resources
        fn()
    sink.flush()
    gc.collect()
    spans0, logs0 = sink.spans, sink.logs
    clock = time.process_time_ns
    samples = [0] * calls
    start = clock()
    for i in range(calls):
        t = clock()
        fn()
        samples[i] = clock() - t
    sink.flush()  # the export work these calls caused belongs in the window
    window = clock() - start
    return {"samples": samples, "window_ns": window, "spans": sink.spans - spans0, "logs": sink.logs - logs0}


def measure(sink: Sink, inst: Instrumentation | None, scenario: str, calls: int, repeats: int,
            blocks: int) -> dict:
    modes = ["off", "on"] if inst else ["off"]
    per_block = max(1, calls // blocks)
    reps = []
    for r in range(repeats):
        parts: dict[str, list[dict]] = {m: [] for m in modes}
        for b in range(blocks):
            for mode in modes if (r * blocks + b) % 2 == 0 else modes[::-1]:
                if inst:
                    inst.set(mode == "on")
                parts[mode].append(run_block(sink, scenario, per_block))
        rep = {}
        for mode, ps in parts.items():
            samples = [x for p in ps for x in p["samples"]]
            n = len(samples)
            rep[mode] = {"calls": n, "median_us": statistics.median(samples) / 1000.0,
                         "mean_us": sum(p["window_ns"] for p in ps) / n / 1000.0,
                         "spans_per_call": sum(p["spans"] for p in ps) / n,
                         "logs_per_call": sum(p["logs"] for p in ps) / n}
        reps.append(rep)
        figures = ", ".join(f"{m} {rep[m]['median_us']:,.0f} µs" for m in modes)
        print(f"  {scenario} repeat {r + 1}/{repeats}: {figures}", file=sys.stderr, flush=True)
    out: dict[str, Any] = {"calls_per_mode_per_repeat": per_block * blocks, "repeats": reps}
    for mode in modes:
        out[mode] = {k: statistics.median(rep[mode][k] for rep in reps)
                     for k in ("median_us", "mean_us", "spans_per_call", "logs_per_call")}
    if inst:
        off, on = out["off"], out["on"]
        out["added_us"] = on["median_us"] - off["median_us"]
        out["added_pct"] = 100.0 * out["added_us"] / off["median_us"]
        out["added_mean_pct"] = 100.0 * (on["mean_us"] - off["mean_us"]) / off["mean_us"]
        # drift-insensitive estimate: median over repeats of the paired (on / off) ratio
        out["added_ratio_pct"] = 100.0 * (statistics.median(
            rep["on"]["median_us"] / rep["off"]["median_us"] for rep in reps) - 1.0)
        out["target_pct"] = TARGET_PCT[scenario]
        out["pass"] = out["added_pct"] <= TARGET_PCT[scenario]
        # exactly one span per instrumented call, none once uninstrumented
        out["span_problems"] = [f"repeat {i + 1}: {rep[m]['spans_per_call']:.3f} spans/call while {m}"
                                for i, rep in enumerate(reps) for m, want in (("on", 1.0), ("off", 0.0))
                                if rep[m]["spans_per_call"] != want]
    return out


# ----------------------------------------------------------------------------- verification

def _has(value: Any, marker: str) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_has(v, marker) for v in value)
    return marker in str(value)


def verify(sink: Sink, inst: Instrumentation | None, scenarios: list[str], problems: list[str],
           n: int = 3) -> dict:
    """Responses unaltered in both modes; when instrumented: one span per call, prompt on it."""
    out = {}
    for s in scenarios:
        res: dict[str, Any] = {}
        for mode in ("off", "on") if inst else ("off",):
            if inst:
                inst.set(mode == "on")
            fn = wl.make_calls()[s]
            sink.flush()
            sink.kept.clear()
            spans0, logs0, sink.keep = sink.spans, sink.logs, True
            altered = [p for p in (wl.response_problem(s, fn()) for _ in range(n)) if p]
            sink.flush()
            sink.keep = False
            res[mode] = {"response_ok": not altered, "spans_per_call": (sink.spans - spans0) / n,
                         "logs_per_call": (sink.logs - logs0) / n}
            problems += [f"{s}: response altered while {mode}: {altered[0]}"] if altered else []
        if inst:
            attrs = [dict(sp.attributes or {}) for sp in sink.kept]
            res["span_names"] = sorted({sp.name for sp in sink.kept})
            res["attributes_per_span"] = max((len(a) for a in attrs), default=0)
            res["prompt_on_span"] = bool(attrs) and all(_has(list(a.values()), wl.PROMPT_MARKER)
                                                        for a in attrs)
            res["answer_on_span"] = bool(attrs) and all(_has(list(a.values()), wl.ANSWER_MARKER)
                                                        for a in attrs)
            res["content_keys"] = sorted({k for a in attrs for k, v in a.items()
                                          if _has(v, wl.PROMPT_MARKER) or _has(v, wl.ANSWER_MARKER)})
            if res["on"]["spans_per_call"] != 1.0:
                problems.append(f"{s}: {res['on']['spans_per_call']:.2f} spans per instrumented call, want 1")
            if s != "embeddings" and not res["prompt_on_span"]:
                problems.append(f"{s}: prompt not found on the span although capture_content={CAPTURE}")
        out[s] = res
    return out


# ----------------------------------------------------------------------------- main

def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for d in ("traceglass", "openai", "httpx2", "opentelemetry-sdk"):
        try:
            out[d] = metadata.version(d)
        except metadata.PackageNotFoundError:
            out[d] = "not installed"
    out["traceglass sources"] = source_fingerprint()
    return out


def _counts(spec: str | None, scenarios: list[str]) -> dict[str, int]:
    if not spec:
        return {s: DEFAULT_CALLS[s] for s in scenarios}
    if "=" not in spec:
        return {s: int(spec) for s in scenarios}
    given = {k.strip(): int(v) for k, v in (p.split("=") for p in spec.split(","))}
    return {s: given.get(s, DEFAULT_CALLS[s]) for s in scenarios}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", help="calls per mode per repeat: N, or 'chat=600,stream=80' (default "
                    + ",".join(f"{k}={v}" for k, v in DEFAULT_CALLS.items()) + ")")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=4, help="blocks per mode per repeat (interleaving grain)")
    ap.add_argument("--scenario", default="all", choices=("all", *wl.SCENARIOS))
    ap.add_argument("--memory-calls", type=int, default=20000, help="instrumented chat calls, 0 = skip")
    ap.add_argument("--tracemalloc-calls", type=int, default=4000,
                    help="further calls with tracemalloc on (leak sites), 0 = skip")
    ap.add_argument("--json", help="write all results (incl. per-repeat figures) here")
    args = ap.parse_args(argv)
    scenarios = list(wl.SCENARIOS) if args.scenario == "all" else [args.scenario]
    calls = _counts(args.calls, scenarios)

    sink = Sink()
    inst = load_instrumentation(sink)
    res: dict[str, Any] = {
        "meta": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "python": f"Python {platform.python_version()}",
                 "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "versions": _versions(),
                 "repeats": args.repeats, "blocks": args.blocks, "calls": calls, "capture_content": CAPTURE},
        "instrumented": inst is not None, "scenarios": {}, "problems": []}

    print("warm-up and checks ...", file=sys.stderr, flush=True)
    for mode in ("off", "on") if inst else ("off",):
        if inst:
            inst.set(mode == "on")
        fns = wl.make_calls()
        for s in scenarios:
            for _ in range(WARMUP[s]):
                fns[s]()
    res["verify"] = verify(sink, inst, scenarios, res["problems"])

    for s in scenarios:
        print(f"measuring {s}: {calls[s]} calls per mode, {args.repeats} repeats", file=sys.stderr,
              flush=True)
        r = res["scenarios"][s] = measure(sink, inst, s, calls[s], args.repeats, args.blocks)
        res["problems"] += [f"{s}: {p}" for p in r.get("span_problems", [])]

    if inst and args.memory_calls:
        print(f"memory phase: {args.memory_calls:,} + {args.tracemalloc_calls:,} (tracemalloc) instrumented "
              "chat calls", file=sys.stderr, flush=True)
        inst.set(True)
        fn = wl.make_calls()["chat"]
        for _ in range(500):
            fn()
        sink.flush()
        spans0 = sink.spans
        m = res["memory"] = memory_phase(fn, lambda: (sink.flush(), gc.collect()), args.memory_calls,
                                         args.tracemalloc_calls)
        m["spans_per_call"] = (sink.spans - spans0) / (args.memory_calls + args.tracemalloc_calls)
        if m["spans_per_call"] != 1.0:
            res["problems"].append(f"memory phase: {m['spans_per_call']:.3f} spans/call")
    if inst:
        inst.set(False)
        res["metrics_seen"] = sink.metric_names()

    print(render(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    if inst is None:
        return 2
    targets_met = all(r["pass"] for r in res["scenarios"].values())
    return 0 if targets_met and not res["problems"] and res.get("memory", {}).get("pass", True) else 1


if __name__ == "__main__":
    sys.exit(main())
