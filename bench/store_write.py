"""How fast the trace store takes spans, and what storing them costs the application's thread.

    python bench/store_write.py                              # SQLite, 50,000 spans
    python bench/store_write.py --backend postgresql         # a throwaway PostgreSQL 15 server
    python bench/store_write.py --spans 20000 --mlflow-python /tmp/bench-venvs/mlflow-store/bin/python

Spans: synthetic GenAI traces of 5 spans (bench/_store_data.py): a chain root with JSON
inputs/outputs, tags, metadata, session and user; a retriever with three documents; two chat spans
with gen_ai.* attributes and input/output messages of ~1-2 KB; a tool call. Every measurement
starts on a new, empty store (a fresh file, or a fresh database of the benchmark's server).

1. End to end through OpenTelemetry: an SDK TracerProvider with
   BatchSpanProcessor(LocalStoreSpanExporter(url)) with the batch size of 4,096 that traceglass's
   pipeline gives a store exporter (default delay; the queue holds all --spans so none are
   dropped, and the count stored is checked). The application thread makes
   the spans (start_span with the attributes, end) as fast as it can; the rate is spans / (time
   from the first span to force_flush() returning). The same run with a no-op exporter gives the
   SDK's own cost, so the difference is the store's.
2. The application thread's cost per span: wall and CPU time (time.thread_time) of that thread
   only, divided by the span count, with the store exporter and with the no-op exporter. Storing
   is off the call path when the two are close: the app thread only enqueues, the export thread
   writes.
3. Store.write_spans alone with pre-built SpanRecords, in batches of 512 (what the
   BatchSpanProcessor hands the exporter) and 5,000.
4. With --mlflow-python: MLflow's SqlAlchemyStore.log_spans with the same traces (batches of
   ~500 spans), in MLflow's own environment (bench/_mlflow_store.py).

Target: >= 20,000 spans/s end to end from one process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _store_data as data

HERE = Path(__file__).resolve().parent
TARGET = 20_000
SPANS_PER_TRACE = 5


class Fresh:
    """New empty stores: SQLite files in a temporary folder, or databases of the benchmark server."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.n = 0
        self.dir = Path(tempfile.mkdtemp(prefix="store-write-", dir="/tmp"))
        self.server = None
        self.databases: list[str] = []
        if backend == "postgresql":
            from _pg_server import PgServer, wait_ready

            self.server = PgServer().start()
            wait_ready(self.server)

    def url(self, driver: str = "postgresql") -> str:
        self.n += 1
        if self.backend == "sqlite":
            return f"sqlite:///{self.dir}/store-{self.n}.db"
        name = f"write_bench_{os.getpid()}_{self.n}"
        self.server.create_database(name, drop=True)
        self.databases.append(name)
        return self.server.url(name).replace("postgresql://", driver + "://")

    def close(self) -> None:
        for f in self.dir.glob("*"):
            f.unlink()
        self.dir.rmdir()
        if self.server is not None:
            for name in self.databases:
                self.server.drop_database(name)
            self.server.stop_if_started()


# ----------------------------------------------------------------------------- OpenTelemetry

class _NoopExporter:
    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _emit(tracer: Any, traces: list[list[dict]]) -> None:
    """Re-create each trace's spans with the SDK, as instrumented code would: parent context,
    attributes at start, status, end. Ids come from the SDK, times from the data."""
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    kinds = {k.name: k for k in SpanKind}
    codes = {"OK": StatusCode.OK, "ERROR": StatusCode.ERROR}
    for tr in traces:
        root_dict = tr[0]
        root = tracer.start_span(root_dict["name"], kind=kinds[root_dict["kind"]],
                                 attributes=root_dict["attributes"], start_time=root_dict["start_ns"])
        ctx = trace.set_span_in_context(root)
        for s in tr[1:]:
            child = tracer.start_span(s["name"], context=ctx, kind=kinds[s["kind"]], attributes=s["attributes"],
                                      start_time=s["start_ns"])
            if s["status_code"] in codes:
                child.set_status(Status(codes[s["status_code"]], s["status_message"]))
            child.end(end_time=s["end_ns"])
        if root_dict["status_code"] in codes:
            root.set_status(Status(codes[root_dict["status_code"]], root_dict["status_message"]))
        root.end(end_time=root_dict["end_ns"])


def end_to_end(exporter: Any, traces: list[list[dict]], queue: int | None) -> dict:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    n_spans = sum(len(t) for t in traces)
    provider = TracerProvider(resource=Resource.create(data.RESOURCE))
    from traceglass._pipeline import STORE_EXPORT_BATCH  # what the pipeline gives a store exporter

    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=max(queue or n_spans, STORE_EXPORT_BATCH),
                                                   max_export_batch_size=STORE_EXPORT_BATCH))
    tracer = provider.get_tracer(*data.SCOPE)
    _emit(tracer, traces[:20])  # warm-up: opens (and migrates) the store, imports, first batch
    provider.force_flush()
    wall0, thread0 = time.perf_counter(), time.thread_time()
    _emit(tracer, traces[20:])
    app_wall, app_cpu = time.perf_counter() - wall0, time.thread_time() - thread0
    provider.force_flush(timeout_millis=600_000)
    total = time.perf_counter() - wall0
    provider.shutdown()
    n = n_spans - 20 * SPANS_PER_TRACE
    return {"spans": n, "total_s": total, "spans_per_s": n / total, "app_wall_us": app_wall / n * 1e6,
            "app_cpu_us": app_cpu / n * 1e6, "app_s": app_wall}


def count_stored(url: str) -> int:
    from sqlalchemy import text
    from traceglass.collector.store import Store

    store = Store.open(url)
    try:
        with store.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM spans")).scalar_one()
    finally:
        store.close()


# ----------------------------------------------------------------------------- raw store

def raw_write(url: str, records: list, batch: int) -> dict:
    from traceglass.collector.store import Store

    store = Store.open(url)
    store.write_spans(records[:100])  # warm-up (experiments, resource, statements)
    rest = records[100:]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    written = 0
    for i in range(0, len(rest), batch):
        written += store.write_spans(rest[i:i + batch])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    store.close()
    return {"spans": written, "batch": batch, "total_s": wall, "spans_per_s": written / wall,
            "cpu_us_per_span": cpu / written * 1e6}


def mlflow_write(python: str, fresh: Fresh, n_traces: int) -> dict:
    uri = fresh.url("postgresql+psycopg2")
    out = subprocess.run([python, str(HERE / "_mlflow_store.py"), "write", "--uri", uri, "--traces", str(n_traces),
                          "--spans", str(SPANS_PER_TRACE), "--batch-spans", "500"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- report

def render(res: dict) -> str:
    m = res["meta"]
    L = [f"## Trace store writes: {m['backend']}, {m['spans']:,} spans ({m['date']})", "",
         f"{m['python']}, {m['machine']}; traces of {SPANS_PER_TRACE} spans (~{m['bytes_per_span']:,} bytes of "
         "attributes per span as JSON" + ("" if m["content"] else ", content attributes left out") + "); every run "
         "on a new, empty store.", "",
         "| measurement | spans | time s | spans/s | app thread µs/span (wall / CPU) | target | |",
         "|---|---|---|---|---|---|---|"]
    e, b = res["e2e"], res["e2e_noop"]
    ok = "PASS" if e["spans_per_s"] >= TARGET else "FAIL"
    L.append(f"| OTel SDK + BatchSpanProcessor(LocalStoreSpanExporter), until force_flush returns | {e['spans']:,} | "
             f"{e['total_s']:,.2f} | {e['spans_per_s']:,.0f} | {e['app_wall_us']:,.1f} / {e['app_cpu_us']:,.1f} | "
             f">= {TARGET:,} | {ok} |")
    L.append(f"| same, no-op exporter (the SDK's own cost) | {b['spans']:,} | {b['total_s']:,.2f} | "
             f"{b['spans_per_s']:,.0f} | {b['app_wall_us']:,.1f} / {b['app_cpu_us']:,.1f} | | |")
    for r in res["raw"]:
        L.append(f"| Store.write_spans, pre-built SpanRecords, batches of {r['batch']:,} | {r['spans']:,} | "
                 f"{r['total_s']:,.2f} | {r['spans_per_s']:,.0f} | (CPU {r['cpu_us_per_span']:,.0f} µs/span) | | |")
    ml = res.get("mlflow")
    if ml:
        lo = ml["load"]
        L.append(f"| MLflow {ml['mlflow']} SqlAlchemyStore.log_spans, batches of ~{lo['batch_spans']} | "
                 f"{lo['spans']:,} | {lo['log_spans_s']:,.2f} | {lo['spans_per_s']:,.0f} | | | |")
    L += ["", f"Stored spans checked: {res['stored']:,} of {e['spans'] + 20 * SPANS_PER_TRACE:,} "
          "(incl. the warm-up's 100)."]
    L.append(f"App thread: with the store exporter {e['app_wall_us']:,.1f} µs/span wall, "
             f"{e['app_cpu_us']:,.1f} µs CPU; with the no-op exporter {b['app_wall_us']:,.1f} / "
             f"{b['app_cpu_us']:,.1f}. The difference is what storing costs the caller (GIL and CPU shared "
             "with the export thread); the writing itself happens on the export thread.")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--spans", type=int, default=50_000, help="spans per measurement (5 per trace)")
    ap.add_argument("--no-content", action="store_true",
                    help="drop the content attributes (messages, inputs/outputs, tool arguments/results), "
                    "as with content capture off")
    ap.add_argument("--queue", type=int, help="BatchSpanProcessor max_queue_size (default: all the spans)")
    ap.add_argument("--mlflow-python", help="python of an environment with mlflow: MLflow's log_spans rate too")
    ap.add_argument("--mlflow-spans", type=int, default=20_000)
    ap.add_argument("--json", help="write all results here")
    args = ap.parse_args(argv)
    from traceglass.exporters import LocalStoreSpanExporter

    n_traces = max(40, args.spans // SPANS_PER_TRACE)
    traces = list(data.iter_traces(n_traces, SPANS_PER_TRACE, seed=5))
    if args.no_content:
        for t in traces:
            for sp in t:
                sp["attributes"] = {k: v for k, v in sp["attributes"].items() if k not in data.CONTENT_KEYS}
    records = [r for t in traces for r in data.to_span_records(t)]
    size = sum(len(json.dumps(s["attributes"])) for t in traces for s in t) // len(records)
    fresh = Fresh(args.backend)
    try:
        res: dict[str, Any] = {"meta": {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "python": f"Python {platform.python_version()}",
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "backend": args.backend,
            "spans": len(records), "bytes_per_span": size, "content": not args.no_content}}
        print("end to end, no-op exporter ...", file=sys.stderr, flush=True)
        res["e2e_noop"] = end_to_end(_NoopExporter(), traces, args.queue)
        url = fresh.url()
        print(f"end to end, LocalStoreSpanExporter({url}) ...", file=sys.stderr, flush=True)
        res["e2e"] = end_to_end(LocalStoreSpanExporter(url), traces, args.queue)
        res["stored"] = count_stored(url)
        print(f"  {res['e2e']['spans_per_s']:,.0f} spans/s", file=sys.stderr, flush=True)
        res["raw"] = []
        for batch in (512, 5000):
            print(f"Store.write_spans, batches of {batch} ...", file=sys.stderr, flush=True)
            res["raw"].append(raw_write(fresh.url(), records, batch))
            print(f"  {res['raw'][-1]['spans_per_s']:,.0f} spans/s", file=sys.stderr, flush=True)
        if args.mlflow_python:
            print("MLflow log_spans ...", file=sys.stderr, flush=True)
            res["mlflow"] = mlflow_write(args.mlflow_python, fresh, args.mlflow_spans // SPANS_PER_TRACE)
    finally:
        fresh.close()
    print(render(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0 if res["e2e"]["spans_per_s"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
