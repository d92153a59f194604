"""The web UI in a browser, on a store of 100,000 traces: how long until a user sees something.

    python bench/ui_render.py                       # 100,000 traces + one of 2,000 spans, 7 runs
    python bench/ui_render.py --runs 3 --scale 0.05 # 5,000 traces: a quick look
    python bench/ui_render.py --rebuild             # build the store again

Needs Playwright (`pip install playwright`) and a chromium (`apt-get install chromium`, found at
/usr/bin/chromium; --chromium PATH for another). The store is a SQLite file under
/tmp/bench-cache/: the synthetic traces of bench/_store_data.py (copied from store_search.py's
store when that one is there, else written with Store.write_spans), plus one trace of 2,000 spans
(a root, 99 steps of 19 chat calls each, and tail spans), the newest of the experiment shown, so
that it is on the first page. `traceglass server` runs in its own process, as a user runs it.

Measured in the browser, each run in a new browser context (nothing cached), medians reported:

- Traces tab, first render: navigation start -> the first rows of the Traces table in the DOM
  and painted (the next animation frame), as performance.now() in the page;
- opening the 2,000-span trace: the click on its row's link -> its span tree rendered and
  painted (the tree has its selected root row);
- Overview tab: navigation start -> its charts over time painted, and -> its figures per model
  painted (the experiment's whole range; the page asks for both at once, the first without the
  per-model figures);
- the API calls behind them, from the page's Resource Timing entries.

Results go to bench/results/ui-<date>.md (and --json FILE).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _store_data as data

CACHE = Path("/tmp/bench-cache")
HERE = Path(__file__).resolve().parent
WIDE_SPANS = 2000
EXPERIMENT = data.LIST_EXPERIMENT

# In the page: the time (performance.now(), ms since navigation start) at which the first rows of
# the Traces table, or the first chart of the Overview tab, were in the DOM and then painted.
_MARKS = """
(() => {
  const marks = (window.__tgMarks = {});
  const probes = {
    rows: () => [...document.querySelectorAll('table')].some((t) => t.getAttribute('aria-label') === 'Traces'
      && t.querySelector('tbody tr')),
    charts: () => document.querySelector('svg.tg-ov-chart') !== null,
    models: () => document.querySelector('table.tg-ov-models') !== null,
  };
  const check = () => {
    for (const [name, probe] of Object.entries(probes)) {
      if (marks[name] === undefined && probe()) {
        marks[name] = null;
        requestAnimationFrame(() => requestAnimationFrame(() => { marks[name] = performance.now(); }));
      }
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();
"""

# Click the link, then wait until the trace's span tree has rows and a selected one, painted.
_OPEN_TRACE = """
(link) => new Promise((resolve, reject) => {
  const traceId = link.dataset.benchTrace;
  const rendered = () => {
    const regions = [...document.querySelectorAll('[role=region], section, aside, dialog')]
      .filter((r) => (r.getAttribute('aria-label') || '').includes(traceId));
    return regions.some((r) => r.querySelector('[role=tree] [role=treeitem][aria-selected=true]'));
  };
  const started = performance.now();
  const observer = new MutationObserver(() => {
    if (!rendered()) return;
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - started)));
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true });
  setTimeout(() => { observer.disconnect(); reject(new Error('the trace did not open in 60 s')); }, 60000);
  link.click();
})
"""


# ----------------------------------------------------------------------------- the store

def wide_trace(start_ns: int, seed: int = 2000) -> list[dict[str, Any]]:
    """A batch job of WIDE_SPANS spans: root, 99 steps of 19 chat calls (with messages), tail spans."""
    rng = random.Random(seed)
    trace_id = f"{rng.getrandbits(128):032x}"
    spans: list[dict[str, Any]] = []

    def span(name: str, parent: dict[str, Any] | None, start: int, end: int, attrs: dict[str, Any]) -> dict[str, Any]:
        s = {"trace_id": trace_id, "span_id": f"{rng.getrandbits(64):016x}",
             "parent_span_id": parent["span_id"] if parent else None, "name": name, "kind": "INTERNAL",
             "start_ns": start, "end_ns": end, "status_code": "UNSET", "status_message": None, "attributes": attrs}
        spans.append(s)
        return s

    ms = 1_000_000
    root = span("batch job", None, start_ns, start_ns + 60_000 * ms,
                {"traceglass.experiment": EXPERIMENT, "traceglass.span.type": "CHAIN",
                 "traceglass.span.inputs": json.dumps({"batch": "nightly", "items": 99})})
    root["status_code"] = "OK"
    groups = (WIDE_SPANS - 1) // 20
    for g in range(groups):
        start = start_ns + g * (59_000 // groups) * ms
        step = span(f"step {g}", root, start, start + 50 * ms, {"traceglass.span.type": "CHAIN"})
        for i in range(19):
            model = data.COMMON_MODEL
            question = f"item {g}.{i}: {rng.choice(data.TOPICS)}"
            messages_in = [{"role": "user", "parts": [{"type": "text", "content": question}]}]
            messages_out = [{"role": "assistant", "parts": [{"type": "text", "content": f"Answer to {question}."}],
                             "finish_reason": "stop"}]
            span(f"chat {g}.{i}", step, start + i * 2 * ms, start + (i * 2 + 2) * ms, {
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": model, "gen_ai.response.model": model,
                "gen_ai.usage.input_tokens": rng.randint(20, 200), "gen_ai.usage.output_tokens": rng.randint(5, 80),
                "gen_ai.input.messages": json.dumps(messages_in), "gen_ai.output.messages": json.dumps(messages_out)})
    while len(spans) < WIDE_SPANS:
        span(f"tail {len(spans)}", root, start_ns + 59_500 * ms, start_ns + 59_600 * ms, {})
    return spans


def build_store(n_traces: int, rebuild: bool, batch_spans: int = 4096) -> tuple[str, str, dict[str, Any]]:
    """(store URL, id of the 2,000-span trace, how it was built), cached under CACHE."""
    from traceglass.collector.store import Store

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"ui-sqlite-{n_traces}x10.db"
    marker = CACHE / f"{path.name}.json"
    if path.exists() and marker.exists() and not rebuild:
        built = json.loads(marker.read_text())
        return f"sqlite:///{path}", built["wide_trace_id"], built
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), marker):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    source = CACHE / f"traceglass-sqlite-{n_traces}x10.db"  # bench/store_search.py's, same traces
    if source.exists() and not rebuild:
        print(f"copying {source} ...", flush=True)
        shutil.copyfile(source, path)
        how = f"copied from {source.name} (bench/store_search.py)"
    else:
        print(f"writing {n_traces:,} traces ...", flush=True)
        with Store.open(f"sqlite:///{path}") as store:
            batch: list[Any] = []
            for trace in data.iter_traces(n_traces, 10):
                batch.extend(data.to_span_records(trace))
                if len(batch) >= batch_spans:
                    store.write_spans(batch)
                    batch = []
            if batch:
                store.write_spans(batch)
        how = "written with Store.write_spans"
    last_ns = data.BASE_NS + n_traces * data.TRACE_GAP_NS + 2_000_000_000
    wide = wide_trace(last_ns)
    with Store.open(f"sqlite:///{path}") as store:  # migrates a copied store to this version's schema
        store.write_spans(data.to_span_records(wide))
        count = sum(e.trace_count for e in store.list_experiments())
    built = {"wide_trace_id": wide[0]["trace_id"], "traces": count, "how": how,
             "seconds": round(time.perf_counter() - started, 1), "size_bytes": path.stat().st_size}
    marker.write_text(json.dumps(built))
    return f"sqlite:///{path}", built["wide_trace_id"], built


# ----------------------------------------------------------------------------- the server

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(store_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-c", "from traceglass.cli import main; main()", "server", "--store", store_url,
               "--port", str(port),
               "--grpc-port", "0", "--otlp-http-port", "0", "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"the server exited: {output}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2):
                return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start within 120 s")


def experiment_id(base: str, name: str) -> int:
    with urllib.request.urlopen(base + "/api/v1/experiments", timeout=60) as response:
        experiments = json.load(response)["experiments"]
    return next(e["experiment_id"] for e in experiments if e["name"] == name)


# ----------------------------------------------------------------------------- the browser

def _api_timings(page: Any, fragment: str, without: str = "\0") -> list[float]:
    """Durations of the page's requests whose URL contains `fragment` (and not `without`), in the
    order they started."""
    return page.evaluate(
        "([fragment, without]) => performance.getEntriesByType('resource')"
        ".filter((e) => e.name.includes(fragment) && !e.name.includes(without))"
        ".map((e) => e.responseEnd - e.startTime)", [fragment, without])


def measure(base: str, experiment: int, wide_id: str, runs: int, chromium: str) -> dict[str, list[float]]:
    from playwright.sync_api import expect, sync_playwright

    results: dict[str, list[float]] = {key: [] for key in (
        "traces_first_rows", "traces_api", "open_wide_trace", "wide_trace_api", "wall_open_wide_trace",
        "overview_charts", "overview_quick_api", "overview_models", "overview_api")}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            for run in range(runs + 1):  # the first run warms the server and the OS file cache: not counted
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                context.add_init_script(_MARKS)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto(f"{base}/?experiment={experiment}")
                table = page.get_by_role("table", name="Traces")
                expect(table.locator("tbody tr").first).to_be_visible(timeout=60_000)
                page.wait_for_function("() => typeof window.__tgMarks.rows === 'number'", timeout=60_000)
                first_rows = page.evaluate("() => window.__tgMarks.rows")
                traces_api = (_api_timings(page, "/api/v1/traces?") or [float("nan")])[0]

                link = page.get_by_role("link", name=f"Open trace {wide_id}")
                expect(link).to_be_visible(timeout=60_000)
                handle = link.element_handle()
                handle.evaluate("(link, id) => { link.dataset.benchTrace = id; }", wide_id)
                wall = time.perf_counter()
                opened = handle.evaluate(_OPEN_TRACE)
                wall = (time.perf_counter() - wall) * 1000
                drawer = page.get_by_role("region", name=f"Trace {wide_id}")
                expect(drawer.get_by_role("treeitem", name="batch job")).to_have_attribute("aria-selected", "true")
                wide_api = (_api_timings(page, f"/api/v1/traces/{wide_id}") or [float("nan")])[0]

                page.goto(f"{base}/?experiment={experiment}&tab=overview")
                page.wait_for_function("() => typeof window.__tgMarks.models === 'number'", timeout=120_000)
                charts = page.evaluate("() => window.__tgMarks.charts")
                model_figures = page.evaluate("() => window.__tgMarks.models")
                overview_api = (_api_timings(page, "/overview?", "models=false") or [float("nan")])[0]
                quick_api = (_api_timings(page, "models=false") or [float("nan")])[0]
                if errors:
                    raise RuntimeError(f"errors in the page: {errors}")
                context.close()
                label = "warm-up" if run == 0 else f"run {run}"
                print(f"{label}: traces tab {first_rows:.0f} ms (API {traces_api:.0f}), 2,000-span trace "
                      f"{opened:.0f} ms (API {wide_api:.0f}), overview {charts:.0f} ms (API {quick_api:.0f}), "
                      f"per model {model_figures:.0f} ms (API {overview_api:.0f})",
                      flush=True)
                if run == 0:
                    continue
                for key, value in (("traces_first_rows", first_rows), ("traces_api", traces_api),
                                   ("open_wide_trace", opened), ("wide_trace_api", wide_api),
                                   ("wall_open_wide_trace", wall), ("overview_charts", charts),
                                   ("overview_quick_api", quick_api), ("overview_models", model_figures),
                                   ("overview_api", overview_api)):
                    results[key].append(round(value, 1))
        finally:
            browser.close()
    return results


# ----------------------------------------------------------------------------- the report

_LABELS = {
    "traces_first_rows": "Traces tab: navigation start → first rows painted",
    "traces_api": "  of which GET /api/v1/traces (first page)",
    "open_wide_trace": "Open the 2,000-span trace: click → span tree painted",
    "wide_trace_api": "  of which GET /api/v1/traces/{id}",
    "wall_open_wide_trace": "  the same, timed by the driver (incl. its round trip)",
    "overview_charts": "Overview tab: navigation start → charts over time painted",
    "overview_quick_api": "  of which GET …/overview?models=false",
    "overview_models": "Overview tab: navigation start → figures per model painted",
    "overview_api": "  of which GET …/overview (with the figures per model)",
}


def chromium_version(chromium: str) -> str:
    try:
        return subprocess.run([chromium, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "unknown"


def report(results: dict[str, list[float]], built: dict[str, Any], runs: int, chromium: str,
           experiment_traces: int) -> str:
    today = dt.date.today().isoformat()
    lines = [
        f"# Web UI in the browser — {today}",
        "",
        f"`python bench/ui_render.py --runs {runs}`: a SQLite store of {built['traces']:,} traces (10 spans each, "
        f"plus one of {WIDE_SPANS:,} spans; {built['size_bytes'] / 1e9:.1f} GB; {built['how']}), "
        f"`traceglass server` in its own process, headless {chromium_version(chromium)} driven by Playwright. "
        f"The experiment shown, `{EXPERIMENT}`, holds {experiment_traces:,} traces. Each run opens a new browser "
        "context (no cache); one warm-up run is not counted. Times are measured in the page "
        "(performance.now()), painted = two animation frames after the DOM change.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other work, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}.",
        "",
        "| measurement | median (ms) | min | max |",
        "|---|---:|---:|---:|",
    ]
    for key, label in _LABELS.items():
        values = results.get(key) or []
        if values:
            lines.append(f"| {label} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} |")
    lines += ["", f"Runs: {runs}. Raw values (ms):", ""]
    for key, values in results.items():
        lines.append(f"- {key}: {', '.join(f'{v:.0f}' for v in values)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100,000 traces")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--json", type=Path, help="also write every value here")
    parser.add_argument("--out", type=Path, help="default: bench/results/ui-<date>.md (full scale only)")
    args = parser.parse_args(argv)
    n_traces = max(1, int(100_000 * args.scale))
    store_url, wide_id, built = build_store(n_traces, args.rebuild)
    print(f"store: {store_url} ({built['traces']:,} traces)", flush=True)
    process, base = start_server(store_url)
    try:
        experiment = experiment_id(base, EXPERIMENT)
        with urllib.request.urlopen(base + "/api/v1/experiments", timeout=60) as response:
            experiment_traces = next(e["trace_count"] for e in json.load(response)["experiments"]
                                     if e["experiment_id"] == experiment)
        results = measure(base, experiment, wide_id, args.runs, args.chromium)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    text = report(results, built, args.runs, args.chromium, experiment_traces)
    print(text)
    out = args.out
    if out is None and n_traces == 100_000:
        out = HERE / "results" / f"ui-{dt.date.today().isoformat()}.md"
    if out is not None:
        out.write_text(text)
        print(f"written to {out}")
    if args.json:
        args.json.write_text(json.dumps({"built": built, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
