#!/usr/bin/env python3
"""CPU overhead of traceglass's LangChain instrumentor and of the manual ``@traceglass.trace``, in one process.

    python bench/overhead_langchain.py                                   # defaults (~1 min)
    python bench/overhead_langchain.py --calls lc_chain=200,trace_fn=20000 --repeats 3

Scenarios (uninstrumented "off" vs instrumented "on", blocks interleaved as in overhead.py):

* lc_chain  ``ChatPromptTemplate | ChatOpenAI | StrOutputParser`` against the in-process fake
            OpenAI server of ``_workload.py`` (``httpx2.MockTransport``, the ~200-token answer);
            off: no instrumentation; on: ``LangChainInstrumentor`` + ``OpenAIInstrumentor`` (the
            provider's span merged into the LangChain inference span: 4 spans per call).
* trace_fn  a trivial function: plain vs decorated with ``@traceglass.trace`` (1 span per call),
            with ``traceglass.configure(tracer_provider=sink.tracer_provider)``.

Timing is ``time.process_time`` (whole process, export thread included), as in overhead.py;
a sample is a batch of ``--batch`` calls (default 1 for lc_chain, 50 for trace_fn, so the
clock's own cost stays out of a ~µs call). Reported: median per-call CPU (median over repeats),
added µs and %, plus the mean over whole windows incl. the final flush.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _workload as wl
from _report import _header, _row
from _telemetry import CAPTURE, Sink
from overhead import _versions

SCENARIOS = ("lc_chain", "trace_fn")
DEFAULT_CALLS = {"lc_chain": 600, "trace_fn": 40000}  # per mode per repeat
BATCH = {"lc_chain": 1, "trace_fn": 50}
SPANS_ON = {"lc_chain": 4.0, "trace_fn": 1.0}  # spans per instrumented call (none when off)
QUESTION = f"What is a trace, and what does a model-call span hold? ({wl.PROMPT_MARKER})"


class Modes:
    """Switches each scenario between its off and on forms; hands out the callable of a mode."""

    def __init__(self, sink: Sink) -> None:
        from traceglass.instrumentors.langchain import LangChainInstrumentor
        from traceglass.instrumentors.openai import OpenAIInstrumentor

        import traceglass

        self.sink = sink
        self.instrumentors = [LangChainInstrumentor(), OpenAIInstrumentor()]
        self.on = False
        traceglass.configure(tracer_provider=sink.tracer_provider, capture_content=CAPTURE)

        def plain(x: int) -> int:
            return x + 1

        self.fns = {"off": plain, "on": traceglass.trace(plain)}

    def set_chain(self, on: bool) -> None:
        if on == self.on:
            return
        s = self.sink
        for inst in self.instrumentors:
            if on:
                inst.instrument(tracer_provider=s.tracer_provider, meter_provider=s.meter_provider,
                                logger_provider=s.logger_provider, capture_content=CAPTURE)
            else:
                inst.uninstrument()
        self.on = on

    def call(self, scenario: str, mode: str) -> Callable[[], Any]:
        """A fresh callable for one block (the chain on a fresh ChatOpenAI and fake server)."""
        if scenario == "trace_fn":
            self.set_chain(False)
            fn = self.fns[mode]
            return lambda: fn(1)
        self.set_chain(mode == "on")
        chain = make_chain()
        return lambda: chain.invoke({"question": QUESTION})


def make_chain() -> Any:
    import httpx2
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model=wl.MODEL, api_key="sk-bench", base_url="http://fake-openai.invalid/v1", max_retries=0,
                       temperature=0.3, max_completion_tokens=300,
                       http_client=httpx2.Client(transport=httpx2.MockTransport(wl._responders()["chat"])))
    prompt = ChatPromptTemplate.from_messages([("system", wl.MESSAGES[0]["content"]),
                                               ("ai", wl.MESSAGES[1]["content"]), ("user", "{question}")])
    return prompt | model | StrOutputParser()


def run_block(sink: Sink, fn: Callable[[], Any], samples_n: int, batch: int) -> dict:
    """One timed block, as overhead.run_block: per-sample CPU, plus the window incl. the final flush."""
    for _ in range(3):
        fn()
    sink.flush()
    gc.collect()
    spans0 = sink.spans
    clock = time.process_time_ns
    samples = [0] * samples_n
    start = clock()
    for i in range(samples_n):
        t = clock()
        for _ in range(batch):
            fn()
        samples[i] = clock() - t
    sink.flush()
    window = clock() - start
    return {"samples": samples, "window_ns": window, "spans": sink.spans - spans0}


def measure(sink: Sink, modes: Modes, scenario: str, calls: int, repeats: int, blocks: int) -> dict:
    batch = BATCH[scenario]
    per_block = max(1, calls // blocks // batch)  # samples per block
    reps = []
    for r in range(repeats):
        parts: dict[str, list[dict]] = {"off": [], "on": []}
        for b in range(blocks):
            for mode in ("off", "on") if (r * blocks + b) % 2 == 0 else ("on", "off"):
                parts[mode].append(run_block(sink, modes.call(scenario, mode), per_block, batch))
        rep = {}
        for mode, ps in parts.items():
            samples = [x for p in ps for x in p["samples"]]
            n = len(samples) * batch
            rep[mode] = {"median_us": statistics.median(samples) / batch / 1000.0,
                         "mean_us": sum(p["window_ns"] for p in ps) / n / 1000.0,
                         "spans_per_call": sum(p["spans"] for p in ps) / n}
        reps.append(rep)
        print(f"  {scenario} repeat {r + 1}/{repeats}: off {rep['off']['median_us']:,.2f} µs, "
              f"on {rep['on']['median_us']:,.2f} µs", file=sys.stderr, flush=True)
    out: dict[str, Any] = {"calls": per_block * batch * blocks, "repeats": reps}
    for mode in ("off", "on"):
        out[mode] = {k: statistics.median(rep[mode][k] for rep in reps)
                     for k in ("median_us", "mean_us", "spans_per_call")}
    out["added_us"] = out["on"]["median_us"] - out["off"]["median_us"]
    out["added_pct"] = 100.0 * out["added_us"] / out["off"]["median_us"]
    out["added_mean_pct"] = 100.0 * (out["on"]["mean_us"] / out["off"]["mean_us"] - 1.0)
    out["problems"] = [f"{scenario} repeat {i + 1}: {rep[m]['spans_per_call']:.3f} spans/call while {m}, "
                       f"want {want:.0f}" for i, rep in enumerate(reps)
                       for m, want in (("on", SPANS_ON[scenario]), ("off", 0.0))
                       if rep[m]["spans_per_call"] != want]
    return out


def check(sink: Sink, modes: Modes) -> list[str]:
    """The chain's answer is unaltered in both modes; instrumented, the prompt and answer are on a span."""
    problems = []
    for mode in ("off", "on"):
        fn = modes.call("lc_chain", mode)
        sink.flush()
        sink.kept.clear()
        sink.keep = True
        answer = fn()
        sink.flush()
        sink.keep = False
        if answer != wl.ANSWER:
            problems.append(f"lc_chain: answer altered while {mode}")
        if mode == "on":
            values = [str(v) for sp in sink.kept for v in (sp.attributes or {}).values()]
            for marker in (wl.PROMPT_MARKER, wl.ANSWER_MARKER):
                if not any(marker in v for v in values):
                    problems.append(f"lc_chain: {marker} not on any span although capture_content={CAPTURE}")
    return problems


def render(res: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in res["versions"].items())
    L = [f"## traceglass overhead: LangChain chain and @traceglass.trace ({res['date']})", "",
         f"{versions}.",
         f"CPU per call (`time.process_time`, whole process): median over {res['repeats']} repeats of the "
         f"per-repeat median; off and on blocks interleaved ({res['blocks']} blocks per mode per repeat); "
         f"capture_content={CAPTURE}.", ""]
    L += _header("scenario", "calls/repeat", "uninstrumented µs", "instrumented µs", "added µs", "added %",
                 "mean incl. flush: off → on µs", "added % (mean)", "spans/call on / off")
    for s, r in res["scenarios"].items():
        L.append(_row(s, r["calls"], f"{r['off']['median_us']:,.2f}", f"{r['on']['median_us']:,.2f}",
                      f"{r['added_us']:+,.2f}", f"{r['added_pct']:+.1f}%",
                      f"{r['off']['mean_us']:,.2f} → {r['on']['mean_us']:,.2f}", f"{r['added_mean_pct']:+.1f}%",
                      f"{r['on']['spans_per_call']:.2f} / {r['off']['spans_per_call']:.2f}"))
    if res["problems"]:
        L += ["", "**Problems:**", *(f"- {p}" for p in res["problems"])]
    return "\n".join([*L, ""])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", help="calls per mode per repeat: N, or 'lc_chain=200,trace_fn=20000' (default "
                    + ",".join(f"{k}={v}" for k, v in DEFAULT_CALLS.items()) + ")")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=4, help="blocks per mode per repeat (interleaving grain)")
    ap.add_argument("--scenario", default="all", choices=("all", *SCENARIOS))
    args = ap.parse_args(argv)
    scenarios = [s for s in SCENARIOS if args.scenario in ("all", s)]
    calls = dict(DEFAULT_CALLS)
    if args.calls and "=" not in args.calls:
        calls = dict.fromkeys(SCENARIOS, int(args.calls))
    elif args.calls:
        calls.update({k.strip(): int(v) for k, v in (p.split("=") for p in args.calls.split(","))})

    sink = Sink()
    modes = Modes(sink)
    versions = _versions()
    for d in ("langchain-core", "langchain-openai"):
        from importlib import metadata
        versions[d] = metadata.version(d)
    res: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "versions": versions,
                           "repeats": args.repeats, "blocks": args.blocks, "scenarios": {}}
    print("warm-up and checks ...", file=sys.stderr, flush=True)
    for s in scenarios:
        for mode in ("off", "on"):
            fn = modes.call(s, mode)
            for _ in range(50 * BATCH[s]):
                fn()
    res["problems"] = check(sink, modes) if "lc_chain" in scenarios else []
    for s in scenarios:
        print(f"measuring {s}: {calls[s]} calls per mode, {args.repeats} repeats", file=sys.stderr, flush=True)
        r = res["scenarios"][s] = measure(sink, modes, s, calls[s], args.repeats, args.blocks)
        res["problems"] += r.pop("problems")
    modes.set_chain(False)
    print(render(res))
    return 1 if res["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
