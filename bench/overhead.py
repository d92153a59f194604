#!/usr/bin/env python3
"""CPU and memory overhead of traceglass's OpenAI, Anthropic and Ollama instrumentors, in one process.

    python bench/overhead.py                        # all scenarios, default counts (~4-5 min)
    python bench/overhead.py --scenario chat --calls 300 --repeats 3 --memory-calls 0
    python bench/overhead.py --provider anthropic --memory-calls 0
    python bench/overhead.py --json /tmp/overhead.json

Each provider's real client talks to an in-process fake server (``openai`` and ``anthropic`` over
``httpx2.MockTransport``, ``ollama`` over ``httpx.MockTransport``; see ``_workload*.py``). Each
scenario runs ``--repeats`` repeats; every repeat is split into ``--blocks`` blocks per mode, and
the two modes (uninstrumented / instrumented) alternate block by block (``instrument()`` /
``uninstrument()`` of that provider's instrumentor in between, the others uninstrumented, same
providers throughout), so machine drift hits both alike.

Timing is ``time.process_time``: CPU of the whole process, background export threads included.
Each call is timed on its own (-> median per call), and each block's window also includes a
final ``force_flush`` of spans and logs (-> mean per call, with all export work).

Telemetry sink (``_telemetry.py``): TracerProvider + BatchSpanProcessor(counting no-op exporter),
MeterProvider + InMemoryMetricReader, LoggerProvider + BatchLogRecordProcessor(counting no-op
exporter), also set globally. Instrumented with ``capture_content="SPAN_ONLY"``. The anthropic
SDK's own tracing is off in both modes unless ``--anthropic-sdk-tracing`` (see README.md).

``--floor`` adds a third mode, timed the same way: the client with traceglass off, each call
wrapped in the least any GenAI instrumentation must do with the OpenTelemetry SDK (one span,
the required metric points; ``_floor.py``). Its added CPU is the SDK's own share, which no
instrumentor can go below.

Checks: exactly one span per instrumented call and none once uninstrumented, the prompt (and
answer) really on the span, responses unaltered; then a memory phase (``--memory-calls`` OpenAI
chat calls, instrumented) that tracks RSS and live gc objects, then ``--tracemalloc-calls`` more
with tracemalloc on, and reports the growth over the second half of each, which should be ~0.

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
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _workload as wl
import _workload_anthropic as wla
import _workload_ollama as wlo
from _floor import Floor
from _memory import memory_phase
from _report import render
from _telemetry import CAPTURE, Instrumentation, Sink, load_instrumentation
from contender import source_fingerprint

WORKLOADS = {"openai": wl, "anthropic": wla, "ollama": wlo}  # provider -> workload module
PROVIDER = {s: p for p, m in WORKLOADS.items() for s in m.SCENARIOS}  # scenario -> provider
SCENARIOS = tuple(PROVIDER)
TARGET_PCT = {"chat": 15.0, "stream": 10.0, "tools": 15.0, "embeddings": 5.0,
              "anthropic_chat": 15.0, "anthropic_stream": 10.0, "ollama_chat": 15.0, "ollama_stream": 10.0}
DEFAULT_CALLS = {"chat": 1000, "stream": 160, "tools": 1000, "embeddings": 400,  # per mode per repeat
                 "anthropic_chat": 2000, "anthropic_stream": 400, "ollama_chat": 2000, "ollama_stream": 600}
WARMUP = {"chat": 200, "stream": 20, "tools": 200, "embeddings": 40,
          "anthropic_chat": 200, "anthropic_stream": 40, "ollama_chat": 200, "ollama_stream": 60}
MAKE_OPTS: dict[str, dict[str, Any]] = {}  # provider -> make_calls() keyword arguments (set by main)


def calls_for(provider: str) -> dict[str, Callable[[], Any]]:
    """Fresh clients of one provider: one callable per scenario."""
    return WORKLOADS[provider].make_calls(**MAKE_OPTS.get(provider, {}))


def spans_per_call(scenario: str, mode: str) -> float:
    """Spans one call must make: traceglass's when on, the floor's in floor mode, plus (except when
    traceglass replaces it) the anthropic SDK's own span when its tracing is kept on
    (--anthropic-sdk-tracing)."""
    native = MAKE_OPTS.get(PROVIDER[scenario], {}).get("sdk_tracing", False)
    return 1.0 if mode == "on" else float(mode == "floor") + native


# ----------------------------------------------------------------------------- measurement

def run_block(sink: Sink, scenario: str, calls: int, floor: Floor | None = None) -> dict:
    """One timed block on fresh clients: per-call CPU samples, plus the window incl. the final flush.
    With ``floor``, each call is wrapped in the SDK floor's span and metric points instead."""
    fn = calls_for(PROVIDER[scenario])[scenario]
    if floor:
        fn = floor.wrap(scenario, fn)
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
            blocks: int, floor: Floor | None = None) -> dict:
    modes = ["off", "on"] if inst else ["off"]
    modes += ["floor"] if floor else []
    per_block = max(1, calls // blocks)
    reps = []
    for r in range(repeats):
        parts: dict[str, list[dict]] = {m: [] for m in modes}
        for b in range(blocks):
            for mode in modes if (r * blocks + b) % 2 == 0 else modes[::-1]:
                if inst:
                    inst.set(PROVIDER[scenario], mode == "on")
                parts[mode].append(run_block(sink, scenario, per_block, floor if mode == "floor" else None))
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
        if floor:
            out["floor_us"] = out["floor"]["median_us"] - off["median_us"]
            out["floor_pct"] = 100.0 * out["floor_us"] / off["median_us"]
        out["pass"] = out["added_pct"] <= TARGET_PCT[scenario]
        # exactly one span per instrumented call, none once uninstrumented
        out["span_problems"] = [f"repeat {i + 1}: {rep[m]['spans_per_call']:.3f} spans/call while {m}"
                                for i, rep in enumerate(reps) for m in modes
                                if rep[m]["spans_per_call"] != spans_per_call(scenario, m)]
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
                inst.set(PROVIDER[s], mode == "on")
            fn = calls_for(PROVIDER[s])[s]
            sink.flush()
            sink.kept.clear()
            spans0, logs0, sink.keep = sink.spans, sink.logs, True
            altered = [p for p in (WORKLOADS[PROVIDER[s]].response_problem(s, fn()) for _ in range(n)) if p]
            sink.flush()
            sink.keep = False
            res[mode] = {"response_ok": not altered, "spans_per_call": (sink.spans - spans0) / n,
                         "logs_per_call": (sink.logs - logs0) / n}
            problems += [f"{s}: response altered while {mode}: {altered[0]}"] if altered else []
            if res[mode]["spans_per_call"] != spans_per_call(s, mode):
                problems.append(f"{s}: {res[mode]['spans_per_call']:.2f} spans per call while {mode}, "
                                f"want {spans_per_call(s, mode):.0f}")
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
            if s != "embeddings" and not res["prompt_on_span"]:
                problems.append(f"{s}: prompt not found on the span although capture_content={CAPTURE}")
        out[s] = res
    return out


# ----------------------------------------------------------------------------- main

def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for d in ("traceglass", "openai", "anthropic", "ollama", "httpx2", "httpx", "opentelemetry-sdk"):
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


def _select(ap: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(scenarios to measure, notes): --scenario and --provider intersected, minus SDKs not installed."""
    chosen = [s for s in SCENARIOS if args.scenario in ("all", s) and args.provider in ("all", PROVIDER[s])]
    if not chosen:
        ap.error(f"--scenario {args.scenario} is not a scenario of --provider {args.provider}")
    missing = sorted({PROVIDER[s] for s in chosen if find_spec(PROVIDER[s]) is None})
    notes = [f"{p} SDK not installed: {', '.join(WORKLOADS[p].SCENARIOS)} skipped" for p in missing]
    scenarios = [s for s in chosen if PROVIDER[s] not in missing]
    if not scenarios:
        ap.error(f"nothing to measure: {'; '.join(notes)}")
    return scenarios, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", help="calls per mode per repeat: N, or 'chat=600,stream=80' (default "
                    + ",".join(f"{k}={v}" for k, v in DEFAULT_CALLS.items()) + ")")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=4, help="blocks per mode per repeat (interleaving grain)")
    ap.add_argument("--scenario", default="all", choices=("all", *SCENARIOS))
    ap.add_argument("--provider", default="all", choices=("all", *WORKLOADS),
                    help="only this provider's scenarios (combines with --scenario)")
    ap.add_argument("--anthropic-sdk-tracing", action="store_true",
                    help="keep the anthropic SDK's own tracing on in both modes (default: open_telemetry=False)")
    ap.add_argument("--memory-calls", type=int, default=20000, help="instrumented OpenAI chat calls, 0 = skip")
    ap.add_argument("--tracemalloc-calls", type=int, default=4000,
                    help="further calls with tracemalloc on (leak sites), 0 = skip")
    ap.add_argument("--floor", action="store_true",
                    help="also time a third mode: the OpenTelemetry SDK's floor (see _floor.py) instead of traceglass")
    ap.add_argument("--json", help="write all results (incl. per-repeat figures) here")
    args = ap.parse_args(argv)
    scenarios, notes = _select(ap, args)
    providers = sorted({PROVIDER[s] for s in scenarios}, key=list(WORKLOADS).index)
    memory = bool(args.memory_calls) and find_spec("openai") is not None
    calls = _counts(args.calls, scenarios)
    MAKE_OPTS["anthropic"] = {"sdk_tracing": args.anthropic_sdk_tracing}

    sink = Sink()
    inst = load_instrumentation(sink, sorted({*providers, *(["openai"] if memory else [])}))
    floor = Floor(sink) if args.floor and inst else None
    res: dict[str, Any] = {
        "meta": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "python": f"Python {platform.python_version()}",
                 "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "versions": _versions(),
                 "repeats": args.repeats, "blocks": args.blocks, "calls": calls, "capture_content": CAPTURE,
                 "anthropic_sdk_tracing": args.anthropic_sdk_tracing if "anthropic" in providers else None,
                 "notes": notes},
        "instrumented": inst is not None, "scenarios": {}, "problems": []}
    for note in notes:
        print(f"note: {note}", file=sys.stderr, flush=True)

    print("warm-up and checks ...", file=sys.stderr, flush=True)
    for p in providers:
        for mode in ("off", "on") if inst else ("off",):
            if inst:
                inst.set(p, mode == "on")
            fns = calls_for(p)
            for s in (s for s in scenarios if PROVIDER[s] == p):
                for _ in range(WARMUP[s]):
                    fns[s]()
    res["verify"] = verify(sink, inst, scenarios, res["problems"])

    for s in scenarios:
        print(f"measuring {s}: {calls[s]} calls per mode, {args.repeats} repeats", file=sys.stderr,
              flush=True)
        r = res["scenarios"][s] = measure(sink, inst, s, calls[s], args.repeats, args.blocks, floor)
        res["problems"] += [f"{s}: {p}" for p in r.get("span_problems", [])]

    if inst and memory:
        print(f"memory phase: {args.memory_calls:,} + {args.tracemalloc_calls:,} (tracemalloc) instrumented "
              "OpenAI chat calls", file=sys.stderr, flush=True)
        inst.set("openai", True)
        fn = calls_for("openai")["chat"]
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
        inst.set("openai", False)  # every provider off
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
